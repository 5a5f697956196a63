// Host ports in the current network namespace: who holds one, and the ephemeral range.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "cnm/model/error.h"
#include "cnm/model/net.h"
#include "cnm/model/ports.h"

namespace cnm::kernel {

class HostPorts {
 public:
  virtual ~HostPorts() = default;
  // "" if a process could bind `port` on `ip` (every address when unset); otherwise who holds
  // it: "pid 812 (nginx)", or "a host process" when the owner cannot be found.
  virtual Result<std::string> holder(cnm::Proto proto, const std::optional<IpAddr>& ip,
                                     uint16_t port) = 0;
  // net.ipv4.ip_local_port_range: the ports an unset host port is chosen from.
  virtual Result<std::pair<uint16_t, uint16_t>> ephemeral_range() = 0;
};

std::unique_ptr<HostPorts> make_linux_host_ports();

}  // namespace cnm::kernel

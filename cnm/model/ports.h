// Published port specifications: [HOSTIP:][HOSTPORT[-END]:]PORT[-END][/tcp|udp|sctp].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cnm/model/error.h"
#include "cnm/model/net.h"

namespace cnm {

enum class Proto { kTcp, kUdp, kSctp };

struct PortSpec {
  std::optional<IpAddr> host_ip;  // unset: every address (or the network's host_binding_ipv4)
  uint16_t host_port = 0;         // 0: pick a free port from ip_local_port_range
  uint16_t port = 0;              // container port, first of the range
  uint16_t count = 1;             // range length (host and container ranges are equally long)
  Proto proto = Proto::kTcp;

  auto operator<=>(const PortSpec&) const = default;
};

// Parses Docker's -p syntax: "80", "8080:80", "127.0.0.1:8080:80", "127.0.0.1::80",
// "[::1]:8080:80", "8000-8001:80-81/udp". Anything else is Code::kInvalid with the reason.
Result<PortSpec> parse_port_spec(std::string_view spec);

std::string_view proto_name(Proto p);
// "127.0.0.1:8080-8081->80-81/tcp"
std::string port_spec_str(const PortSpec& p);

}  // namespace cnm

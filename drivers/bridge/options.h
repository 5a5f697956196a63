// The bridge driver's -o keys: Docker's long names and netctl's short forms.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "cnm/model/error.h"

namespace drivers {

struct BridgeOptions {
  std::string name;               // bridge device name ("" = derive from the network id)
  bool icc = true;                // inter-container traffic on the bridge
  bool masquerade = true;         // MASQUERADE of the subnet towards the outside
  std::string host_binding_ipv4;  // default host IP of published ports
  std::optional<unsigned> mtu;
  bool dns = true;  // netctl.dns: names served by netctl's DNS server (cnm::dns_enabled)
};

// Parses `opts`; an unknown key or a bad value is Code::kInvalid.
cnm::Result<BridgeOptions> parse_bridge_options(const std::map<std::string, std::string>& opts);

}  // namespace drivers

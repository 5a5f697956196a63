// The firewall tests' network, unit and privileged alike: NetworkRules of a bridge network with the
// defaults a created network has (masquerade, icc on, not internal), subnets parsed with a check.
#pragma once

#include "cnm/kernel/firewall.h"
#include "tests/literals.h"

namespace cnm::testing {

// The state root the firewall tests write as (a Store::root_id()).
inline constexpr const char* kRootId = "0a1b2c3d";

inline kernel::NetworkRules net(const char* id, const char* bridge, const char* subnet,
                                const char* subnet6 = nullptr) {
  kernel::NetworkRules n{id, bridge, cidr(subnet), true, true, false};
  if (subnet6 != nullptr) n.subnet6 = cidr(subnet6);
  return n;
}

}  // namespace cnm::testing

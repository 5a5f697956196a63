// BridgeDriver::check_endpoint: the host side of an endpoint as CNI CHECK verifies it.
#include "cnm/kernel/firewall.h"
#include "cnm/kernel/links.h"
#include "drivers/bridge/bridge.h"

namespace drivers {

cnm::Result<std::string> BridgeDriver::check_endpoint(const cnm::Network& n,
                                                      const cnm::Endpoint& ep) {
  auto host = CNM_VALUE(k_.links->get(ep.host_ifname));
  auto bridge = CNM_VALUE(k_.links->get(n.bridge));
  if (!host) return fmt::format("host interface {} is missing", ep.host_ifname);
  if (!bridge || host->master != bridge->index || !host->up)
    return fmt::format("host interface {} is not up on bridge {}", ep.host_ifname, n.bridge);
  // The rules this network and this endpoint's ports need; those of others are not asked for.
  std::vector<std::string> links;
  cnm::kernel::FirewallChange want;
  desired(n, std::span(&ep, 1), links, want);
  auto drift = CNM_VALUE(k_.firewall->drift(want));
  if (!drift.missing.empty()) return fmt::format("firewall rule missing: {}", drift.missing[0]);
  return std::string();
}

}  // namespace drivers

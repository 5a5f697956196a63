// The bridge driver: one Linux bridge per network with the gateway address(es) on it.
#pragma once

#include "cnm/core/driver.h"
#include "cnm/kernel/firewall.h"
#include "cnm/kernel/links.h"

namespace drivers {

class BridgeDriver : public cnm::Driver {
 public:
  explicit BridgeDriver(const cnm::KernelContext& k) : k_(k) {}
  std::string_view name() const override { return "bridge"; }
  bool uses_ipam() const override { return true; }
  bool has_bridge() const override { return true; }
  bool can_publish() const override { return true; }
  bool routes_default() const override { return true; }
  cnm::Status prepare(cnm::Network& n, std::span<const cnm::Network> existing,
                      const cnm::DriverDefaults& defaults) const override;
  // A bridge named by -o com.docker.network.bridge.name that exists and is not this root's is
  // adopted (as Docker does): netctl adds the gateway addresses it lacks and never deletes it.
  cnm::Status create(cnm::Txn& tx, cnm::Network& n, std::span<const cnm::Network> others) override;
  cnm::Status plan_remove(cnm::Txn& tx, std::span<const cnm::Network> nets) override;
  cnm::Status remove(std::span<const cnm::Network> nets,
                     std::span<const cnm::Network> remaining) override;
  cnm::Status join(cnm::Txn& tx, const cnm::Network& n, const cnm::Endpoint& ep,
                   std::span<const cnm::IpAddr> gateways) override;
  cnm::Status plan_leave(cnm::Txn& tx, const cnm::Network& n,
                         std::span<const cnm::Endpoint> eps) override;
  cnm::Status leave(const cnm::Network& n, std::span<const cnm::Endpoint> eps) override;
  // The host end up on the bridge, and every rule of the network and of ep's ports in place.
  cnm::Result<std::string> check_endpoint(const cnm::Network& n, const cnm::Endpoint& ep) override;
  // -o host_binding_ipv4. Checked here too: create refuses a bad one, but a record may come from
  // another version or an edited store.
  cnm::Result<std::optional<cnm::IpAddr>> default_host_ip(const cnm::Network& n) const override;
  // Links: the bridge "nc-<id12>" (unless -o com.docker.network.bridge.name), and per endpoint
  // the host end "nv<id12>" of its veth pair.
  std::string endpoint_link(const std::string& endpoint_id) const override;
  bool names_link(std::string_view name) const override;
  void desired(const cnm::Network& n, std::span<const cnm::Endpoint> eps,
               std::vector<std::string>& links, cnm::kernel::FirewallChange& want) const override;
  void removal(const cnm::Network& n, const cnm::Endpoint* ep, std::vector<std::string>& links,
               cnm::kernel::FirewallChange& fw) const override;

 private:
  cnm::Status forget_flows(const cnm::kernel::EndpointPorts& ports);
  // The bridge: made, or adopted when `n` names one that exists (then n.adopted is set).
  cnm::Status make_bridge(cnm::Txn& tx, cnm::Network& n);
  cnm::Status adopt(cnm::Txn& tx, cnm::Network& n, const cnm::kernel::LinkInfo& link);
  // Takes back what netctl added to an adopted bridge.
  cnm::Status give_back(const cnm::Network& n);
  cnm::KernelContext k_;
};

// The bridge device name of a network id: "nc-" + its first 12 hex characters.
std::string default_bridge_name(const std::string& network_id);

// The bridges of the bridge-driver networks among `nets`, for the isolation rules; with
// `v6_only`, of the dual-stack ones (IPv6 isolation).
std::vector<std::string> bridges_of(std::span<const cnm::Network> nets, bool v6_only = false);

}  // namespace drivers

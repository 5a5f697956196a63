// The overlay driver: a network defined cluster-wide (cnm/core/cluster_access.h) that spans hosts.
// On each host that has endpoints on it, it is a bridge network (the bridge driver's bridge, its
// gateway address and firewall chains: the same gateway on every host, so egress and published
// ports leave through the local host) plus a VXLAN device on that bridge with the network's VNI,
// and one FDB and neighbour entry per endpoint on another host (cnm/kernel/vxlan.h). ARP never
// crosses hosts: the VXLAN device answers it from its neighbour entries.
#pragma once

#include "drivers/bridge/bridge.h"

namespace drivers {

class OverlayDriver : public BridgeDriver {
 public:
  explicit OverlayDriver(const cnm::KernelContext& k) : BridgeDriver(k), k_(k) {}
  std::string_view name() const override { return "overlay"; }
  bool global_scope() const override { return true; }
  // Options: `vni` (1-16777215; picked by the cluster when absent); the others of the bridge
  // driver are refused (the cluster's record holds none of them). The MTU is the underlay's
  // less 50 unless --mtu gives one.
  cnm::Status prepare(cnm::Network& n, std::span<const cnm::Network> existing,
                      const cnm::DriverDefaults& defaults) const override;
  // The bridge and its rules (as the bridge driver), the VXLAN device, and the entries of every
  // endpoint the cluster lists on other hosts.
  cnm::Status create(cnm::Txn& tx, cnm::Network& n, std::span<const cnm::Network> others) override;
  cnm::Status plan_remove(cnm::Txn& tx, std::span<const cnm::Network> nets) override;
  cnm::Status remove(std::span<const cnm::Network> nets,
                     std::span<const cnm::Network> remaining) override;
  cnm::Result<std::optional<cnm::IpAddr>> default_host_ip(const cnm::Network&) const override {
    return std::nullopt;
  }
  // Links: the bridge's, the endpoints', and the VXLAN device "nx<id12>".
  bool names_link(std::string_view name) const override;
  void desired(const cnm::Network& n, std::span<const cnm::Endpoint> eps,
               std::vector<std::string>& links, cnm::kernel::FirewallChange& want) const override;
  void removal(const cnm::Network& n, const cnm::Endpoint* ep, std::vector<std::string>& links,
               cnm::kernel::FirewallChange& fw) const override;

 private:
  // The MTU of the underlay device holding this host's VTEP address, less the encapsulation.
  cnm::Result<unsigned> overlay_mtu();
  cnm::Status make_vxlan(cnm::Txn& tx, const cnm::Network& n);
  cnm::KernelContext k_;
};

}  // namespace drivers

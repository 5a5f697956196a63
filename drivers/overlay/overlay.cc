#include "drivers/overlay/overlay.h"

#include "cnm/cluster/cluster_config.h"
#include "cnm/cluster/overlay_records.h"
#include "cnm/core/cluster_access.h"
#include "cnm/core/intent.h"
#include "cnm/core/txn.h"
#include "cnm/kernel/vxlan.h"

namespace drivers {
namespace {

using cnm::cluster::overlay_vxlan_name;

// The one error for missing cluster settings (cnm/cluster/cluster_config.h).
cnm::Status need_cluster(const cnm::KernelContext& k) {
  if (k.cluster == nullptr || k.vxlans == nullptr) return cnm::cluster::require_cluster({});
  return {};
}

// The network as the bridge driver sees it: without the overlay's own options.
cnm::Network as_bridge(const cnm::Network& n) {
  cnm::Network b = n;
  b.options.erase("vni");
  return b;
}

}  // namespace

cnm::Status OverlayDriver::prepare(cnm::Network& n, std::span<const cnm::Network> existing,
                                   const cnm::DriverDefaults&) const {
  for (const auto& [key, value] : n.options)
    if (key != "vni") return cnm::fail(cnm::Code::kInvalid, "unknown overlay option '{}'", key);
  if (n.options.contains("vni")) CNM_TRY(cnm::network_vni(n));
  if (n.ipv6) return cnm::fail(cnm::Code::kInvalid, "overlay networks are IPv4 only");
  n.bridge = default_bridge_name(n.id);
  for (const auto& other : existing)
    if (other.bridge == n.bridge)
      return cnm::fail(cnm::Code::kConflict, "bridge {} is already used by network {}", n.bridge,
                       other.name);
  return {};
}

cnm::Result<unsigned> OverlayDriver::overlay_mtu() {
  const cnm::IpAddr& vtep = k_.cluster->vtep();
  for (const auto& link : CNM_VALUE(k_.links->list()))
    for (const auto& a : link.addresses)
      if (a.addr() == vtep) {
        unsigned overhead = vtep.is_v6() ? 70 : 50;
        if (link.mtu < 68 + overhead)
          return cnm::fail(cnm::Code::kInvalid, "underlay {}: MTU {} is too small", link.name,
                           link.mtu);
        return link.mtu - overhead;
      }
  return cnm::fail(cnm::Code::kInvalid,
                   "cluster-advertise {} is not an address of this host (no underlay device)",
                   vtep.str());
}

cnm::Status OverlayDriver::create(cnm::Txn& tx, cnm::Network& n,
                                  std::span<const cnm::Network> others) {
  CNM_TRY(need_cluster(k_));
  if (n.mtu == 0) n.mtu = CNM_VALUE(overlay_mtu());
  cnm::Network b = as_bridge(n);
  CNM_TRY(BridgeDriver::create(tx, b, others));
  return make_vxlan(tx, n);
}

cnm::Status OverlayDriver::make_vxlan(cnm::Txn& tx, const cnm::Network& n) {
  cnm::kernel::VxlanSpec spec;
  spec.name = overlay_vxlan_name(n.id);
  spec.vni = CNM_VALUE(cnm::network_vni(n));
  spec.local = k_.cluster->vtep();
  spec.bridge = n.bridge;
  CNM_TRY(tx.intend(cnm::LinkIntent{spec.name}));
  bool made = CNM_VALUE(k_.vxlans->ensure(spec));
  if (made)
    tx.on_undo(cnm::LinkIntent{spec.name},
               [vx = k_.vxlans, name = spec.name] { return vx->remove(name); });
  // The endpoints already on other hosts; later ones come from this host's agent.
  auto remotes = CNM_VALUE(k_.cluster->remotes(n));
  if (remotes.empty()) return {};
  return k_.vxlans->add_entries(spec.name, cnm::kernel::entries_for(remotes));
}

cnm::Status OverlayDriver::plan_remove(cnm::Txn& tx, std::span<const cnm::Network> nets) {
  for (const auto& n : nets) CNM_TRY(tx.intend(cnm::LinkIntent{overlay_vxlan_name(n.id)}));
  return BridgeDriver::plan_remove(tx, nets);
}

cnm::Status OverlayDriver::remove(std::span<const cnm::Network> nets,
                                  std::span<const cnm::Network> remaining) {
  cnm::Status first;
  if (k_.vxlans != nullptr)
    for (const auto& n : nets)
      if (auto r = k_.vxlans->remove(overlay_vxlan_name(n.id)); !r && first) first = r;
  auto bridges = BridgeDriver::remove(nets, remaining);
  return first ? bridges : first;
}

bool OverlayDriver::names_link(std::string_view name) const {
  if (!name.starts_with("nx")) return BridgeDriver::names_link(name);
  // The same shape as the bridge driver's names: "nv" + 12 lowercase hex digits.
  std::string as_veth = "nv" + std::string(name.substr(2));
  return BridgeDriver::names_link(as_veth);
}

void OverlayDriver::desired(const cnm::Network& n, std::span<const cnm::Endpoint> eps,
                            std::vector<std::string>& links,
                            cnm::kernel::FirewallChange& want) const {
  BridgeDriver::desired(as_bridge(n), eps, links, want);
  links.push_back(overlay_vxlan_name(n.id));
}

void OverlayDriver::removal(const cnm::Network& n, const cnm::Endpoint* ep,
                            std::vector<std::string>& links,
                            cnm::kernel::FirewallChange& fw) const {
  BridgeDriver::removal(n, ep, links, fw);
  if (ep == nullptr) links.push_back(overlay_vxlan_name(n.id));
}

}  // namespace drivers

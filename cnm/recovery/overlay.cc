// Recovery of global-scope networks: what a crashed command may have left in the cluster store.
#include <fmt/core.h>

#include <algorithm>
#include <iterator>
#include <set>

#include "cnm/cluster/overlay_records.h"
#include "cnm/core/cluster_access.h"
#include "cnm/kernel/vxlan.h"
#include "cnm/recovery/recovery.h"

namespace cnm {

Status Recovery::reconcile_overlay(const std::string& name,
                                   const std::vector<std::string>& dropped) {
  if (kernel_.cluster == nullptr)
    return fail(Code::kFailed,
                "overlay network {}: no cluster-store configured to free its addresses in", name);
  std::set<IpAddr> kept;
  auto n = network(name);
  if (!n && n.error().code != Code::kNotFound) return std::unexpected(n.error());
  if (n)
    for (const auto& e : CNM_VALUE(endpoints({.parent = n->id})))
      if (std::find(dropped.begin(), dropped.end(), e.id) == dropped.end() && !e.addresses.empty())
        kept.insert(e.addresses[0].addr());
  Network stub;
  stub.name = name;
  for (const auto& ip : CNM_VALUE(kernel_.cluster->held(name))) {
    if (kept.contains(ip)) continue;
    CNM_TRY(kernel_.cluster->withdraw(stub, ip));
    CNM_TRY(kernel_.cluster->release(stub, ip));
  }
  return {};
}

}  // namespace cnm

namespace cnm {
namespace {

// What one global network here differs in from the cluster store.
struct ClusterDiff {
  std::vector<IpAddr> extra;            // held by this host, no endpoint here
  std::vector<IpAddr> unheld;           // an endpoint here, not held in the cluster
  kernel::VxlanEntries missing, stray;  // on its VXLAN device
};

// Elements of sorted `a` not in sorted `b`.
template <class T>
std::vector<T> minus(const std::vector<T>& a, const std::vector<T>& b) {
  std::vector<T> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// The differences of global network `n`; the VXLAN device only when the driver has one here.
Result<ClusterDiff> cluster_diff(const KernelContext& k, const Network& n,
                                 const std::vector<Endpoint>& eps) {
  ClusterDiff d;
  std::vector<IpAddr> local;
  for (const auto& e : eps)
    if (!e.addresses.empty()) local.push_back(e.addresses[0].addr());
  auto held = CNM_VALUE(k.cluster->held(n.name));
  std::sort(local.begin(), local.end());
  std::sort(held.begin(), held.end());
  d.extra = minus(held, local);
  d.unheld = minus(local, held);
  if (k.vxlans == nullptr) return d;
  const std::string dev = cluster::overlay_vxlan_name(n.id);
  auto have = k.vxlans->entries(dev);
  if (!have && have.error().code == Code::kNotFound) return d;  // doctor's missing link says so
  if (!have) return std::unexpected(have.error());
  auto remotes = CNM_VALUE(k.cluster->remotes(n));
  auto want = kernel::entries_for(remotes);
  d.missing = {minus(want.fdb, have->fdb), minus(want.neigh, have->neigh)};
  d.stray = {minus(have->fdb, want.fdb), minus(have->neigh, want.neigh)};
  return d;
}

void describe(const Network& n, const ClusterDiff& c, std::vector<std::string>& out) {
  for (const auto& ip : c.extra)
    out.push_back(
        fmt::format("network {}: address {} held by this host, no endpoint", n.name, ip.str()));
  for (const auto& ip : c.unheld)
    out.push_back(fmt::format("network {}: endpoint address {} not held in the cluster store",
                              n.name, ip.str()));
  for (const auto& [what, set] : {std::pair{"missing", &c.missing}, {"foreign", &c.stray}}) {
    for (const auto& f : set->fdb)
      out.push_back(fmt::format("network {}: {} fdb {} dst {}", n.name, what, f.mac, f.vtep.str()));
    for (const auto& e : set->neigh)
      out.push_back(
          fmt::format("network {}: {} neighbour {} lladdr {}", n.name, what, e.ip.str(), e.mac));
  }
}

}  // namespace

Status Recovery::doctor_cluster(Drift& d) {
  for (const auto& n : CNM_VALUE(list_networks())) {
    if (!registry_.ask(n.driver, &Driver::global_scope)) continue;
    if (kernel_.cluster == nullptr) {
      d.cluster.push_back(fmt::format("network {}: no cluster-store configured", n.name));
      continue;
    }
    auto eps = CNM_VALUE(endpoints({.parent = n.id}));
    auto diff = cluster_diff(kernel_, n, eps);
    if (!diff) {  // an unreachable cluster store is drift to report, not doctor failing
      d.cluster.push_back(fmt::format("network {}: {}", n.name, diff.error().message));
      continue;
    }
    describe(n, *diff, d.cluster);
  }
  return {};
}

Status Recovery::gc_cluster(Drift& d) {
  if (kernel_.cluster == nullptr) return {};
  for (const auto& n : CNM_VALUE(list_networks())) {
    if (!registry_.ask(n.driver, &Driver::global_scope)) continue;
    auto eps = CNM_VALUE(endpoints({.parent = n.id}));
    auto c = CNM_VALUE(cluster_diff(kernel_, n, eps));
    CNM_TRY(reconcile_overlay(n.name, {}));
    for (const auto& ip : c.unheld) CNM_TRY(kernel_.cluster->allocate(n, ip));
    const std::string dev = cluster::overlay_vxlan_name(n.id);
    if (!c.stray.fdb.empty() || !c.stray.neigh.empty())
      CNM_TRY(kernel_.vxlans->remove_entries(dev, c.stray));
    if (!c.missing.fdb.empty() || !c.missing.neigh.empty())
      CNM_TRY(kernel_.vxlans->add_entries(dev, c.missing));
  }
  auto freed = CNM_VALUE(kernel_.cluster->free_dead_hosts());
  d.cluster.insert(d.cluster.end(), freed.begin(), freed.end());
  return {};
}

}  // namespace cnm

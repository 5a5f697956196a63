// Recovery::doctor_objects and gc_objects: sandboxes whose namespace is gone, endpoints whose
// host veth is gone, and IPAM rows (addresses, MACs, host ports) whose owner record is gone.
// doctor reports them; gc drops those records in one Txn, with their rules and addresses.
#include <algorithm>
#include <set>

#include "cnm/core/txn.h"
#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/links.h"
#include "cnm/recovery/recovery.h"

namespace cnm {
namespace {

struct ObjectDrift {
  std::vector<Sandbox> sandboxes;        // namespace gone or replaced
  std::vector<Endpoint> endpoints;       // host veth gone
  std::vector<store::Batch::Addr> rows;  // owner gone
};

Result<ObjectDrift> find_object_drift(Service& c, store::Store& store, const KernelContext& k) {
  ObjectDrift od;
  auto sbs = CNM_VALUE(c.list_sandboxes());
  for (auto& sb : sbs) {
    auto id = k.namespaces->identify(sb.netns_path);
    if (!id && id.error().code != Code::kNotFound) return std::unexpected(id.error());
    if (!id || netns_key(*id) != sb.netns_key) od.sandboxes.push_back(std::move(sb));
  }
  auto links = CNM_VALUE(k.links->list());
  std::set<std::string> names;  // an endpoint's veth: this root's link of that name
  for (const auto& l : links)
    if (l.ours) names.insert(l.name);
  auto eps = CNM_VALUE(c.endpoints({}));
  std::set<std::string> owners;
  for (auto& e : eps) {
    owners.insert(e.id);
    if (!names.contains(e.host_ifname)) od.endpoints.push_back(std::move(e));
  }
  auto containers = CNM_VALUE(store.list(store::kContainers));
  for (const auto& r : containers) owners.insert(r.id);
  auto rows = CNM_VALUE(store.all_addresses());
  for (auto& r : rows)
    if (!owners.contains(r.owner)) od.rows.push_back(std::move(r));
  return od;
}

}  // namespace

Status Recovery::doctor_objects(Drift& d) {
  auto od = CNM_VALUE(find_object_drift(*this, store_, kernel_));
  for (const auto& sb : od.sandboxes)
    d.missing_netns.push_back(fmt::format("{} ({})", sb.name, sb.netns_path));
  for (const auto& e : od.endpoints) {
    auto n = network(e.network_id);
    d.dead_endpoints.push_back(
        fmt::format("{} {} {}", n ? n->name : e.network_id, e.target, e.host_ifname));
  }
  for (const auto& r : od.rows)
    d.orphan_addresses.push_back(fmt::format("{} {} {}", r.pool, r.addr, r.owner));
  return {};
}

Status Recovery::gc_objects(const store::WriteLock& lock, const Drift& d) {
  if (d.missing_netns.empty() && d.dead_endpoints.empty() && d.orphan_addresses.empty()) return {};
  auto od = CNM_VALUE(find_object_drift(*this, store_, kernel_));
  auto eps = std::move(od.endpoints);
  for (const auto& sb : od.sandboxes) {  // a sandbox's endpoints went with its namespace
    auto attached = CNM_VALUE(endpoints({.name = "sandbox:" + sb.id}));
    for (auto& e : attached)
      if (std::none_of(eps.begin(), eps.end(), [&](const Endpoint& x) { return x.id == e.id; }))
        eps.push_back(std::move(e));
  }
  Txn tx(store_, lock, "gc");
  if (!eps.empty()) CNM_TRY(endpoints_.remove_endpoints(tx, eps));
  // The path is left alone: it is gone, or now holds a namespace that is not this sandbox's.
  for (const auto& sb : od.sandboxes) {
    CNM_TRY(tx.intend_drop(store::kSandboxes, sb.id));
    tx.batch().drops.push_back({store::kSandboxes, sb.id});
  }
  for (const auto& r : od.rows) tx.batch().release_addresses.emplace_back(r.pool, r.addr);
  return tx.commit();
}

}  // namespace cnm

// Recovery::doctor and gc: compare the kernel with the store, and repair (docs/architecture.md
// section 4).
#include <algorithm>
#include <set>

#include "cnm/kernel/firewall.h"
#include "cnm/kernel/links.h"
#include "cnm/recovery/recovery.h"

namespace cnm {

Result<Recovery::Desired> Recovery::desired() {
  auto nets = CNM_VALUE(list_networks());
  Desired want;
  want.fw.bridges.emplace();
  for (const auto& n : nets) {
    auto driver = registry_.describe(n.driver);
    if (!driver) continue;  // a driver this version lacks: its objects are unknown here
    auto eps = CNM_VALUE(endpoints({.parent = n.id}));
    driver->desired(n, eps, want.links, want.fw);
  }
  return want;
}

Result<bool> Recovery::apply_desired_firewall() {
  auto want = CNM_VALUE(desired());
  // What differs, and the networks whose objects are not wanted.
  auto fw = CNM_VALUE(kernel_.firewall->drift(want.fw));
  if (fw.missing.empty() && fw.foreign.empty()) return false;  // the firewall is as wanted
  want.fw.remove_networks = std::move(fw.foreign_networks);
  want.fw.exact_ports = true;  // published-port rules the store does not know go
  // The IPv6 tables too when there are dual-stack networks or netctl rules there.
  if (fw.foreign_v6) {
    want.fw.ipv6 = true;
    if (!want.fw.bridges6) want.fw.bridges6.emplace();
  }
  CNM_TRY(kernel_.firewall->apply(want.fw));
  return true;
}

Result<Drift> Recovery::doctor() {
  Drift d;
  auto want = CNM_VALUE(desired());
  auto fw = CNM_VALUE(kernel_.firewall->drift(want.fw));
  d.missing_rules = std::move(fw.missing);
  d.foreign_rules = std::move(fw.foreign);
  auto links = CNM_VALUE(kernel_.links->list());
  std::set<std::string> have;
  for (const auto& l : links) have.insert(l.name);
  std::set<std::string> known(want.links.begin(), want.links.end());
  auto nets = CNM_VALUE(list_networks());
  for (const auto& n : nets) {
    known.insert(n.bridge);
    if (registry_.ask(n.driver, &Driver::has_bridge) && !have.contains(n.bridge))
      d.missing_links.push_back(n.bridge);
  }
  auto eps = CNM_VALUE(endpoints({}));
  for (const auto& e : eps) known.insert(e.host_ifname);
  // A link is a stray only when it carries this root's mark: a name proves nothing.
  for (const auto& l : links)
    if (l.ours && registry_.names_link(l.name) && !known.contains(l.name))
      d.foreign_links.push_back(l.name);
  CNM_TRY(doctor_objects(d));
  auto containers = CNM_VALUE(containers_.container_drift());
  d.containers = std::move(containers);
  CNM_TRY(doctor_intents(d));
  CNM_TRY(doctor_dns(d));
  CNM_TRY(doctor_backend(d));
  CNM_TRY(doctor_cluster(d));
  return d;
}

Result<Drift> Recovery::gc() {
  auto lock = CNM_VALUE(store_.lock());
  // Rows it cannot finish stay, and doctor() below lists them.
  CNM_TRY(recover_intents(lock, true));
  // Reaps dead containers and reports them.
  auto containers = CNM_VALUE(containers_.gc_containers(lock));
  auto d = CNM_VALUE(doctor());
  CNM_TRY(gc_objects(lock, d));
  d.containers.insert(d.containers.begin(), containers.begin(), containers.end());
  if (!d.foreign_links.empty()) CNM_TRY(kernel_.links->delete_links(d.foreign_links));
  CNM_TRY(apply_desired_firewall());
  CNM_TRY(gc_backend(lock, d));
  CNM_TRY(gc_dns(d));
  CNM_TRY(gc_cluster(d));
  return d;
}

}  // namespace cnm

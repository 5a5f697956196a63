// Recovery::doctor and gc: compare the kernel with the store, and repair (docs/architecture.md
// section 4).
#include <algorithm>
#include <set>

#include "cnm/kernel/firewall.h"
#include "cnm/kernel/links.h"
#include "cnm/recovery/recovery.h"

namespace cnm {

Result<Recovery::Desired> Recovery::desired() {
  auto nets = list_networks();
  if (!nets) return std::unexpected(nets.error());
  Desired want;
  want.fw.bridges.emplace();
  for (const auto& n : *nets) {
    auto driver = registry_.describe(n.driver);
    if (!driver) continue;  // a driver this version lacks: its objects are unknown here
    auto eps = endpoints({.parent = n.id});
    if (!eps) return std::unexpected(eps.error());
    driver->desired(n, *eps, want.links, want.fw);
  }
  return want;
}

Result<Drift> Recovery::doctor() {
  Drift d;
  auto want = CNM_VALUE(desired());
  auto fw = CNM_VALUE(kernel_.firewall->drift(want.fw));
  d.missing_rules = std::move(fw.missing);
  d.foreign_rules = std::move(fw.foreign);
  auto links = kernel_.links->list();
  if (!links) return std::unexpected(links.error());
  std::set<std::string> have;
  for (const auto& l : *links) have.insert(l.name);
  std::set<std::string> known(want.links.begin(), want.links.end());
  auto nets = list_networks();
  if (!nets) return std::unexpected(nets.error());
  for (const auto& n : *nets) {
    known.insert(n.bridge);
    if (registry_.ask(n.driver, &Driver::has_bridge) && !have.contains(n.bridge))
      d.missing_links.push_back(n.bridge);
  }
  auto eps = endpoints({});
  if (!eps) return std::unexpected(eps.error());
  for (const auto& e : *eps) known.insert(e.host_ifname);
  for (const auto& l : *links)
    if (registry_.names_link(l.name) && !known.contains(l.name)) d.foreign_links.push_back(l.name);
  CNM_TRY(doctor_objects(d));
  auto containers = containers_.container_drift();
  if (!containers) return std::unexpected(containers.error());
  d.containers = std::move(*containers);
  return d;
}

Result<Drift> Recovery::gc() {
  auto lock = store_.lock();
  if (!lock) return std::unexpected(lock.error());
  CNM_TRY(recover_intents(*lock));
  auto containers = containers_.gc_containers(*lock);  // reaps dead containers and reports them
  if (!containers) return std::unexpected(containers.error());
  auto d = doctor();
  if (!d) return std::unexpected(d.error());
  CNM_TRY(gc_objects(*lock, *d));
  d->containers.insert(d->containers.begin(), containers->begin(), containers->end());
  if (!d->foreign_links.empty()) CNM_TRY(kernel_.links->delete_links(d->foreign_links));
  auto want = desired();
  if (!want) return std::unexpected(want.error());
  auto fw = kernel_.firewall->drift(want->fw);  // the networks whose chains are not wanted
  if (!fw) return std::unexpected(fw.error());
  want->fw.remove_networks = std::move(fw->foreign_networks);
  want->fw.exact_ports = true;  // published-port rules the store does not know go
  // The IPv6 tables too when there are dual-stack networks or netctl rules there.
  if (fw->foreign_v6) {
    want->fw.ipv6 = true;
    if (!want->fw.bridges6) want->fw.bridges6.emplace();
  }
  CNM_TRY(kernel_.firewall->apply(want->fw));
  return d;
}

}  // namespace cnm

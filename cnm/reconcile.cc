// Controller::doctor and gc: compare the kernel with the store, and repair (docs/architecture.md
// section 4).
#include <algorithm>
#include <set>

#include "cnm/controller.h"
#include "cnm/kernel/firewall.h"
#include "cnm/kernel/links.h"
#include "drivers/bridge/rules.h"

namespace cnm {

Result<kernel::FirewallChange> Controller::desired_firewall() {
  auto nets = list_networks();
  if (!nets) return std::unexpected(nets.error());
  kernel::FirewallChange c;
  c.bridges.emplace();
  for (const auto& n : *nets) {
    if (!registry_.ask(n.driver, &Driver::has_bridge)) continue;
    c.add_networks.push_back(drivers::network_rules(n));
    c.bridges->push_back(n.bridge);
    if (n.ipv6) {  // the IPv6 tables are in play only once there is a dual-stack network
      if (!c.bridges6) c.bridges6.emplace();
      c.bridges6->push_back(n.bridge);
      c.ipv6 = true;
    }
    auto eps = endpoints({.parent = n.id});
    if (!eps) return std::unexpected(eps.error());
    for (const auto& e : *eps)
      if (!e.ports.empty()) c.add_ports.push_back(drivers::endpoint_ports(n, e));
  }
  return c;
}

namespace {

// Dump lines keyed by table where lines could be mistaken for each other's: those of the IPv6
// tables read "[filter6] -A ..." (IPv4 ones as before). Table headers go.
std::set<std::string> keyed(const std::vector<std::string>& dump) {
  std::set<std::string> out;
  std::string prefix;
  for (const auto& l : dump) {
    if (l.starts_with("*")) {
      prefix = l.ends_with("6") ? "[" + l.substr(1) + "] " : "";
      continue;
    }
    out.insert(prefix + l);
  }
  return out;
}

// Top-level chains are created on first use and never removed (cnm/kernel/firewall.h): with no
// network left (in a family), they and the jumps into them are no drift.
bool infrastructure(const std::string& l) {
  static const std::vector<std::string> top = {"NETCTL-USER",        "NETCTL-ISOLATION",
                                               "NETCTL-FORWARD",     "NETCTL-DNAT",
                                               "NETCTL-POSTROUTING", "NETCTL-RAW"};
  std::string line = l.starts_with("[") ? l.substr(l.find("] ") + 2) : l;
  for (const auto& t : top) {
    if (line == "-N " + t || line == "-N " + t + "-2") return true;
    if (!line.starts_with("-A NETCTL") && line.ends_with("-j " + t)) return true;  // a hook
  }
  return line.starts_with("-A NETCTL-RAW ");
}

}  // namespace

Result<Drift> Controller::doctor() {
  Drift d;
  auto want = desired_firewall();
  if (!want) return std::unexpected(want.error());
  auto mem = kernel::make_memory_firewall();
  CNM_TRY(mem->apply(*want));
  auto expected = mem->dump();
  if (!expected) return std::unexpected(expected.error());
  auto actual = kernel_.firewall->dump();
  if (!actual) return std::unexpected(actual.error());
  std::set<std::string> have = keyed(*actual);
  std::set<std::string> should = keyed(*expected);
  for (const auto& l : should)
    if (!have.contains(l)) d.missing_rules.push_back(l);
  for (const auto& l : have)  // the admin's own chain is theirs
    if (!should.contains(l) && l.find("NETCTL-USER") == std::string::npos && !infrastructure(l))
      d.foreign_rules.push_back(l);
  auto links = kernel_.links->list();
  if (!links) return std::unexpected(links.error());
  std::set<std::string> known;
  auto nets = list_networks();
  if (!nets) return std::unexpected(nets.error());
  for (const auto& n : *nets) {
    known.insert(n.bridge);
    if (registry_.ask(n.driver, &Driver::has_bridge) &&
        std::none_of(links->begin(), links->end(),
                     [&](const auto& l) { return l.name == n.bridge; }))
      d.missing_links.push_back(n.bridge);
  }
  auto eps = endpoints({});
  if (!eps) return std::unexpected(eps.error());
  for (const auto& e : *eps) known.insert(e.host_ifname);
  for (const auto& l : *links)
    if ((l.name.starts_with("nc-") || l.name.starts_with("nv")) && !known.contains(l.name))
      d.foreign_links.push_back(l.name);
  CNM_TRY(doctor_objects(d));
  auto containers = container_drift();
  if (!containers) return std::unexpected(containers.error());
  d.containers = std::move(*containers);
  return d;
}

Result<Drift> Controller::gc() {
  auto lock = store_.lock();
  if (!lock) return std::unexpected(lock.error());
  CNM_TRY(recover_intents(*lock));
  auto containers = gc_containers(*lock);  // reaps dead containers and reports them
  if (!containers) return std::unexpected(containers.error());
  auto d = doctor();
  if (!d) return std::unexpected(d.error());
  CNM_TRY(gc_objects(*lock, *d));
  d->containers.insert(d->containers.begin(), containers->begin(), containers->end());
  if (!d->foreign_links.empty()) CNM_TRY(kernel_.links->delete_links(d->foreign_links));
  // Chains of networks the store does not know: remove them by their id12.
  kernel::FirewallChange c;
  for (const auto& l : d->foreign_rules) {
    for (const char* prefix : {"NETCTL-N-", "NETCTL-M-", "NETCTL-I-"})
      if (auto at = l.find(prefix); at != std::string::npos)
        c.remove_networks.push_back(l.substr(at + 9, 12));
  }
  auto want = desired_firewall();
  if (!want) return std::unexpected(want.error());
  std::sort(c.remove_networks.begin(), c.remove_networks.end());
  c.remove_networks.erase(std::unique(c.remove_networks.begin(), c.remove_networks.end()),
                          c.remove_networks.end());
  // Keep only removals of ids the store does not want.
  std::erase_if(c.remove_networks, [&](const std::string& id) {
    return std::any_of(want->add_networks.begin(), want->add_networks.end(),
                       [&](const auto& n) { return n.id12 == id; });
  });
  want->remove_networks = c.remove_networks;
  want->exact_ports = true;  // published-port rules the store does not know go
  // The IPv6 tables too when there are dual-stack networks or netctl rules there.
  if (std::any_of(d->foreign_rules.begin(), d->foreign_rules.end(),
                  [](const std::string& l) { return l.starts_with("["); })) {
    want->ipv6 = true;
    if (!want->bridges6) want->bridges6.emplace();
  }
  CNM_TRY(kernel_.firewall->apply(*want));
  return d;
}

}  // namespace cnm

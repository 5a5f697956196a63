#include "cnm/reconcile_drops.h"

#include <algorithm>

#include "cnm/model.h"
#include "cnm/records.h"
#include "drivers/bridge/rules.h"

namespace cnm {
namespace {

void add_once(std::vector<std::string>& v, const std::string& s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

Status add_record_objects(store::Store& store, const Registry& drivers, const std::string& table,
                          const std::string& id, std::vector<std::string>& links,
                          std::vector<std::string>& netns, kernel::FirewallChange& fw) {
  auto rec = store.get(table.c_str(), id);
  if (!rec) return std::unexpected(rec.error());
  if (!*rec) return {};
  if (table == store::kNetworks) {
    auto n = decode_one<Network>(std::move(rec), "network", id);
    if (!n) return std::unexpected(n.error());
    if (!drivers.ask(n->driver, &Driver::has_bridge)) return {};
    add_once(links, n->bridge);
    add_once(fw.remove_networks, n->id.substr(0, 12));
  } else if (table == store::kEndpoints) {
    auto e = decode_one<Endpoint>(std::move(rec), "endpoint", id);
    if (!e) return std::unexpected(e.error());
    add_once(links, e->host_ifname);
    // Its port rules are found by content: they need the network's bridge (a network already
    // gone leaves them to `netctl gc`, which removes DNATs the store does not know).
    if (!e->ports.empty()) {
      auto n =
          decode_one<Network>(store.get(store::kNetworks, e->network_id), "network", e->network_id);
      bool listed = std::any_of(fw.remove_ports.begin(), fw.remove_ports.end(),
                                [&](const auto& p) { return p.id12 == e->id.substr(0, 12); });
      if (n && !listed) fw.remove_ports.push_back(drivers::endpoint_ports(*n, *e));
    }
  } else if (table == store::kSandboxes) {
    auto s = decode_one<Sandbox>(std::move(rec), "sandbox", id);
    if (!s) return std::unexpected(s.error());
    add_once(netns, s->netns_path);
  }
  // Containers: the launcher's namespaces and cgroups are its own (cnm/launcher).
  return {};
}

}  // namespace cnm

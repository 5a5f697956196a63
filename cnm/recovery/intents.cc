// Recovery::recover: finishes or undoes what a crashed command left in the intent journal.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "cnm/core/intent.h"
#include "cnm/core/records.h"
#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/firewall.h"
#include "cnm/kernel/links.h"
#include "cnm/recovery/record_objects.h"
#include "cnm/recovery/recovery.h"

namespace cnm {
namespace {

// What one crashed command's intent objects name, gathered to be removed together.
struct Leftovers {
  std::vector<std::string> links, netns;
  kernel::FirewallChange fw;
  std::vector<ContainerIntent> containers;  // removed last: see cnm/containers/lifecycle.cc
};

void collect(Leftovers& u, const LinkIntent& i) { u.links.push_back(i.name); }
void collect(Leftovers& u, const NetnsIntent& i) { u.netns.push_back(i.path); }
void collect(Leftovers& u, const FwNetworkIntent& i) {
  u.fw.remove_networks.push_back(i.id12);
  u.fw.ipv6 = true;  // the intent does not say whether it was dual-stack
}
void collect(Leftovers& u, const FwPortsIntent& i) { u.fw.remove_ports.push_back(i.ports); }
void collect(Leftovers& u, const ContainerIntent& i) { u.containers.push_back(i); }

}  // namespace

Result<int> Recovery::recover(const store::WriteLock& lock) {
  auto handled = CNM_VALUE(recover_intents(lock));
  auto reaped = CNM_VALUE(containers_.reap_containers(lock));
  return handled + static_cast<int>(reaped.size());
}

Result<int> Recovery::recover_intents(const store::WriteLock& /*lock*/) {
  auto intents = CNM_VALUE(store_.intents());
  int handled = 0;
  for (const auto& [id, body] : intents) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    store::Batch b;
    Leftovers u;
    auto& [links, netns, fw, containers] = u;
    std::vector<std::string> dropped;
    std::vector<Endpoint> left;  // endpoints it drops: their namespaces may need a gateway again
    if (!j.is_discarded()) {
      // One that does not parse (malformed, or a kind this version lacks) cannot be undone here;
      // `netctl gc` removes what the store lacks.
      for (const auto& o : j.value("objects", nlohmann::json::array()))
        if (auto intent = parse_intent(o))
          std::visit([&u](const auto& i) { collect(u, i); }, *intent);
      for (const auto& d : j.value("drop", nlohmann::json::array())) {
        auto table = d.value("table", "");
        for (const char* t :
             {store::kNetworks, store::kEndpoints, store::kSandboxes, store::kContainers})
          if (table == t) {
            b.drops.push_back({t, d.value("id", "")});
            if (std::string_view(t) == store::kEndpoints)
              if (auto e = decode_one<Endpoint>(store_.get(t, d.value("id", "")), "endpoint", ""))
                left.push_back(std::move(*e));
            CNM_TRY(add_record_objects(store_, registry_, t, d.value("id", ""), links, netns, fw));
          }
        dropped.push_back(d.value("id", ""));
      }
    }
    CNM_TRY(recover_objects(links, netns, fw, dropped));
    // Best effort here: a namespace that cannot take the route (an admin removed its address)
    // must not block every later command.
    (void)endpoints_.reelect_gateways(b, left);
    for (const auto& o : containers) CNM_TRY(containers_.recover_container(o));
    b.done_intents.push_back(id);
    CNM_TRY(store_.apply(b));
    ++handled;
  }
  return handled;
}

Status Recovery::recover_objects(const std::vector<std::string>& links,
                                 const std::vector<std::string>& netns, kernel::FirewallChange& fw,
                                 const std::vector<std::string>& dropped) {
  if (!fw.remove_networks.empty()) {
    // Isolation is rewritten from the networks that stay: not those the intent created or drops.
    auto nets = CNM_VALUE(list_networks());
    std::vector<std::string> bridges, bridges6;
    for (const auto& n : nets) {
      bool gone = std::find(dropped.begin(), dropped.end(), n.id) != dropped.end() ||
                  std::find(links.begin(), links.end(), n.bridge) != links.end();
      if (gone || !registry_.ask(n.driver, &Driver::has_bridge)) continue;
      bridges.push_back(n.bridge);
      if (n.ipv6) bridges6.push_back(n.bridge);
    }
    fw.bridges = bridges;
    fw.bridges6 = bridges6;
  }
  if (!fw.remove_networks.empty() || !fw.remove_ports.empty())
    if (auto r = kernel_.firewall->apply(fw); !r)
      return context("recover an interrupted command", r.error());
  if (!links.empty())
    if (auto r = kernel_.links->delete_links(links); !r)
      return context("recover an interrupted command", r.error());
  for (const auto& path : netns)
    if (auto r = kernel_.namespaces->remove(path); !r)
      return context("recover an interrupted command", r.error());
  return {};
}

}  // namespace cnm

// Recovery::recover: finishes or undoes what a crashed command left in the intent journal.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

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
  std::vector<AdoptIntent> adopted;
  std::vector<std::string> overlays;  // global-scope networks to reconcile with the cluster
};

void collect(Leftovers& u, const LinkIntent& i) { u.links.push_back(i.name); }
void collect(Leftovers& u, const NetnsIntent& i) { u.netns.push_back(i.path); }
void collect(Leftovers& u, const FwNetworkIntent& i) {
  u.fw.remove_networks.push_back(i.id12);
  u.fw.ipv6 = true;  // the intent does not say whether it was dual-stack
}
void collect(Leftovers& u, const FwPortsIntent& i) { u.fw.remove_ports.push_back(i.ports); }
void collect(Leftovers& u, const ContainerIntent& i) { u.containers.push_back(i); }
void collect(Leftovers& u, const AdoptIntent& i) { u.adopted.push_back(i); }
void collect(Leftovers& u, const OverlayIntent& i) { u.overlays.push_back(i.network); }

// How often recovery failed on a journal row (0 for a row of an older version or a bad count).
int attempts_of(const nlohmann::json& j) {
  auto it = j.is_object() ? j.find("attempts") : j.end();
  return it != j.end() && it->is_number_integer() ? it->get<int>() : 0;
}

// The string at `key` of `j`, or "?".
std::string text_of(const nlohmann::json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  return it != j.end() && it->is_string() ? it->get<std::string>() : "?";
}

// What a journal row names, for doctor: "link nv1a2b, drop endpoints <id>".
std::string describe_row(const nlohmann::json& j) {
  if (!j.is_object()) return "unreadable";
  std::vector<std::string> what;
  for (const auto& o : j.value("objects", nlohmann::json::array())) {
    std::string name = "?";
    for (const char* key : {"name", "path", "id12", "id", "network"})
      if (auto v = text_of(o, key); v != "?") {
        name = v;
        break;
      }
    what.push_back(text_of(o, "kind") + " " + name);
  }
  for (const auto& o : j.value("drop", nlohmann::json::array()))
    what.push_back("drop " + text_of(o, "table") + " " + text_of(o, "id"));
  return fmt::format("{}", fmt::join(what, ", "));
}

}  // namespace

Result<int> Recovery::recover(const store::WriteLock& lock) {
  auto handled = CNM_VALUE(recover_intents(lock));
  CNM_TRY(migrate_backend(lock));
  auto reaped = CNM_VALUE(containers_.reap_containers(lock));
  return handled + static_cast<int>(reaped.size());
}

Result<int> Recovery::recover_intents(const store::WriteLock& /*lock*/, bool parked_too) {
  auto intents = CNM_VALUE(store_.intents());
  int handled = 0;
  std::optional<Error> first;  // what the command fails with
  for (const auto& [id, body] : intents) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    int attempts = attempts_of(j);
    if (attempts >= kRecoverAttempts && !parked_too) continue;
    auto r = recover_intent(id, j);
    if (r) {
      ++handled;
      continue;
    }
    // The row stays, naming all its objects (those already gone count as removed next time);
    // the others are still tried.
    ++attempts;
    if (j.is_object()) {
      j["attempts"] = attempts;
      j["error"] = r.error().message;
      CNM_TRY(store_.update_intent(id, j.dump()));
    }
    if (!first && !parked_too)
      first = Error{Code::kFailed,
                    fmt::format("intent {} ({}) not finished, attempt {} of {}: {}; {}", id,
                                text_of(j, "cmd"), attempts, kRecoverAttempts, r.error().message,
                                attempts < kRecoverAttempts
                                    ? "`netctl doctor` lists it"
                                    : "later commands go on without it, `netctl gc` retries it")};
  }
  if (first) return std::unexpected(*first);
  return handled;
}

Status Recovery::recover_intent(int64_t id, const nlohmann::json& j) {
  store::Batch b;
  Leftovers u;
  auto& [links, netns, fw, containers, adopted, overlays] = u;
  std::vector<std::string> dropped;
  std::vector<Endpoint> left;  // endpoints it drops: their namespaces may need a gateway again
  if (j.is_object()) {
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
          CNM_TRY(add_record_objects(store_, registry_, t, d.value("id", ""),
                                     {links, netns, fw, adopted}));
        }
      dropped.push_back(d.value("id", ""));
    }
  }
  CNM_TRY(recover_objects(links, netns, fw, dropped));
  for (const auto& a : adopted)
    if (auto r = give_back(kernel_, a); !r)
      return context("recover an interrupted command", r.error());
  // Best effort here: a namespace that cannot take the route (an admin removed its address)
  // must not block every later command.
  (void)endpoints_.reelect_gateways(b, left);
  for (const auto& o : containers) CNM_TRY(containers_.recover_container(o));
  for (const auto& name : overlays) CNM_TRY(reconcile_overlay(name, dropped));
  b.done_intents.push_back(id);
  return store_.apply(b);
}

Status Recovery::doctor_intents(Drift& d) {
  auto intents = CNM_VALUE(store_.intents());
  for (const auto& [id, body] : intents) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    auto line = fmt::format("{} ({}): {}", id, text_of(j, "cmd"), describe_row(j));
    int attempts = attempts_of(j);
    if (attempts > 0)
      line += fmt::format("; {} after {} failed attempt(s): {}",
                          attempts >= kRecoverAttempts ? "parked" : "pending", attempts,
                          text_of(j, "error"));
    d.pending_intents.push_back(std::move(line));
  }
  return {};
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

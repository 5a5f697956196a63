#include "cnm/core/firewall_backend.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cnm/kernel/firewall.h"
#include "cnm/kernel/firewall_host.h"

namespace cnm {
namespace {

// Whether the iptables backend may have left objects here: it writes filter, nat and raw with its
// first network, so without all three legacy tables there is nothing of it. Reading them otherwise
// would make the missing tables (raw, the IPv6 ones) exist.
bool fwb_iptables_possible() {
  auto have = kernel::legacy_tables(false);
  for (const char* t : {"filter", "nat", "raw"})
    if (std::find(have.begin(), have.end(), t) == have.end()) return false;
  return true;
}

// Interface names as nft takes them: "a" or { "a", "b" }.
std::string fwb_set(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + ("\"" + n + "\"");
  return names.size() == 1 ? out : "{ " + out + " }";
}

std::string fwb_text(const nlohmann::json& o, const char* key) {
  return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
}

// A rule of nft's JSON that accepts whatever comes in (iifname) or goes out (oifname) on some
// interfaces, with no other condition: those interfaces go into accepted["family table chain"].
void fwb_accepts(const nlohmann::json& rule,
                 std::map<std::string, std::map<std::string, std::set<std::string>>>& accepted) {
  if (!rule.contains("expr") || !rule["expr"].is_array()) return;
  std::string key;
  std::vector<std::string> names;
  bool accepts = false;
  for (const auto& e : rule["expr"]) {
    if (!e.is_object() || e.empty()) return;
    const std::string& kind = e.begin().key();
    if (kind == "counter") continue;
    if (kind == "accept") {
      accepts = true;
      continue;
    }
    if (kind != "match" || !key.empty()) return;  // another condition, or a second match
    const auto& m = e["match"];
    if (fwb_text(m, "op") != "==" || !m.contains("left") || !m["left"].contains("meta")) return;
    key = fwb_text(m["left"]["meta"], "key");
    const auto& right = m.contains("right") ? m["right"] : nlohmann::json();
    if (right.is_string()) names.push_back(right.get<std::string>());
    if (right.is_object() && right.contains("set") && right["set"].is_array())
      for (const auto& n : right["set"])
        if (n.is_string()) names.push_back(n.get<std::string>());
  }
  if (!accepts || (key != "iifname" && key != "oifname")) return;
  std::string at = fmt::format("{} {} {}", fwb_text(rule, "family"), fwb_text(rule, "table"),
                               fwb_text(rule, "chain"));
  accepted[at][key].insert(names.begin(), names.end());
}

// The whole desired state of "nothing": every object of the root is foreign to it.
kernel::FirewallChange fwb_nothing() {
  kernel::FirewallChange none;
  none.bridges.emplace();
  none.bridges6.emplace();
  return none;
}

// Base chains of other tables on the forward hook with policy drop that do not accept every
// bridge both ways: one warning each, with the rules to add there.
void fwb_drop_policy_warnings(const nlohmann::json& items, const std::vector<std::string>& bridges,
                              std::vector<std::string>& out) {
  // Per chain ("family table chain"): the interfaces it accepts unconditionally, by key.
  std::map<std::string, std::map<std::string, std::set<std::string>>> accepted;
  for (const auto& item : items)
    if (item.is_object() && item.contains("rule")) fwb_accepts(item["rule"], accepted);
  for (const auto& item : items) {
    if (!item.is_object() || !item.contains("chain")) continue;
    const auto& c = item["chain"];
    if (fwb_text(c, "hook") != "forward" || fwb_text(c, "policy") != "drop") continue;
    std::string table = fwb_text(c, "table");
    if (table.starts_with("netctl-")) continue;
    std::string at = fmt::format("{} {} {}", fwb_text(c, "family"), table, fwb_text(c, "name"));
    auto& acc = accepted[at];
    std::vector<std::string> in, outward;
    for (const auto& b : bridges) {
      if (!acc["iifname"].contains(b)) in.push_back(b);
      if (!acc["oifname"].contains(b)) outward.push_back(b);
    }
    if (in.empty() && outward.empty()) continue;
    // A base chain's accept does not end the hook: every other base chain still sees the
    // packet, and its drop is final. So the other table itself must accept netctl's traffic.
    std::string add;
    if (!in.empty()) add += fmt::format("nft insert rule {} iifname {} accept", at, fwb_set(in));
    if (!outward.empty())
      add += fmt::format("{}nft insert rule {} oifname {} accept", add.empty() ? "" : "; ", at,
                         fwb_set(outward));
    out.push_back(fmt::format(
        "table {}: policy drop on the forward hook drops the traffic netctl accepts; add: {}", at,
        add));
  }
}

// netctl's DNAT priority on the prerouting hook: its nftables chain `prerouting` and the legacy
// nat table alike.
constexpr int kFwbDnatPriority = -100;

// Whether a rule of nft's JSON rewrites the destination: dnat, redirect, or iptables-nft's
// DNAT/REDIRECT target.
bool fwb_rewrites_destination(const nlohmann::json& rule) {
  if (!rule.contains("expr") || !rule["expr"].is_array()) return false;
  for (const auto& e : rule["expr"]) {
    if (!e.is_object()) continue;
    if (e.contains("dnat") || e.contains("redirect")) return true;
    if (e.contains("xt") && e["xt"].is_object()) {
      auto name = fwb_text(e["xt"], "name");
      if (name == "DNAT" || name == "REDIRECT") return true;
    }
  }
  return false;
}

// Base chains of other tables that rewrite destinations (the table holds a DNAT anywhere) on the
// nat prerouting hook at or before netctl's priority: the first DNAT of a new connection wins, so
// theirs takes any host port netctl also publishes (at the same priority, the chain registered
// last runs first).
void fwb_nat_priority_warnings(const nlohmann::json& items, std::vector<std::string>& out) {
  std::set<std::string> dnat_tables;  // "family table"
  for (const auto& item : items) {
    if (!item.is_object() || !item.contains("rule") || !fwb_rewrites_destination(item["rule"]))
      continue;
    dnat_tables.insert(fwb_text(item["rule"], "family") + " " + fwb_text(item["rule"], "table"));
  }
  for (const auto& item : items) {
    if (!item.is_object() || !item.contains("chain")) continue;
    const auto& c = item["chain"];
    if (fwb_text(c, "type") != "nat" || fwb_text(c, "hook") != "prerouting") continue;
    std::string family = fwb_text(c, "family");  // bridge and netdev hooks are not IP's
    if (family != "ip" && family != "ip6" && family != "inet") continue;
    if (!c.contains("prio") || !c["prio"].is_number_integer()) continue;
    int prio = c["prio"].get<int>();
    std::string table = family + " " + fwb_text(c, "table");
    if (prio > kFwbDnatPriority || fwb_text(c, "table").starts_with("netctl-") ||
        !dnat_tables.contains(table))
      continue;
    std::string order = prio < kFwbDnatPriority
                            ? fmt::format("before netctl's {}", kFwbDnatPriority)
                            : "netctl's too, where the chain made last runs first";
    out.push_back(fmt::format(
        "table {} {}: DNAT on the nat prerouting hook at priority {}, {}: the first DNAT of a "
        "connection wins, so it takes any host port netctl publishes too; publish each port in "
        "one table only",
        table, fwb_text(c, "name"), prio, order));
  }
}

class RealFirewallBackends final : public FirewallBackends {
 public:
  RealFirewallBackends(std::string root_id, std::string active)
      : root_id_(std::move(root_id)), active_(std::move(active)) {}
  const std::string& active() const override { return active_; }

  Result<std::vector<std::string>> leftovers(const std::string& name) override {
    if (name == kNftables) {
      auto lines = CNM_VALUE(kernel::make_nft_firewall(root_id_)->dump());
      return lines;
    }
    if (!fwb_iptables_possible()) return std::vector<std::string>{};
    auto drift = CNM_VALUE(kernel::make_iptc_firewall(root_id_)->drift(fwb_nothing()));
    return std::move(drift.foreign);
  }

  Status removable(const std::string& name) override {
    if (name != kNftables) return {};
    // Deleting the table deletes the admin's chain too: never silently.
    auto lines = CNM_VALUE(kernel::make_nft_firewall(root_id_)->dump());
    auto n = std::count_if(lines.begin(), lines.end(),
                           [](const std::string& l) { return l.starts_with("rule user "); });
    if (n == 0) return {};
    return fail(Code::kFailed,
                "chain user of table inet netctl-{} holds {} rule(s) of the admin: move them "
                "(iptables: chain NETCTL-USER) and delete them from it first",
                root_id_, n);
  }

  Status remove(const std::string& name) override {
    CNM_TRY(removable(name));
    if (name == kNftables) return kernel::remove_nft_table(root_id_);
    if (!fwb_iptables_possible()) return {};
    auto fw = kernel::make_iptc_firewall(root_id_);
    auto drift = CNM_VALUE(fw->drift(fwb_nothing()));
    if (drift.foreign.empty()) return {};
    auto change = fwb_nothing();
    change.remove_networks = std::move(drift.foreign_networks);
    change.exact_ports = true;
    change.ipv6 = drift.foreign_v6;
    return fw->apply(change);
  }

  Result<std::vector<std::string>> warnings(const std::vector<std::string>& bridges) override {
    if (bridges.empty()) return std::vector<std::string>{};
    return firewall_neighbour_warnings(kernel::nft_ruleset_json(), bridges);
  }

 private:
  std::string root_id_, active_;
};

}  // namespace

std::vector<std::string> firewall_neighbour_warnings(const std::string& ruleset_json,
                                                     const std::vector<std::string>& bridges) {
  std::vector<std::string> out;
  if (bridges.empty()) return out;
  auto j = nlohmann::json::parse(ruleset_json, nullptr, false);
  if (j.is_discarded() || !j.contains("nftables") || !j["nftables"].is_array()) return out;
  fwb_drop_policy_warnings(j["nftables"], bridges, out);
  fwb_nat_priority_warnings(j["nftables"], out);
  return out;
}

Result<std::string> parse_firewall_backend(std::string_view name, std::string_view what) {
  if (name == kNftables || name == kIptables || name == "auto") return std::string(name);
  return fail(Code::kInvalid, "{}: '{}' is not nftables, iptables or auto", what, name);
}

bool legacy_tables_in_use(const std::string& proc_net) {
  return !kernel::legacy_tables(false, proc_net).empty() ||
         !kernel::legacy_tables(true, proc_net).empty();
}

HostFirewall probe_host_firewall(const std::string& proc_net) {
  HostFirewall h;
  h.iptables_is_nft = kernel::iptables_is_nft();
  h.legacy_tables = legacy_tables_in_use(proc_net);
  return h;
}

Result<std::string> select_firewall_backend(const char* env, const std::string& config,
                                            const std::string& recorded,
                                            const std::function<HostFirewall()>& probe) {
  bool from_env = env != nullptr && *env != '\0';
  auto want = CNM_VALUE(from_env ? parse_firewall_backend(env, kFirewallBackendEnv)
                                 : parse_firewall_backend(config, "firewall-backend"));
  if (want != "auto") return want;
  if (recorded == kIptables || recorded == kNftables) return recorded;
  HostFirewall h = probe();
  return std::string(h.iptables_is_nft || !h.legacy_tables ? kNftables : kIptables);
}

std::unique_ptr<FirewallBackends> make_firewall_backends(const std::string& root_id,
                                                         const std::string& active) {
  return std::make_unique<RealFirewallBackends>(root_id, active);
}

}  // namespace cnm

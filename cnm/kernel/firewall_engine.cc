#include "cnm/kernel/firewall_engine.h"

#include <algorithm>

#include "cnm/kernel/firewall_plan.h"

namespace cnm::kernel::fw {
namespace {

TableEditor& of(const Tables& t, Table table) { return *t[static_cast<size_t>(table)]; }
bool has(const Tables& t, Table table) { return t[static_cast<size_t>(table)] != nullptr; }

bool contains(const std::vector<Rule>& rules, const Rule& r) {
  return std::find(rules.begin(), rules.end(), r) != rules.end();
}

bool ours(const std::string& chain) { return chain.starts_with(std::string(kPrefix) + "-"); }

// Deletes every rule of `chain` that jumps to `target`, last first so indexes stay valid.
Status erase_jumps(TableEditor& t, const std::string& chain, const std::string& target) {
  auto targets = CNM_VALUE(t.targets(chain));
  for (size_t i = targets.size(); i-- > 0;) {
    if (targets[i] == target) CNM_TRY(t.erase(chain, i));
  }
  return {};
}

// Creates the chain if missing, else rewrites it unless it holds exactly the wanted rules.
Status sync_rules(TableEditor& t, const ChainSpec& s) {
  if (!t.has_chain(s.name)) {
    CNM_TRY(t.create_chain(s.name));
  } else {
    auto have = CNM_VALUE(t.rules(s.name));
    if (have == s.rules) return {};
    CNM_TRY(t.flush(s.name));
  }
  for (const Rule& r : s.rules) CNM_TRY(t.append(s.name, r));
  return {};
}

Status ensure_jump(TableEditor& t, const ChainSpec& s) {
  auto targets = CNM_VALUE(t.targets(s.parent));
  if (std::find(targets.begin(), targets.end(), s.name) != targets.end()) return {};
  return t.insert(s.parent, jump(s.name), jump_index(targets, s.name));
}

// Removes a chain with every jump into it; a missing chain is already removed.
Status remove_chain(TableEditor& t, const ChainSpec& s) {
  if (!t.has_chain(s.name)) return {};
  CNM_TRY(t.flush(s.name));
  if (!s.parent.empty() && t.has_chain(s.parent)) CNM_TRY(erase_jumps(t, s.parent, s.name));
  auto refs = CNM_VALUE(t.references(s.name));
  if (refs > 0) {  // someone (an admin?) jumps to it from elsewhere
    for (const std::string& chain : t.chains()) CNM_TRY(erase_jumps(t, chain, s.name));
  }
  return t.delete_chain(s.name);
}

// A hook is in place when its jumps are where they must be; otherwise every jump to its targets
// is taken out of the built-in chain and the jumps go in at the top.
Status ensure_hook(TableEditor& t, const Hook& h) {
  auto have = CNM_VALUE(t.rules(h.builtin));
  bool ok = true;
  if (h.at_top) {
    ok = have.size() >= h.jumps.size() && std::equal(h.jumps.begin(), h.jumps.end(), have.begin());
  } else {
    for (const Rule& j : h.jumps) ok = ok && std::find(have.begin(), have.end(), j) != have.end();
  }
  if (ok) return {};
  for (const Rule& j : h.jumps) CNM_TRY(erase_jumps(t, h.builtin, j.target));
  for (size_t i = 0; i < h.jumps.size(); ++i) CNM_TRY(t.insert(h.builtin, h.jumps[i], i));
  return {};
}

Status ensure_top(const Tables& t, Family f) {
  for (const ChainSpec& s : top_chains(f)) {
    if (!has(t, s.table)) continue;
    TableEditor& table = of(t, s.table);
    if (!s.rules.empty()) {
      CNM_TRY(sync_rules(table, s));
    } else if (!table.has_chain(s.name)) {
      CNM_TRY(table.create_chain(s.name));
    }
  }
  for (const Hook& h : hooks(f))
    if (has(t, h.table)) CNM_TRY(ensure_hook(of(t, h.table), h));
  return {};
}

// Port rules of one shared chain: erases the `gone` rules that are not also `keep` rules (with
// `exact`, every rule with target `kind` that is not a `keep` rule), then appends the `keep`
// rules missing. For a few rules (one endpoint's) the chain, a rule per published port, is not
// decoded: each rule is looked up in place, a compare per entry instead of a decode per entry.
// Many rules at once (gc, removing many endpoints) decode it once instead.
Status sync_flat(TableEditor& t, const std::string& chain, const std::vector<Rule>& gone,
                 const std::vector<Rule>& keep, bool exact, const char* kind) {
  constexpr size_t kFew = 16;
  if (!exact && gone.size() + keep.size() <= kFew) {
    for (const Rule& r : gone) {
      if (contains(keep, r)) continue;
      for (;;) {  // duplicates too
        auto erased = CNM_VALUE(t.erase_rule(chain, r));
        if (!erased) break;
      }
    }
    for (const Rule& r : keep) {
      auto held = CNM_VALUE(t.holds(chain, r));
      if (!held) CNM_TRY(t.append(chain, r));
    }
    return {};
  }
  auto have = CNM_VALUE(t.rules(chain));
  for (size_t i = have.size(); i-- > 0;) {
    const Rule& r = have[i];
    if (contains(keep, r)) continue;
    if (contains(gone, r) || (exact && r.target == kind)) {
      CNM_TRY(t.erase(chain, i));
      have.erase(have.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  for (const Rule& r : keep)
    if (!contains(have, r)) CNM_TRY(t.append(chain, r));
  return {};
}

// A root's chain (its parent a shared top-level chain): created with its jump when missing.
Status ensure_root_chain(TableEditor& t, const ChainSpec& s) {
  if (!t.has_chain(s.name)) CNM_TRY(t.create_chain(s.name));
  return ensure_jump(t, s);
}

Status sync_ports(const FirewallChange& c, const Tables& t, const RootChains& root) {
  if (c.add_ports.empty() && c.remove_ports.empty() && !c.exact_ports) return {};
  TableEditor& nat = of(t, Table::kNat);
  if (c.add_ports.empty() && !nat.has_chain(root.dnat)) return {};  // none of the root's to go
  if (!c.add_ports.empty()) CNM_TRY(ensure_root_chain(nat, {Table::kNat, root.dnat, {}, kDnat}));
  std::vector<Rule> gone, keep;
  auto collect = [](std::vector<Rule>& into, const std::vector<EndpointPorts>& eps) {
    for (const EndpointPorts& e : eps) {
      std::vector<Rule> r = port_rules(e);
      into.insert(into.end(), r.begin(), r.end());
    }
  };
  collect(gone, c.remove_ports);
  collect(keep, c.add_ports);
  return sync_flat(nat, root.dnat, gone, keep, c.exact_ports, "DNAT");
}

// Whether a chain of another root of the same kind as `s.parent` (this root's F or P chain)
// jumps to network chain `s` and this root's does not: then it is that root's network.
Result<bool> theirs(TableEditor& t, const ChainSpec& s) {
  std::string kind = s.parent.substr(0, s.parent.rfind('-') + 1);  // "NETCTL-F-"
  bool mine = false, other = false;
  for (const std::string& chain : t.chains()) {
    if (!chain.starts_with(kind) || chain.size() != s.parent.size()) continue;
    auto targets = CNM_VALUE(t.targets(chain));
    bool jumps = std::find(targets.begin(), targets.end(), s.name) != targets.end();
    if (chain == s.parent) {
      mine = jumps;
    } else {
      other = other || jumps;
    }
  }
  return other && !mine;
}

Status remove_network(const Tables& t, const std::string& id, const RootChains& root) {
  for (const ChainSpec& s : network_chain_names(id, root)) {
    TableEditor& table = of(t, s.table);
    if (!table.has_chain(s.name)) continue;
    auto other = CNM_VALUE(theirs(table, s));
    if (!other) CNM_TRY(remove_chain(table, s));
  }
  return {};
}

// The root's T and S chains rewritten for its bridges, with the jump to S.
Status sync_isolation(TableEditor& t, const std::vector<std::string>& bridges,
                      const RootChains& root) {
  if (bridges.empty() && !t.has_chain(root.isolation) && !t.has_chain(root.isolation2)) return {};
  for (const ChainSpec& s : isolation_chains(bridges, root)) CNM_TRY(sync_rules(t, s));
  return ensure_jump(t, {Table::kFilter, root.isolation, {}, kIsolation});
}

// Removes a group of the root's chains (and their jumps) when all of them are empty or missing.
Status prune_group(TableEditor& t, const std::vector<ChainSpec>& chains) {
  bool any = false;
  for (const ChainSpec& s : chains) {
    if (!t.has_chain(s.name)) continue;
    auto targets = CNM_VALUE(t.targets(s.name));
    if (!targets.empty()) return {};
    any = true;
  }
  if (!any) return {};
  for (const ChainSpec& s : chains) CNM_TRY(remove_chain(t, s));
  return {};
}

// After a change that removes something, the root's chains it left empty go with their jumps
// (S and T together), so the tables hold what a render of the same state (xtables_drift) holds.
Status prune(const FirewallChange& c, const Tables& t, const RootChains& root) {
  bool removes = !c.remove_networks.empty() || !c.remove_ports.empty() || c.exact_ports ||
                 c.bridges.has_value();
  if (!removes) return {};
  if (has(t, Table::kFilter)) {
    TableEditor& filter = of(t, Table::kFilter);
    CNM_TRY(prune_group(filter, {{Table::kFilter, root.forward, {}, kForward}}));
    CNM_TRY(prune_group(filter, {{Table::kFilter, root.isolation, {}, kIsolation},
                                 {Table::kFilter, root.isolation2, {}, root.isolation}}));
  }
  if (has(t, Table::kNat)) {
    TableEditor& nat = of(t, Table::kNat);
    CNM_TRY(prune_group(nat, {{Table::kNat, root.postrouting, {}, kPostrouting}}));
    CNM_TRY(prune_group(nat, {{Table::kNat, root.dnat, {}, kDnat}}));
  }
  return {};
}

// Brings an object's chains to `wanted` and removes those of its `owned` chains it no longer
// needs (the I chain of a network whose icc was turned on).
Status add_object(const Tables& t, const std::vector<ChainSpec>& wanted,
                  const std::vector<ChainSpec>& owned) {
  for (const ChainSpec& s : owned) {
    bool keep = std::any_of(wanted.begin(), wanted.end(),
                            [&](const ChainSpec& w) { return w.name == s.name; });
    if (!keep) CNM_TRY(remove_chain(of(t, s.table), s));
  }
  for (const ChainSpec& s : wanted) {
    CNM_TRY(sync_rules(of(t, s.table), s));
    CNM_TRY(ensure_jump(of(t, s.table), s));
  }
  return {};
}

Status dump_table(TableEditor& t, const std::string& label, std::vector<std::string>& out) {
  out.push_back("*" + label);
  std::vector<std::string> chains = t.chains();
  for (const std::string& c : chains) {
    if (ours(c)) out.push_back("-N " + c);
  }
  for (const std::string& c : chains) {
    auto rules = CNM_VALUE(t.rules(c));
    for (const Rule& r : rules) {
      if (ours(c) || ours(r.target)) out.push_back(fmt::format("-A {} {}", c, render(r)));
    }
  }
  return {};
}

// One family's part of a change (project()) into that family's tables.
Status build_family(const FirewallChange& c, Family f, const Tables& t, const RootChains& root) {
  CNM_TRY(ensure_top(t, f));
  for (const std::string& id : c.remove_networks) CNM_TRY(remove_network(t, id, root));
  CNM_TRY(sync_ports(c, t, root));
  if (!c.add_networks.empty()) {
    CNM_TRY(ensure_root_chain(of(t, Table::kFilter), {Table::kFilter, root.forward, {}, kForward}));
    CNM_TRY(
        ensure_root_chain(of(t, Table::kNat), {Table::kNat, root.postrouting, {}, kPostrouting}));
  }
  for (const NetworkRules& n : c.add_networks)
    CNM_TRY(add_object(t, network_chains(n, root), network_chain_names(n.id12, root)));
  if (c.bridges) CNM_TRY(sync_isolation(of(t, Table::kFilter), *c.bridges, root));
  return prune(c, t, root);
}

Tables family_tables(const AllTables& t, Family f) {
  return {t[slot(f, Table::kFilter)], t[slot(f, Table::kNat)], t[slot(f, Table::kRaw)]};
}

}  // namespace

Result<bool> TableEditor::holds(const std::string& chain, const Rule& r) {
  auto have = CNM_VALUE(rules(chain));
  return contains(have, r);
}

Result<bool> TableEditor::erase_rule(const std::string& chain, const Rule& r) {
  auto have = CNM_VALUE(rules(chain));
  auto it = std::find(have.begin(), have.end(), r);
  if (it == have.end()) return false;
  CNM_TRY(erase(chain, static_cast<size_t>(it - have.begin())));
  return true;
}

std::array<bool, kTableSlots> tables_for(const FirewallChange& c) {
  std::array<bool, kTableSlots> out{};
  for (Family f : kFamilies) {
    std::array<bool, 3> used = tables_of(c, f);
    for (Table table : kTables) out[slot(f, table)] = used[static_cast<size_t>(table)];
  }
  return out;
}

Status build(const FirewallChange& c, const std::string& root_id, const AllTables& t) {
  CNM_TRY(check_root_id(root_id));
  RootChains root = root_chains(root_id);
  for (Family f : kFamilies) {
    std::array<bool, 3> used = tables_of(c, f);
    if (std::none_of(used.begin(), used.end(), [](bool u) { return u; })) continue;
    if (f == Family::kV4 && ipv4_as_is(c)) {  // the common case: no copy
      CNM_TRY(build_family(c, f, family_tables(t, f), root));
    } else {
      CNM_TRY(build_family(project(c, f), f, family_tables(t, f), root));
    }
  }
  return {};
}

Status restore(TableEditor& now, TableEditor& before) {
  auto restorable = [](const std::string& c) { return ours(c) && c != kUserChain; };
  std::vector<ChainSpec> wanted;
  for (const std::string& c : before.chains()) {
    if (!restorable(c)) continue;
    auto rules = CNM_VALUE(before.rules(c));
    for (const Rule& r : rules) {
      if (!r.other.empty())
        return fail(Code::kFailed, "restore chain {}: cannot rebuild \"{}\"", c, render(r));
    }
    wanted.push_back({Table::kFilter, c, std::move(rules), ""});
    if (!now.has_chain(c)) CNM_TRY(now.create_chain(c));  // before any rule jumps to it
  }
  for (const ChainSpec& s : wanted) CNM_TRY(sync_rules(now, s));
  for (const std::string& c : now.chains()) {
    if (restorable(c) && !before.has_chain(c))
      CNM_TRY(remove_chain(now, {Table::kFilter, c, {}, ""}));
  }
  return {};
}

Result<std::vector<std::string>> dump(const AllTables& t) {
  std::vector<std::string> out;
  for (Family f : kFamilies) {
    for (Table table : kTables) {
      if (f == Family::kV6 && table == Table::kRaw) continue;          // netctl has nothing there
      if (f == Family::kV6 && t[slot(f, table)] == nullptr) continue;  // a host without IPv6
      CNM_TRY(dump_table(*t[slot(f, table)], table_label(f, table), out));
    }
  }
  return out;
}

}  // namespace cnm::kernel::fw

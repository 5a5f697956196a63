// xtables_drift: doctor's and gc's comparison for the xtables layout (cnm/kernel/firewall.h),
// limited to what the firewall's root owns.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "cnm/kernel/firewall.h"

namespace cnm::kernel {
namespace {

// Dump lines keyed by table where lines could be mistaken for each other's: those of the IPv6
// tables read "[filter6] -A ...", IPv4 ones unprefixed. Table headers go.
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

// A keyed line taken apart: its table prefix ("" or "[filter6] "), the chain it makes or adds
// to, and the target of an "-A" line.
struct DumpLine {
  std::string prefix, chain, target;
};

DumpLine parse_line(const std::string& l) {
  DumpLine out;
  std::string line = l;
  if (l.starts_with("[")) {
    size_t end = l.find("] ") + 2;
    out.prefix = l.substr(0, end);
    line = l.substr(end);
  }
  std::string rest = line.substr(std::min(line.size(), size_t{3}));  // after "-N " or "-A "
  out.chain = rest.substr(0, rest.find(' '));
  if (line.starts_with("-A ")) {
    if (auto at = line.rfind(" -j "); at != std::string::npos) {
      std::string t = line.substr(at + 4);
      out.target = t.substr(0, t.find(' '));
    }
  }
  return out;
}

// Top-level chains are created on first use and never removed: with no network left (in a
// family), they and the jumps into them are no drift.
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

// The id12 of the per-network chain a line names ("-N NETCTL-M-<id12>", "-j NETCTL-N-<id12>"),
// or "".
std::string network_of(const std::string& l) {
  for (const char* prefix : {"NETCTL-N-", "NETCTL-M-", "NETCTL-I-"})
    if (auto at = l.find(prefix); at != std::string::npos) {
      auto id = l.substr(at + 9);
      return id.substr(0, id.find(' '));
    }
  return "";
}

// What one root owns among dump lines: its own chains, its jumps into them from the shared
// chains, and the per-network chains its F or P chain jumps to (in the dump or in the desired
// state).
class Owned {
 public:
  Owned(const std::string& root, const std::set<std::string>& have,
        const std::set<std::string>& should) {
    for (char kind : {'S', 'T', 'F', 'D', 'P'})
      mine_.insert(fmt::format("NETCTL-{}-{}", kind, root));
    for (const auto* lines : {&have, &should}) {
      for (const auto& l : *lines) {
        DumpLine d = parse_line(l);
        bool from_root = d.chain == fmt::format("NETCTL-F-{}", root) ||
                         d.chain == fmt::format("NETCTL-P-{}", root);
        if (from_root && !d.target.empty()) networks_.insert(d.prefix + d.target);
      }
    }
  }
  bool owns(const std::string& l) const {
    DumpLine d = parse_line(l);
    return mine_.contains(d.chain) || mine_.contains(d.target) ||
           networks_.contains(d.prefix + d.chain);
  }
  // The keyed per-network chains the root's own chains jump to.
  const std::set<std::string>& networks() const { return networks_; }

 private:
  std::set<std::string> mine_, networks_;
};

}  // namespace

Result<FirewallDrift> xtables_drift(Firewall& fw, const FirewallChange& want) {
  auto mem = make_memory_firewall(fw.root_id());
  CNM_TRY(mem->apply(want));
  auto expected = CNM_VALUE(mem->dump());
  auto actual = CNM_VALUE(fw.dump());
  std::set<std::string> have = keyed(actual), should = keyed(expected);
  // The top-level chains and hooks are made with the first network of a family: before it, on a
  // fresh host, their absence is no drift.
  bool wants4 = !want.add_networks.empty() || !want.add_ports.empty();
  bool wants6 = std::any_of(want.add_networks.begin(), want.add_networks.end(),
                            [](const NetworkRules& n) { return n.subnet6.has_value(); });
  FirewallDrift d;
  for (const auto& l : should)
    if (!have.contains(l) && (!infrastructure(l) || (l.starts_with("[") ? wants6 : wants4)))
      d.missing.push_back(l);
  std::set<std::string> wanted_ids;
  for (const auto& n : want.add_networks) wanted_ids.insert(n.id12);
  Owned owned(fw.root_id(), have, should);
  std::set<std::string> stale;
  for (const auto& l : have) {  // the admin's own chain is theirs, other roots' are theirs
    if (should.contains(l) || l.find("NETCTL-USER") != std::string::npos || infrastructure(l) ||
        !owned.owns(l))
      continue;
    d.foreign.push_back(l);
    d.foreign_v6 = d.foreign_v6 || l.starts_with("[");
    if (auto id = network_of(l); !id.empty() && !wanted_ids.contains(id)) stale.insert(id);
  }
  d.foreign_networks.assign(stale.begin(), stale.end());
  return d;
}

}  // namespace cnm::kernel

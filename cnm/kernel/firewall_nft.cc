// Firewall over nftables (libnftnl, libmnl): root r's whole state in `table inet netctl-<r>`
// (layout: firewall_nft_plan.h). One apply reads only what the change needs (the table's chain
// list for network and isolation changes, the isolation chain when one family's bridges change,
// one lookup per removed element, every element for exact_ports) and sends one batch: the kernel
// applies all of it or nothing. Publishing touches neither the rules nor the other elements.
#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "cnm/kernel/firewall.h"
#include "cnm/kernel/firewall_nft_netlink.h"
#include "cnm/kernel/firewall_nft_plan.h"
#include "cnm/kernel/firewall_plan.h"

namespace cnm::kernel {
namespace {

using nft::Batch;
using nft::Element;
using nft::KernelTable;
using nft::Socket;

using ElemsByMap = std::map<std::string, std::vector<const Element*>>;

void refill(Batch& b, const std::string& t, const std::string& chain,
            const std::vector<nft::Rule>& rules) {
  b.flush_chain(t, chain);
  for (const nft::Rule& r : rules) b.add_rule(t, chain, r);
}

// The table, its fixed chains and maps, made when missing (re-adding an existing chain costs the
// kernel a grace period, and a publish must stay cheap). A new fixed chain gets its fixed rules;
// with `rewrite` (network and isolation changes, which gc applies) the nat hooks' rules are
// rewritten.
void base(Batch& b, const std::string& t, const std::string& root, const KernelTable& k,
          bool rewrite) {
  if (!k.exists) b.add_table(t);
  for (const char* map : nft::kMaps)
    if (std::find(k.maps.begin(), k.maps.end(), map) == k.maps.end()) b.add_map(t, map);
  for (const nft::Chain& c : nft::fixed_chains(root)) {
    bool have = std::any_of(k.chains.begin(), k.chains.end(),
                            [&](const auto& kc) { return kc.first == c.name; });
    if (!have) b.add_chain(t, c.name, c.hook);
    bool nat_hook = c.name == nft::kPublished || c.name == "prerouting" || c.name == "output";
    if (!have && !c.rules.empty()) {
      for (const nft::Rule& r : c.rules) b.add_rule(t, c.name, r);
    } else if (rewrite && nat_hook) {
      refill(b, t, c.name, c.rules);
    }
  }
}

std::vector<Element> all_elements(const std::vector<EndpointPorts>& eps) {
  std::vector<Element> out;
  for (const EndpointPorts& e : eps)
    for (Element& el : nft::elements(e)) out.push_back(std::move(el));
  return out;
}

bool contains(const std::vector<Element>& v, const Element& e) {
  return std::find(v.begin(), v.end(), e) != v.end();
}

// Element removals (those held with their data; with exact_ports every element not added), then
// additions.
Status ports(const FirewallChange& c, Socket& s, Batch& b, const std::string& t,
             const KernelTable& k, std::vector<Element>& keep, std::vector<Element>& gone) {
  keep = all_elements(c.add_ports);
  gone = all_elements(c.remove_ports);
  std::erase_if(gone, [&](const Element& e) { return contains(keep, e); });
  std::vector<const Element*> asked;
  for (const Element& e : gone) asked.push_back(&e);
  auto held = CNM_VALUE(nft::held(s, t, asked));
  ElemsByMap del, add;
  for (const Element* e : held) del[e->map].push_back(e);
  if (c.exact_ports) {
    for (const Element& e : k.elements)
      if (!contains(keep, e) && (c.ipv6 || !nft::map_type(e.map).v6) && !contains(gone, e))
        del[e.map].push_back(&e);
  }
  for (const Element& e : keep) add[e.map].push_back(&e);
  for (const auto& [map, elems] : del) b.delete_elements(t, map, elems);
  for (const auto& [map, elems] : add) b.add_elements(t, map, elems);
  return {};
}

// Network chains: added ones created or rewritten, removed ones (and unused I chains) dropped
// after the jumps into them are rewritten.
void networks(const FirewallChange& c, Batch& b, const std::string& t, const std::string& root,
              const KernelTable& k) {
  std::set<std::string> have;
  for (const auto& [name, hook] : k.chains)
    if (!nft::network_of(name).empty()) have.insert(name);
  std::set<std::string> drop, wanted;
  for (const std::string& id : c.remove_networks)
    for (const std::string& name : nft::network_chain_names(id)) drop.insert(name);
  for (const NetworkRules& n : c.add_networks) {
    for (const std::string& name : nft::network_chain_names(n.id12)) drop.insert(name);
    for (const nft::Chain& ch : nft::network_chains(n, root)) {
      wanted.insert(ch.name);
      b.add_chain(t, ch.name);
      refill(b, t, ch.name, ch.rules);
    }
  }
  std::vector<std::string> after;
  for (const std::string& name : have)
    if (!drop.contains(name) || wanted.contains(name)) after.push_back(name);
  for (const std::string& name : wanted)
    if (!have.contains(name)) after.push_back(name);
  refill(b, t, nft::kForward, nft::forward_rules(after, root));
  refill(b, t, nft::kPostrouting, nft::postrouting_rules(after, root));
  for (const nft::Chain& ch : nft::fixed_chains(root))
    if (ch.name == nft::kRaw) refill(b, t, ch.name, ch.rules);
  for (const std::string& name : drop) {
    if (!have.contains(name) || wanted.contains(name)) continue;
    b.flush_chain(t, name);
    b.delete_chain(t, name);
  }
}

// isolation and isolation-t from the bridges of both families: those the change sets, the
// others as the isolation chain's comments say.
void isolation(const FirewallChange& c, Batch& b, const std::string& t, const std::string& root,
               const KernelTable& k) {
  std::vector<std::string> v4, v6;
  for (const KernelTable::RuleRow& r : k.rules) {
    if (r.chain != nft::kIsolation) continue;
    if (auto tag = nft::isolation_tag(r.comment)) (tag->first ? v6 : v4).push_back(tag->second);
  }
  if (c.bridges) v4 = *c.bridges;
  if (c.bridges6) v6 = *c.bridges6;
  auto [s, tt] = nft::isolation_rules(v4, v6, root);
  refill(b, t, nft::kIsolation, s);
  refill(b, t, nft::kIsolationT, tt);
}

// dump() lines of a plan: the same words as for the kernel's table.
std::vector<std::string> render(const nft::Plan& p, const std::string& root) {
  std::string t = nft::table_name(root);
  std::vector<std::string> chains, rules, maps, elems;
  for (const nft::Chain& c : p.chains) {
    chains.push_back(nft::chain_text(c.name, c.hook));
    for (const nft::Rule& r : c.rules)
      rules.push_back(
          fmt::format("rule {} {}", c.name, nft::rule_text(nft::make_rule(t, c.name, r).get())));
  }
  for (const char* m : nft::kMaps) maps.push_back(std::string("map ") + m);
  for (const Element& e : p.elements) elems.push_back("element " + nft::render(e));
  std::vector<std::string> out{"table inet " + t};
  for (auto* part : {&chains, &rules, &maps, &elems})
    out.insert(out.end(), part->begin(), part->end());
  return out;
}

std::string network_in(const std::string& line) {
  for (const char* kind : {"N-", "I-", "M-"}) {
    for (const char* before : {"chain ", "rule ", "jump -> "}) {
      auto at = line.find(std::string(before) + kind);
      if (at == std::string::npos) continue;
      std::string rest = line.substr(at + std::strlen(before) + 2);
      return rest.substr(0, rest.find_first_of(" ]"));
    }
  }
  return "";
}

class NftFirewall final : public Firewall {
 public:
  explicit NftFirewall(std::string root_id) : root_id_(std::move(root_id)) {}
  const std::string& root_id() const override { return root_id_; }

  Status apply(const FirewallChange& c) override {
    CNM_TRY(fw::check_root_id(root_id_));
    CNM_TRY(fw::validate(c));
    std::optional<Status> fast = publish_only(c);
    Status st = fast ? *fast : Status{};
    if (!fast) {
      auto sock = CNM_VALUE(socket());
      st = apply_with(*sock, c);
    }
    if (!st) sock_.reset();  // a fresh socket next time, with nothing unread in it
    return st;
  }

  Result<std::vector<std::string>> dump() override {
    CNM_TRY(fw::check_root_id(root_id_));
    auto sock = CNM_VALUE(socket());
    auto k = nft::read_table(*sock, nft::table_name(root_id_), std::string(), true);
    if (!k) {
      sock_.reset();
      return std::unexpected(k.error());
    }
    return lines(*k);
  }

  Result<FirewallDrift> drift(const FirewallChange& want) override {
    CNM_TRY(fw::check_root_id(root_id_));
    CNM_TRY(fw::validate(want));
    auto lines = CNM_VALUE(dump());
    std::vector<std::string> expected = render(nft::plan(want, root_id_), root_id_);
    std::vector<std::string> fixed = render(nft::plan(FirewallChange{}, root_id_), root_id_);
    std::set<std::string> have(lines.begin(), lines.end()),
        should(expected.begin(), expected.end());
    std::set<std::string> infra(fixed.begin(), fixed.end());
    bool wants = !want.add_networks.empty() || !want.add_ports.empty();
    std::set<std::string> wanted_ids;
    for (const NetworkRules& n : want.add_networks) wanted_ids.insert(n.id12);
    FirewallDrift d;
    for (const std::string& l : should)
      if (!have.contains(l) && (wants || !infra.contains(l))) d.missing.push_back(l);
    std::set<std::string> stale;
    for (const std::string& l : have) {
      if (should.contains(l) || infra.contains(l) || l.starts_with("rule user ")) continue;
      d.foreign.push_back(l);
      d.foreign_v6 = d.foreign_v6 || l.starts_with("element ports6") ||
                     l.find("cmp eq reg 1 0x0000000a") != std::string::npos;
      if (auto id = network_in(l); !id.empty() && !wanted_ids.contains(id)) stale.insert(id);
    }
    d.foreign_networks.assign(stale.begin(), stale.end());
    return d;
  }

 private:
  // One socket for the firewall's life: closing a netfilter socket waits for the kernel to free
  // what the last batch deleted (an RCU grace period, ~10 ms), so an unpublish would pay it.
  Result<Socket*> socket() {
    if (!sock_) sock_.emplace(CNM_VALUE(Socket::open()));
    return &*sock_;
  }

  // A publish alone (only additions of ports): its elements in one batch, nothing read first.
  // nullopt when the change is something else, or when that batch found the table or a map missing
  // (ENOENT fails it as a whole): the full path then makes them. Removals always take the full
  // path: an element is deleted only when the kernel holds it with the data the caller names.
  std::optional<Status> publish_only(const FirewallChange& c) {
    if (!c.add_networks.empty() || !c.remove_networks.empty() || !c.remove_ports.empty() ||
        c.exact_ports || c.bridges || c.bridges6 || c.add_ports.empty())
      return std::nullopt;
    auto sock = socket();
    if (!sock) return Status(std::unexpected(sock.error()));
    std::vector<Element> keep = all_elements(c.add_ports);
    ElemsByMap add;
    for (const Element& e : keep) add[e.map].push_back(&e);
    Batch b(**sock);
    for (const auto& [map, elems] : add) b.add_elements(nft::table_name(root_id_), map, elems);
    Status st = (*sock)->commit(b);
    if (st || st.error().code == Code::kConflict) return st;
    sock_.reset();  // a fresh socket for the full path, with nothing of this batch unread
    return std::nullopt;
  }

  Status apply_with(Socket& sock, const FirewallChange& c) {
    std::string t = nft::table_name(root_id_);
    bool nets = !c.add_networks.empty() || !c.remove_networks.empty();
    bool iso = c.bridges || c.bridges6;
    std::optional<std::string> rules;
    if (c.bridges.has_value() != c.bridges6.has_value()) rules = nft::kIsolation;
    auto k = CNM_VALUE(nft::read_table(sock, t, rules, c.exact_ports));
    Batch b(sock);
    base(b, t, root_id_, k, nets || iso);
    std::vector<Element> keep, gone;  // the batch points into them until the commit
    CNM_TRY(ports(c, sock, b, t, k, keep, gone));
    if (nets || iso) networks(c, b, t, root_id_, k);
    if (iso) isolation(c, b, t, root_id_, k);
    return sock.commit(b);
  }

  std::vector<std::string> lines(KernelTable& k) {
    std::string t = nft::table_name(root_id_);
    std::vector<std::string> out;
    if (!k.exists) return out;
    out.push_back("table inet " + t);
    std::sort(k.chains.begin(), k.chains.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [name, hook] : k.chains) out.push_back(nft::chain_text(name, hook));
    for (const auto& [name, hook] : k.chains)
      for (const KernelTable::RuleRow& r : k.rules)
        if (r.chain == name) out.push_back(fmt::format("rule {} {}", name, r.text));
    std::sort(k.maps.begin(), k.maps.end());
    for (const std::string& m : k.maps) out.push_back("map " + m);
    std::vector<std::string> elems;
    for (const Element& e : k.elements) elems.push_back("element " + nft::render(e));
    std::sort(elems.begin(), elems.end());
    out.insert(out.end(), elems.begin(), elems.end());
    return out;
  }

  std::string root_id_;
  std::optional<Socket> sock_;
};

}  // namespace

std::unique_ptr<Firewall> make_nft_firewall(const std::string& root_id) {
  return std::make_unique<NftFirewall>(root_id);
}

Status remove_nft_table(const std::string& root_id) {
  CNM_TRY(fw::check_root_id(root_id));
  auto sock = CNM_VALUE(Socket::open());
  std::string t = nft::table_name(root_id);
  auto k = CNM_VALUE(nft::read_table(sock, t, std::nullopt, false));
  if (!k.exists) return {};
  Batch b(sock);
  b.delete_table(t);
  return sock.commit(b);
}

}  // namespace cnm::kernel

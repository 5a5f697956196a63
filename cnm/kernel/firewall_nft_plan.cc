#include "cnm/kernel/firewall_nft_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace cnm::kernel::nft {
namespace {

// nft's datatype ids (a concatenation: each id shifted in by 6 bits).
constexpr uint32_t kTypeIp4 = 7, kTypeIp6 = 8, kTypeProto = 12, kTypeService = 13;
constexpr uint32_t kStateEstablished = 2, kStateRelated = 4;  // NF_CT_STATE_BIT

constexpr uint32_t concat(std::initializer_list<uint32_t> ids) {
  uint32_t out = 0;
  for (uint32_t id : ids) out = (out << 6) | id;
  return out;
}

Rule iface(const std::string& in, bool not_in, const std::string& out, bool not_out, Verdict v,
           const std::string& comment) {
  Rule r;
  r.iif = in;
  r.not_iif = not_in;
  r.oif = out;
  r.not_oif = not_out;
  r.verdict = v;
  r.comment = comment;
  return r;
}

Rule jump_to(const std::string& chain, const std::string& comment) {
  Rule r;
  r.verdict = Verdict::kJump;
  r.target = chain;
  r.comment = comment;
  return r;
}

Prefix subnet_of(const Prefix& p) { return Prefix(p.network(), p.len()); }

// A filter chain's rules for network `n` in one family (N or I): IPv4-only networks match IPv4.
std::vector<Rule> filter_rules(const NetworkRules& n, bool inbound, const std::string& c) {
  const std::string& br = n.bridge;
  std::vector<Rule> out;
  if (!inbound) {
    Rule established = iface("", false, br, false, Verdict::kAccept, c);
    established.ct_state = kStateRelated | kStateEstablished;
    out.push_back(established);
    if (n.internal) {
      out.push_back(iface(br, false, br, true, Verdict::kDrop, c));
      out.push_back(iface(br, true, br, false, Verdict::kDrop, c));
    } else {
      out.push_back(iface(br, false, br, true, Verdict::kAccept, c));
    }
    if (n.icc) out.push_back(iface(br, false, br, false, Verdict::kAccept, c));
    Rule published = iface("", false, br, false, Verdict::kAccept, c);
    published.ct_dnat = true;
    out.push_back(published);
  } else {
    if (!n.internal && n.masquerade) out.push_back(iface(br, true, br, false, Verdict::kDrop, c));
    if (!n.icc) out.push_back(iface(br, false, br, false, Verdict::kDrop, c));
  }
  if (!n.subnet6)
    for (Rule& r : out) r.family = L3::kV4;
  return out;
}

void masquerade_rules(const NetworkRules& n, const Prefix& subnet, std::vector<Rule>& out,
                      const std::string& c) {
  const std::string& br = n.bridge;
  if (!n.internal && n.masquerade) {
    Rule egress = iface("", false, br, true, Verdict::kMasquerade, c);
    egress.saddr = subnet_of(subnet);
    out.push_back(egress);
  }
  if (!subnet.is_v6()) {  // localhost access (route_localnet); IPv6 has nothing from ::1
    Rule local = iface("", false, br, false, Verdict::kMasquerade, c);
    local.saddr = Prefix(IpAddr::v4(0x7f000000), 8);
    out.push_back(local);
  }
  Rule hairpin = iface("", false, br, false, Verdict::kMasquerade, c);
  hairpin.saddr = subnet_of(subnet);
  hairpin.ct_dnat = true;
  out.push_back(hairpin);
}

int rank(const std::string& chain) { return chain.starts_with("I-") ? 1 : 0; }

void sort_chains(std::vector<std::string>& chains) {
  std::sort(chains.begin(), chains.end(), [](const std::string& a, const std::string& b) {
    return std::pair(rank(a), a) < std::pair(rank(b), b);
  });
  chains.erase(std::unique(chains.begin(), chains.end()), chains.end());
}

std::string bytes_of(const IpAddr& a) {
  auto b = a.bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), a.is_v6() ? 16 : 4);
}

// A 4-byte register slot holding `n` bytes in network order.
std::string slot(uint32_t value, int n) {
  std::string out(4, '\0');
  for (int i = 0; i < n; ++i) out[i] = static_cast<char>(value >> (8 * (n - 1 - i)));
  return out;
}

uint8_t proto_number(Proto p) {
  switch (p) {
    case Proto::kTcp:
      return 6;
    case Proto::kUdp:
      return 17;
    case Proto::kSctp:
      return 132;
  }
  return 0;
}

std::string proto_text(uint8_t n) {
  if (n == 6) return "tcp";
  if (n == 17) return "udp";
  if (n == 132) return "sctp";
  return std::to_string(n);
}

uint32_t read(const std::string& s, size_t at, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n && at + i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

std::string addr_text(const std::string& s, size_t at, bool v6) {
  if (s.size() < at + (v6 ? 16 : 4)) return "?";
  u128 value = 0;
  for (int i = 0; i < (v6 ? 16 : 4); ++i) value = (value << 8) | static_cast<uint8_t>(s[at + i]);
  return IpAddr::from_value(v6, value).str();
}

}  // namespace

MapType map_type(const std::string& map) {
  bool v6 = map.starts_with("ports6"), host = map.ends_with("h");
  uint32_t addr = v6 ? kTypeIp6 : kTypeIp4, alen = v6 ? 16 : 4;
  uint32_t key =
      host ? concat({addr, kTypeProto, kTypeService}) : concat({kTypeProto, kTypeService});
  return {key, (host ? alen : 0) + 8, concat({addr, kTypeService}), alen + 4, v6};
}

std::string table_name(const std::string& root_id) { return "netctl-" + root_id; }
std::string tag(const std::string& root_id) { return "netctl:" + root_id; }

std::vector<Chain> fixed_chains(const std::string& root_id) {
  std::string c = tag(root_id);
  Rule local = jump_to(kPublished, c);
  local.fib_local = true;
  Chain published{kPublished, std::nullopt, {}};
  for (const char* map : kMaps) {
    Rule d;
    d.family = map_type(map).v6 ? L3::kV6 : L3::kV4;
    d.verdict = Verdict::kDnatMap;
    d.target = map;
    d.comment = c;
    published.rules.push_back(d);
  }
  std::swap(published.rules[0], published.rules[1]);  // host-address maps first
  std::swap(published.rules[2], published.rules[3]);
  Rule guard = iface("lo", true, "", false, Verdict::kDrop, c);
  guard.daddr = Prefix(IpAddr::v4(0x7f000000), 8);
  return {{kForward, Hook{"filter", "forward", 0}, {}},
          {kUser, std::nullopt, {}},
          {kIsolation, std::nullopt, {}},
          {kIsolationT, std::nullopt, {}},
          published,
          {"prerouting", Hook{"nat", "prerouting", -100}, {local}},
          {"output", Hook{"nat", "output", -100}, {local}},
          {kPostrouting, Hook{"nat", "postrouting", 100}, {}},
          {kRaw, Hook{"filter", "prerouting", -300}, {guard}}};
}

std::vector<Chain> network_chains(const NetworkRules& n, const std::string& root_id) {
  std::string c = tag(root_id);
  Chain masq{"M-" + n.id12, std::nullopt, {}};
  masquerade_rules(n, n.subnet, masq.rules, c);
  if (n.subnet6) masquerade_rules(n, *n.subnet6, masq.rules, c);
  std::vector<Chain> out{{"N-" + n.id12, std::nullopt, filter_rules(n, false, c)}, std::move(masq)};
  std::vector<Rule> tail = filter_rules(n, true, c);
  if (!tail.empty()) out.push_back({"I-" + n.id12, std::nullopt, std::move(tail)});
  return out;
}

std::vector<std::string> network_chain_names(const std::string& id12) {
  return {"N-" + id12, "I-" + id12, "M-" + id12};
}

std::string network_of(const std::string& chain) {
  if (chain.size() > 2 && chain[1] == '-' &&
      (chain[0] == 'N' || chain[0] == 'I' || chain[0] == 'M'))
    return chain.substr(2);
  return "";
}

std::vector<Rule> forward_rules(std::vector<std::string> chains, const std::string& root_id) {
  std::string c = tag(root_id);
  std::erase_if(chains, [](const std::string& s) { return s.starts_with("M-"); });
  sort_chains(chains);
  std::vector<Rule> out{jump_to(kUser, c), jump_to(kIsolation, c)};
  for (const std::string& s : chains) out.push_back(jump_to(s, c));
  return out;
}

std::vector<Rule> postrouting_rules(std::vector<std::string> chains, const std::string& root_id) {
  std::erase_if(chains, [](const std::string& s) { return !s.starts_with("M-"); });
  sort_chains(chains);
  std::vector<Rule> out;
  for (const std::string& s : chains) out.push_back(jump_to(s, tag(root_id)));
  return out;
}

std::pair<std::vector<Rule>, std::vector<Rule>> isolation_rules(const std::vector<std::string>& v4,
                                                                const std::vector<std::string>& v6,
                                                                const std::string& root_id) {
  std::vector<Rule> s, t;
  if (!v4.empty() || !v6.empty()) {
    Rule published;
    published.ct_dnat = true;
    published.verdict = Verdict::kReturn;
    published.comment = tag(root_id);
    t.push_back(published);
  }
  for (bool six : {false, true}) {
    for (const std::string& b : six ? v6 : v4) {
      std::string c = fmt::format("{} isolation {} {}", tag(root_id), six ? "ipv6" : "ipv4", b);
      Rule out = iface(b, false, b, true, Verdict::kJump, c);
      out.target = kIsolationT;
      out.family = six ? L3::kV6 : L3::kV4;
      s.push_back(out);
      Rule drop = iface("", false, b, false, Verdict::kDrop, tag(root_id));
      drop.family = out.family;
      t.push_back(drop);
    }
  }
  return {s, t};
}

std::optional<std::pair<bool, std::string>> isolation_tag(const std::string& comment) {
  auto at = comment.find(" isolation ipv");
  if (at == std::string::npos || comment.size() < at + 16) return std::nullopt;
  return std::pair(comment[at + 14] == '6', comment.substr(at + 16));
}

std::vector<Element> elements(const EndpointPorts& e) {
  std::vector<Element> out;
  for (const PortMapping& m : e.ports) {
    for (bool six : {false, true}) {
      if (m.host_ip && m.host_ip->is_v6() != six) continue;
      if (six && !e.container_ip6) continue;
      bool host = m.host_ip && m.host_ip->value() != 0;
      std::string map = std::string(six ? "ports6" : "ports4") + (host ? "h" : "");
      const IpAddr& to = six ? *e.container_ip6 : e.container_ip;
      for (unsigned i = 0; i < m.count; ++i) {
        Element el{map, host ? bytes_of(*m.host_ip) : "", bytes_of(to)};
        el.key += slot(proto_number(m.proto), 1) + slot(m.host_port + i, 2);
        el.data += slot(m.container_port + i, 2);
        if (std::find(out.begin(), out.end(), el) == out.end()) out.push_back(std::move(el));
      }
    }
  }
  return out;
}

std::string render(const Element& e) {
  MapType t = map_type(e.map);
  size_t alen = t.v6 ? 16 : 4, at = 0;
  std::string out = e.map + " ";
  if (e.map.ends_with("h")) {
    out += addr_text(e.key, 0, t.v6) + " ";
    at = alen;
  }
  out += fmt::format("{} {} -> {} {}", proto_text(static_cast<uint8_t>(read(e.key, at, 1))),
                     read(e.key, at + 4, 2), addr_text(e.data, 0, t.v6), read(e.data, alen, 2));
  if (e.key.size() != t.key_len || e.data.size() != t.data_len) out += " (malformed)";
  return out;
}

Plan plan(const FirewallChange& want, const std::string& root_id) {
  Plan out;
  out.chains = fixed_chains(root_id);
  auto find = [&](const char* name) -> Chain& {
    return *std::find_if(out.chains.begin(), out.chains.end(),
                         [&](const Chain& c) { return c.name == name; });
  };
  std::vector<std::string> names;
  for (const NetworkRules& n : want.add_networks) {
    for (Chain& c : network_chains(n, root_id)) {
      names.push_back(c.name);
      out.chains.push_back(std::move(c));
    }
  }
  find(kForward).rules = forward_rules(names, root_id);
  find(kPostrouting).rules = postrouting_rules(names, root_id);
  auto [s, t] = isolation_rules(want.bridges.value_or(std::vector<std::string>{}),
                                want.bridges6.value_or(std::vector<std::string>{}), root_id);
  find(kIsolation).rules = s;
  find(kIsolationT).rules = t;
  std::set<Element> all;
  for (const EndpointPorts& e : want.add_ports)
    for (Element& el : elements(e)) all.insert(std::move(el));
  out.elements.assign(all.begin(), all.end());
  return out;
}

}  // namespace cnm::kernel::nft

#include "cnm/kernel/firewall_plan.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace cnm::kernel::fw {
namespace {

constexpr size_t kMaxId = 12;
constexpr size_t kMaxIfname = 15;  // IFNAMSIZ - 1
constexpr unsigned kMaxPort = 65535;

bool valid_id(const std::string& id) {
  return !id.empty() && id.size() <= kMaxId &&
         std::all_of(id.begin(), id.end(), [](unsigned char ch) { return std::isalnum(ch); });
}

// What the kernel accepts as a name, minus a trailing '+' (an iptables wildcard).
bool valid_ifname(const std::string& n) {
  if (n.empty() || n.size() > kMaxIfname || n == "." || n == ".." || n.back() == '+') return false;
  return std::none_of(n.begin(), n.end(), [](unsigned char ch) {
    return ch == '/' || ch == ':' || std::isspace(ch) || std::iscntrl(ch);
  });
}

Status check_id(const std::string& id, const char* what) {
  if (valid_id(id)) return {};
  return fail(Code::kInvalid, "firewall rules for {} \"{}\": id must be 1 to 12 letters or digits",
              what, id);
}

Status check_bridge(const std::string& doing, const std::string& bridge) {
  if (valid_ifname(bridge)) return {};
  return fail(Code::kInvalid, "{}: invalid bridge name \"{}\"", doing, bridge);
}

Status check_network(const NetworkRules& n) {
  CNM_TRY(check_id(n.id12, "network"));
  std::string doing = fmt::format("firewall rules for network {}", n.id12);
  CNM_TRY(check_bridge(doing, n.bridge));
  if (!n.subnet.addr().valid() || n.subnet.is_v6())
    return fail(Code::kInvalid, "{}: subnet must be IPv4", doing);
  if (n.subnet6 && (!n.subnet6->addr().valid() || !n.subnet6->is_v6()))
    return fail(Code::kInvalid, "{}: subnet6 must be IPv6", doing);
  return {};
}

Status check_mapping(const std::string& doing, const PortMapping& m, bool has_v6) {
  if (m.host_ip && !m.host_ip->valid())
    return fail(Code::kInvalid, "{}: invalid host address", doing);
  if (m.host_ip && m.host_ip->is_v6() && !has_v6)
    return fail(Code::kInvalid, "{}: IPv6 host address {} but no IPv6 container address", doing,
                m.host_ip->str());
  if (m.count == 0) return fail(Code::kInvalid, "{}: port count must be at least 1", doing);
  if (m.host_port == 0 || m.container_port == 0)
    return fail(Code::kInvalid, "{}: port 0 cannot be published", doing);
  if (m.host_port + m.count - 1u > kMaxPort || m.container_port + m.count - 1u > kMaxPort)
    return fail(Code::kInvalid, "{}: port range ends past {}", doing, kMaxPort);
  return {};
}

Status check_ports(const EndpointPorts& e) {
  CNM_TRY(check_id(e.id12, "endpoint"));
  std::string doing = fmt::format("publish ports of endpoint {}", e.id12);
  CNM_TRY(check_bridge(doing, e.bridge));
  if (!e.container_ip.valid() || e.container_ip.is_v6())
    return fail(Code::kInvalid, "{}: container address must be IPv4", doing);
  if (e.container_ip6 && (!e.container_ip6->valid() || !e.container_ip6->is_v6()))
    return fail(Code::kInvalid, "{}: container_ip6 must be IPv6", doing);
  if (e.ports.empty()) return fail(Code::kInvalid, "{}: no ports", doing);
  for (const PortMapping& m : e.ports)
    CNM_TRY(check_mapping(doing, m, e.container_ip6.has_value()));
  return {};
}

Status check_bridges(const std::optional<std::vector<std::string>>& bridges, const char* what) {
  if (!bridges) return {};
  std::set<std::string> seen;
  for (const std::string& b : *bridges) {
    CNM_TRY(check_bridge(what, b));
    if (!seen.insert(b).second) return fail(Code::kInvalid, "{}: bridge {} listed twice", what, b);
  }
  return {};
}

// The endpoint's mappings in family `f`, addressed to its address of that family; nullopt when
// none is left.
std::optional<EndpointPorts> ports_in(const EndpointPorts& e, Family f) {
  bool v6 = f == Family::kV6;
  if (v6 && !e.container_ip6) return std::nullopt;
  EndpointPorts out{e.id12, e.bridge, v6 ? *e.container_ip6 : e.container_ip, {}};
  for (const PortMapping& m : e.ports)
    if (!m.host_ip || m.host_ip->is_v6() == v6) out.ports.push_back(m);
  if (out.ports.empty()) return std::nullopt;
  return out;
}

template <class T, class Key>
Status check_unique(const std::vector<T>& items, Key key, const char* what) {
  std::set<std::string> seen;
  for (const T& item : items) {
    const std::string& id = key(item);
    CNM_TRY(check_id(id, what));
    if (!seen.insert(id).second)
      return fail(Code::kInvalid, "firewall change: {} {} listed twice", what, id);
  }
  return {};
}

Rule iface_rule(const std::string& in, bool not_in, const std::string& out, bool not_out,
                const char* target) {
  Rule r;
  r.in = in;
  r.not_in = not_in;
  r.out = out;
  r.not_out = not_out;
  r.target = target;
  return r;
}

void add_unique(std::vector<Rule>& rules, Rule r) {
  if (std::find(rules.begin(), rules.end(), r) == rules.end()) rules.push_back(std::move(r));
}

int rank(const std::string& chain) { return chain.starts_with("NETCTL-I-") ? 1 : 0; }

}  // namespace

Status validate(const FirewallChange& c) {
  auto net_id = [](const NetworkRules& n) -> const std::string& { return n.id12; };
  auto ep_id = [](const EndpointPorts& e) -> const std::string& { return e.id12; };
  auto id = [](const std::string& s) -> const std::string& { return s; };
  CNM_TRY(check_unique(c.add_networks, net_id, "network"));
  CNM_TRY(check_unique(c.remove_networks, id, "network"));
  CNM_TRY(check_unique(c.add_ports, ep_id, "endpoint"));
  CNM_TRY(check_unique(c.remove_ports, ep_id, "endpoint"));
  for (const NetworkRules& n : c.add_networks) CNM_TRY(check_network(n));
  for (const EndpointPorts& e : c.add_ports) CNM_TRY(check_ports(e));
  for (const EndpointPorts& e : c.remove_ports) CNM_TRY(check_ports(e));
  CNM_TRY(check_bridges(c.bridges, "firewall isolation"));
  CNM_TRY(check_bridges(c.bridges6, "firewall isolation (IPv6)"));
  return {};
}

FirewallChange project(const FirewallChange& c, Family f) {
  if (f == Family::kV4) {
    FirewallChange out = c;
    out.add_ports.clear();
    out.remove_ports.clear();
    for (const EndpointPorts& e : c.add_ports)
      if (auto p = ports_in(e, f)) out.add_ports.push_back(std::move(*p));
    for (const EndpointPorts& e : c.remove_ports)
      if (auto p = ports_in(e, f)) out.remove_ports.push_back(std::move(*p));
    out.bridges6.reset();
    return out;
  }
  FirewallChange out;
  for (const NetworkRules& n : c.add_networks) {
    if (!n.subnet6) continue;
    NetworkRules v6 = n;
    v6.subnet = *n.subnet6;
    out.add_networks.push_back(std::move(v6));
  }
  if (c.ipv6) out.remove_networks = c.remove_networks;
  for (const EndpointPorts& e : c.add_ports)
    if (auto p = ports_in(e, f)) out.add_ports.push_back(std::move(*p));
  for (const EndpointPorts& e : c.remove_ports)
    if (auto p = ports_in(e, f)) out.remove_ports.push_back(std::move(*p));
  out.exact_ports = c.exact_ports && c.ipv6;
  out.bridges = c.bridges6;
  return out;
}

bool ipv4_as_is(const FirewallChange& c) {
  auto v6_host = [](const EndpointPorts& e) {
    return std::any_of(e.ports.begin(), e.ports.end(),
                       [](const PortMapping& m) { return m.host_ip && m.host_ip->is_v6(); });
  };
  return std::none_of(c.add_ports.begin(), c.add_ports.end(), v6_host) &&
         std::none_of(c.remove_ports.begin(), c.remove_ports.end(), v6_host);
}

std::array<bool, 3> tables_of(const FirewallChange& c, Family f) {
  bool v6 = f == Family::kV6;
  auto in_family = [&](const std::vector<EndpointPorts>& eps) {
    return std::any_of(eps.begin(), eps.end(), [&](const EndpointPorts& e) {
      if (v6 && !e.container_ip6) return false;
      return std::any_of(e.ports.begin(), e.ports.end(), [&](const PortMapping& m) {
        return !m.host_ip || m.host_ip->is_v6() == v6;
      });
    });
  };
  bool adds = v6 ? std::any_of(c.add_networks.begin(), c.add_networks.end(),
                               [](const NetworkRules& n) { return n.subnet6.has_value(); })
                 : !c.add_networks.empty();
  bool nets = adds || ((!v6 || c.ipv6) && !c.remove_networks.empty());
  bool ports =
      in_family(c.add_ports) || in_family(c.remove_ports) || (c.exact_ports && (!v6 || c.ipv6));
  // Isolation (gc and doctor's desired state set it) reads all of a family's tables, so their
  // top-level chains and hooks are put back even with no network left.
  bool all = nets || (v6 ? c.bridges6.has_value() : c.bridges.has_value());
  return {all, all || ports, all && !v6};
}

Status check_root_id(const std::string& root_id) {
  bool ok = root_id.size() == 8 && std::all_of(root_id.begin(), root_id.end(), [](char ch) {
              return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
            });
  if (ok) return {};
  return fail(Code::kInvalid, "firewall root id \"{}\": must be 8 lowercase hex digits", root_id);
}

RootChains root_chains(const std::string& root_id) {
  return {chain_name('S', root_id), chain_name('T', root_id), chain_name('F', root_id),
          chain_name('D', root_id), chain_name('P', root_id)};
}

std::string chain_name(char kind, const std::string& id12) {
  return fmt::format("{}-{}-{}", kPrefix, kind, id12);
}

Rule jump(const std::string& chain) {
  Rule r;
  r.target = chain;
  return r;
}

std::vector<ChainSpec> network_chains(const NetworkRules& n, const RootChains& r) {
  const std::string& br = n.bridge;
  ChainSpec fwd{Table::kFilter, chain_name('N', n.id12), {}, r.forward};
  Rule established = iface_rule("", false, br, false, "ACCEPT");
  established.ctstate = kCtRelated | kCtEstablished;
  fwd.rules.push_back(established);
  if (n.internal) {
    fwd.rules.push_back(iface_rule(br, false, br, true, "DROP"));
    fwd.rules.push_back(iface_rule(br, true, br, false, "DROP"));
  } else {
    fwd.rules.push_back(iface_rule(br, false, br, true, "ACCEPT"));
  }
  if (n.icc) fwd.rules.push_back(iface_rule(br, false, br, false, "ACCEPT"));
  // Published ports: whatever went through one of their DNATs, from outside or (icc off) from
  // the same bridge. After the internal DROPs: an internal network publishes nothing outward.
  Rule published = iface_rule("", false, br, false, "ACCEPT");
  published.ctstate = kCtDnat;
  fwd.rules.push_back(published);

  ChainSpec masq{Table::kNat, chain_name('M', n.id12), {}, r.postrouting};
  if (!n.internal && n.masquerade) {
    Rule out = iface_rule("", false, br, true, "MASQUERADE");
    out.src = Prefix(n.subnet.network(), n.subnet.len());
    masq.rules.push_back(out);
  }
  // Localhost access to published ports: OUTPUT DNAT keeps the 127.0.0.1 source, which the
  // container could not answer.
  if (!n.subnet.is_v6()) {  // IPv6 has no route_localnet: nothing comes from ::1
    Rule local = iface_rule("", false, br, false, "MASQUERADE");
    local.src = Prefix(IpAddr::v4(0x7f000000), 8);
    masq.rules.push_back(local);
  }
  // A container reaching a published port of its own network (itself included: without this it
  // would get a packet from its own address back) sees the gateway as the source, as with
  // Docker's default userland proxy. One rule per network instead of one per port.
  Rule hairpin = iface_rule("", false, br, false, "MASQUERADE");
  hairpin.src = Prefix(n.subnet.network(), n.subnet.len());
  hairpin.ctstate = kCtDnat;
  masq.rules.push_back(hairpin);

  // After every endpoint's ACCEPTs: behind NAT only published ports are reachable from outside
  // (a neighbour routing to the subnet gets nothing else), and with icc off containers reach each
  // other only through published ports.
  std::vector<Rule> tail;
  if (!n.internal && n.masquerade) tail.push_back(iface_rule(br, true, br, false, "DROP"));
  if (!n.icc) tail.push_back(iface_rule(br, false, br, false, "DROP"));
  std::vector<ChainSpec> out{std::move(fwd), std::move(masq)};
  if (!tail.empty())
    out.push_back({Table::kFilter, chain_name('I', n.id12), std::move(tail), r.forward});
  return out;
}

std::vector<Rule> port_rules(const EndpointPorts& e) {
  std::vector<Rule> out;
  for (const PortMapping& m : e.ports) {
    auto last = [&](uint16_t first) { return static_cast<uint16_t>(first + m.count - 1); };
    Rule d;
    if (m.host_ip && m.host_ip->value() != 0) d.dst = Prefix(*m.host_ip, m.host_ip->bits());
    d.proto = m.proto;
    d.dport_lo = m.host_port;
    d.dport_hi = last(m.host_port);
    d.target = "DNAT";
    d.to_addr = e.container_ip;
    d.to_lo = m.container_port;
    d.to_hi = last(m.container_port);
    if (m.count > 1) d.to_base = m.host_port;  // port-by-port, not any port of the range
    add_unique(out, d);
  }
  return out;
}

std::vector<ChainSpec> network_chain_names(const std::string& id12, const RootChains& r) {
  return {{Table::kFilter, chain_name('N', id12), {}, r.forward},
          {Table::kFilter, chain_name('I', id12), {}, r.forward},
          {Table::kNat, chain_name('M', id12), {}, r.postrouting}};
}

std::vector<ChainSpec> top_chains(Family f) {
  std::vector<ChainSpec> out{{Table::kFilter, kUserChain, {}, ""},
                             {Table::kFilter, kIsolation, {}, ""},
                             {Table::kFilter, kForward, {}, ""},
                             {Table::kNat, kDnat, {}, ""},
                             {Table::kNat, kPostrouting, {}, ""}};
  if (f == Family::kV4) {  // the kernel drops ::1 from anywhere but lo itself
    Rule guard = iface_rule("lo", true, "", false, "DROP");
    guard.dst = Prefix(IpAddr::v4(0x7f000000), 8);
    out.push_back({Table::kRaw, kRaw, {std::move(guard)}, ""});
  }
  return out;
}

std::vector<Hook> hooks(Family f) {
  Rule local = jump(kDnat);
  local.dst_local = true;
  std::vector<Hook> out{
      {Table::kFilter, "FORWARD", {jump(kUserChain), jump(kIsolation), jump(kForward)}, true},
      {Table::kNat, "PREROUTING", {local}, false},
      {Table::kNat, "OUTPUT", {local}, false},
      {Table::kNat, "POSTROUTING", {jump(kPostrouting)}, false}};
  if (f == Family::kV4) out.push_back({Table::kRaw, "PREROUTING", {jump(kRaw)}, false});
  return out;
}

std::vector<ChainSpec> isolation_chains(const std::vector<std::string>& bridges,
                                        const RootChains& r) {
  ChainSpec one{Table::kFilter, r.isolation, {}, kIsolation};
  ChainSpec two{Table::kFilter, r.isolation2, {}, ""};
  if (!bridges.empty()) {
    // Published ports are reachable from every network, as from any other host.
    Rule published = jump("RETURN");
    published.ctstate = kCtDnat;
    two.rules.push_back(published);
  }
  for (const std::string& b : bridges) {
    one.rules.push_back(iface_rule(b, false, b, true, r.isolation2.c_str()));
    two.rules.push_back(iface_rule("", false, b, false, "DROP"));
  }
  return {std::move(two), std::move(one)};
}

size_t jump_index(const std::vector<std::string>& targets, const std::string& child) {
  int r = rank(child);
  auto it = std::find_if(targets.begin(), targets.end(),
                         [&](const std::string& t) { return rank(t) > r; });
  return static_cast<size_t>(it - targets.begin());
}

}  // namespace cnm::kernel::fw

#include "drivers/bridge/rules.h"

#include <algorithm>
#include <cctype>

#include "drivers/bridge/bridge.h"
#include "drivers/bridge/options.h"

namespace drivers {

cnm::kernel::NetworkRules network_rules(const cnm::Network& n) {
  cnm::kernel::NetworkRules r;
  r.id12 = n.id.substr(0, 12);
  r.bridge = n.bridge;
  for (const auto& p : n.pools) {
    if (p.subnet.is_v6())
      r.subnet6 = p.subnet;  // --ipv6: the same chains in the IPv6 tables
    else
      r.subnet = p.subnet;
  }
  auto opts = parse_bridge_options(n.options);  // validated at create: cannot fail here
  r.masquerade = opts ? opts->masquerade : true;
  r.icc = opts ? opts->icc : true;
  r.internal = n.internal;
  return r;
}

cnm::kernel::EndpointPorts endpoint_ports(const cnm::Network& n, const cnm::Endpoint& ep) {
  cnm::kernel::EndpointPorts out;
  out.id12 = ep.id.substr(0, 12);
  out.bridge = n.bridge;
  for (const auto& a : ep.addresses) {
    if (a.is_v6())
      out.container_ip6 = a.addr();  // ports without an IPv4 host address map over IPv6 too
    else
      out.container_ip = a.addr();
  }
  for (const auto& p : ep.ports) {
    cnm::kernel::PortMapping m;
    m.host_ip = p.host_ip;
    m.host_port = p.host_port;
    m.container_port = p.port;
    m.count = p.count;
    m.proto = p.proto == cnm::Proto::kUdp    ? cnm::kernel::Proto::kUdp
              : p.proto == cnm::Proto::kSctp ? cnm::kernel::Proto::kSctp
                                             : cnm::kernel::Proto::kTcp;
    out.ports.push_back(m);
  }
  return out;
}

namespace {

void add_once(std::vector<std::string>& v, const std::string& s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

cnm::Result<std::optional<cnm::IpAddr>> BridgeDriver::default_host_ip(const cnm::Network& n) const {
  std::optional<cnm::IpAddr> out;
  for (const char* k : {"com.docker.network.bridge.host_binding_ipv4", "host_binding_ipv4"})
    if (auto it = n.options.find(k); it != n.options.end()) {
      auto ip = cnm::IpAddr::parse(it->second);
      if (!ip || ip->is_v6())
        return cnm::fail(cnm::Code::kInvalid, "network {}: option {} '{}' is not an IPv4 address",
                         n.name, k, it->second);
      out = *ip;
    }
  return out;
}

std::string BridgeDriver::endpoint_link(const std::string& endpoint_id) const {
  return "nv" + endpoint_id.substr(0, 12);
}

// Exactly the names this driver makes from ids: "nc-" or "nv" and 12 lowercase hex digits. A user's
// "nc-mybridge" or a VPN's "nvpn0" only look alike.
bool BridgeDriver::names_link(std::string_view name) const {
  auto id12 = [](std::string_view s) {
    return s.size() == 12 && std::all_of(s.begin(), s.end(), [](char c) {
             return std::isxdigit(c) && !std::isupper(c);
           });
  };
  return (name.starts_with("nc-") && id12(name.substr(3))) ||
         (name.starts_with("nv") && id12(name.substr(2)));
}

void BridgeDriver::desired(const cnm::Network& n, std::span<const cnm::Endpoint> eps,
                           std::vector<std::string>& links,
                           cnm::kernel::FirewallChange& want) const {
  links.push_back(n.bridge);
  want.add_networks.push_back(network_rules(n));
  if (want.bridges) want.bridges->push_back(n.bridge);
  if (n.ipv6) {  // the IPv6 tables are in play only once there is a dual-stack network
    if (!want.bridges6) want.bridges6.emplace();
    want.bridges6->push_back(n.bridge);
    want.ipv6 = true;
  }
  for (const auto& e : eps) {
    links.push_back(e.host_ifname);
    if (!e.ports.empty()) want.add_ports.push_back(endpoint_ports(n, e));
  }
}

void BridgeDriver::removal(const cnm::Network& n, const cnm::Endpoint* ep,
                           std::vector<std::string>& links, cnm::kernel::FirewallChange& fw) const {
  if (ep == nullptr) {
    add_once(links, n.bridge);
    add_once(fw.remove_networks, n.id.substr(0, 12));
    return;
  }
  add_once(links, ep->host_ifname);
  // Port rules are found by content: the caller's list may hold them already.
  bool listed = std::any_of(fw.remove_ports.begin(), fw.remove_ports.end(),
                            [&](const auto& p) { return p.id12 == ep->id.substr(0, 12); });
  if (!ep->ports.empty() && !listed) fw.remove_ports.push_back(endpoint_ports(n, *ep));
}

}  // namespace drivers

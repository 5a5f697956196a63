#include "drivers/bridge/bridge.h"

#include "cnm/core/intent.h"
#include "cnm/core/txn.h"
#include "cnm/kernel/conntrack.h"
#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/firewall.h"
#include "cnm/kernel/links.h"
#include "drivers/bridge/options.h"
#include "drivers/bridge/rules.h"

namespace drivers {

std::string default_bridge_name(const std::string& network_id) {
  return "nc-" + network_id.substr(0, 12);
}

std::vector<std::string> bridges_of(std::span<const cnm::Network> nets, bool v6_only) {
  std::vector<std::string> out;
  for (const auto& n : nets)
    if (!n.bridge.empty() && (n.ipv6 || !v6_only)) out.push_back(n.bridge);
  return out;
}

namespace {

// A dual-stack bridge needs IPv6 on the host: a kernel booted with ipv6.disable=1 has no
// /proc/sys/net/ipv6, and with default.disable_ipv6=1 the new bridge would refuse its IPv6 address.
cnm::Status host_has_ipv6(cnm::kernel::Sysctl& sysctl) {
  const char* key = "net/ipv6/conf/default/disable_ipv6";
  auto off = sysctl.get(key);
  if (!off)
    return cnm::fail(cnm::Code::kInvalid, "--ipv6: this host has no IPv6 ({})",
                     off.error().message);
  if (*off != "0")
    return cnm::fail(cnm::Code::kInvalid, "--ipv6: IPv6 is disabled on this host ({}={})",
                     "net.ipv6.conf.default.disable_ipv6", *off);
  return {};
}

}  // namespace

cnm::Status BridgeDriver::prepare(cnm::Network& n, std::span<const cnm::Network> existing,
                                  const cnm::DriverDefaults& defaults) const {
  if (n.ipv6) CNM_TRY(host_has_ipv6(*k_.sysctl));
  auto opts = CNM_VALUE(parse_bridge_options(n.options));
  n.bridge = opts.name.empty() ? default_bridge_name(n.id) : opts.name;
  for (const auto& other : existing)
    if (other.bridge == n.bridge)
      return cnm::fail(cnm::Code::kConflict, "bridge {} is already used by network {}", n.bridge,
                       other.name);
  if (n.mtu == 0) n.mtu = opts.mtu.value_or(defaults.mtu);
  return {};
}

cnm::Status BridgeDriver::make_bridge(cnm::Txn& tx, cnm::Network& n) {
  if (parse_bridge_options(n.options)->name == n.bridge) {
    auto link = CNM_VALUE(k_.links->get(n.bridge));
    if (link && !link->ours) return adopt(tx, n, *link);
  }
  std::vector<cnm::Prefix> gateways;
  for (const auto& pool : n.pools) gateways.emplace_back(pool.gateway, pool.subnet.len());
  CNM_TRY(tx.intend(cnm::LinkIntent{n.bridge}));
  CNM_TRY(k_.links->create_bridge(n.bridge, n.mtu, gateways));
  tx.on_undo(cnm::LinkIntent{n.bridge}, [links = k_.links, name = n.bridge] {
    std::string names[] = {name};
    return links->delete_links(names);
  });
  return {};
}

cnm::Status BridgeDriver::adopt(cnm::Txn& tx, cnm::Network& n, const cnm::kernel::LinkInfo& link) {
  if (link.kind != "bridge")
    return cnm::fail(cnm::Code::kConflict, "{} exists and is not a bridge ({})", n.bridge,
                     link.kind.empty() ? "no kind" : link.kind);
  cnm::Network::Adopted a;
  for (const auto& pool : n.pools) {
    cnm::Prefix gw(pool.gateway, pool.subnet.len());
    if (std::find(link.addresses.begin(), link.addresses.end(), gw) == link.addresses.end())
      a.addresses.push_back(gw);
  }
  auto localnet = k_.sysctl->get("net/ipv4/conf/" + n.bridge + "/route_localnet");
  a.route_localnet = !localnet || *localnet != "1";
  cnm::AdoptIntent intent{n.bridge, a.addresses, a.route_localnet};
  n.adopted = std::move(a);
  CNM_TRY(tx.intend(intent));
  tx.on_undo(intent, [this, n] { return give_back(n); });
  return k_.links->add_addresses(n.bridge, intent.addresses);
}

cnm::Status BridgeDriver::give_back(const cnm::Network& n) {
  if (!n.adopted) return {};
  return cnm::give_back(k_, {n.bridge, n.adopted->addresses, n.adopted->route_localnet});
}

cnm::Status BridgeDriver::create(cnm::Txn& tx, cnm::Network& n,
                                 std::span<const cnm::Network> others) {
  CNM_TRY(make_bridge(tx, n));
  // Forwarding is a host setting, turned on like Docker does and never turned off again: other
  // networks and the admin may rely on it. route_localnet belongs to the bridge and goes with it:
  // it lets 127.0.0.1:PORT be DNATed to a container (the raw-table guard keeps it local).
  CNM_TRY(k_.sysctl->set("net/ipv4/ip_forward", "1"));
  if (n.ipv6) CNM_TRY(k_.sysctl->set("net/ipv6/conf/all/forwarding", "1"));
  CNM_TRY(k_.sysctl->set("net/ipv4/conf/" + n.bridge + "/route_localnet", "1"));
  auto id12 = n.id.substr(0, 12);
  auto before = bridges_of(others);
  auto after = before;
  after.push_back(n.bridge);
  CNM_TRY(tx.intend(cnm::FwNetworkIntent{id12}));
  cnm::kernel::FirewallChange c;
  c.add_networks.push_back(network_rules(n));
  c.bridges = after;
  std::optional<std::vector<std::string>> before6;  // IPv6 isolation: dual-stack bridges only
  if (n.ipv6) {
    before6 = bridges_of(others, true);
    c.bridges6 = *before6;
    c.bridges6->push_back(n.bridge);
  }
  CNM_TRY(k_.firewall->apply(c));
  tx.on_undo(cnm::FwNetworkIntent{id12}, [fw = k_.firewall, id12, before, before6] {
    cnm::kernel::FirewallChange undo;
    undo.remove_networks.push_back(id12);
    undo.bridges = before;
    undo.bridges6 = before6;
    undo.ipv6 = before6.has_value();
    return fw->apply(undo);
  });
  return {};
}

cnm::Status BridgeDriver::plan_remove(cnm::Txn& tx, std::span<const cnm::Network> nets) {
  for (const auto& n : nets) {
    CNM_TRY(tx.intend(cnm::FwNetworkIntent{n.id.substr(0, 12)}));
    if (n.adopted)
      CNM_TRY(
          tx.intend(cnm::AdoptIntent{n.bridge, n.adopted->addresses, n.adopted->route_localnet}));
    else
      CNM_TRY(tx.intend(cnm::LinkIntent{n.bridge}));
  }
  return {};
}

cnm::Status BridgeDriver::remove(std::span<const cnm::Network> nets,
                                 std::span<const cnm::Network> remaining) {
  cnm::kernel::FirewallChange c;
  std::vector<std::string> names;
  cnm::Status given;
  for (const auto& n : nets) {
    c.remove_networks.push_back(n.id.substr(0, 12));
    if (n.adopted) {
      if (auto st = give_back(n); !st && given) given = st;
      continue;
    }
    names.push_back(n.bridge);
    c.ipv6 = c.ipv6 || n.ipv6;  // IPv4-only removals leave the IPv6 tables unread
  }
  c.bridges = bridges_of(remaining);
  if (c.ipv6) c.bridges6 = bridges_of(remaining, true);
  auto fw = k_.firewall->apply(c);
  auto links = k_.links->delete_links(names);
  if (!fw) return fw;
  return links ? given : links;
}

cnm::Status BridgeDriver::join(cnm::Txn& tx, const cnm::Network& n, const cnm::Endpoint& ep,
                               std::span<const cnm::IpAddr> gateways) {
  cnm::kernel::EndpointSpec spec;
  spec.host_ifname = ep.host_ifname;
  spec.bridge = n.bridge;
  spec.netns_path = ep.netns_path;
  spec.netns_key = ep.netns_key;  // as resolved: a namespace that changed since is not joined
  spec.ifname = ep.ifname;
  spec.mac = ep.mac;
  spec.mtu = n.mtu;
  spec.addresses = ep.addresses;
  spec.gateways.assign(gateways.begin(), gateways.end());
  spec.hairpin = !ep.ports.empty();  // so it can reach its own published ports
  spec.announce = cnm::needs_announcement(n, ep);
  if (ep.handoff) {  // the peer stays here, bare, for its manager (Endpoint::handoff)
    spec.netns_path = "/proc/self/ns/net";
    spec.addresses.clear();
    spec.gateways.clear();
    spec.announce = false;
  }
  // The pair and the port rules declared in one store write.
  cnm::kernel::EndpointPorts ports;
  if (!ep.ports.empty()) ports = endpoint_ports(n, ep);
  tx.hold();
  CNM_TRY(tx.intend(cnm::LinkIntent{ep.host_ifname}));
  if (!ep.ports.empty()) CNM_TRY(tx.intend(cnm::FwPortsIntent{ports}));
  CNM_TRY(tx.flush());
  CNM_TRY(k_.endpoints->attach(spec));
  tx.on_undo(cnm::LinkIntent{ep.host_ifname}, [links = k_.links, name = ep.host_ifname] {
    std::string names[] = {name};
    return links->delete_links(names);
  });
  if (ep.ports.empty()) return {};
  cnm::kernel::FirewallChange c;
  c.add_ports.push_back(ports);
  CNM_TRY(k_.firewall->apply(c));
  tx.on_undo(cnm::FwPortsIntent{ports}, [fw = k_.firewall, ports] {
    cnm::kernel::FirewallChange undo;
    undo.remove_ports.push_back(ports);
    return fw->apply(undo);
  });
  return forget_flows(ports);
}

// UDP and SCTP flows to these host ports that conntrack still remembers (from before the port was
// published, or from when it pointed elsewhere) would bypass the new DNAT: forget them.
cnm::Status BridgeDriver::forget_flows(const cnm::kernel::EndpointPorts& ports) {
  if (k_.conntrack == nullptr) return {};
  for (const auto& m : ports.ports) {
    if (m.proto == cnm::kernel::Proto::kTcp) continue;
    auto proto = m.proto == cnm::kernel::Proto::kUdp ? cnm::Proto::kUdp : cnm::Proto::kSctp;
    CNM_TRY(k_.conntrack->forget(proto, m.host_ip, m.host_port, m.count));
  }
  return {};
}

cnm::Status BridgeDriver::plan_leave(cnm::Txn& tx, const cnm::Network& n,
                                     std::span<const cnm::Endpoint> eps) {
  for (const auto& ep : eps) {
    if (!ep.ports.empty()) CNM_TRY(tx.intend(cnm::FwPortsIntent{endpoint_ports(n, ep)}));
    CNM_TRY(tx.intend(cnm::LinkIntent{ep.host_ifname}));
  }
  return {};
}

cnm::Status BridgeDriver::leave(const cnm::Network& n, std::span<const cnm::Endpoint> eps) {
  // Deleting the host end deletes the pair; if the namespace died, the pair is already gone.
  cnm::kernel::FirewallChange c;
  std::vector<std::string> names;
  for (const auto& ep : eps) {
    if (!ep.ports.empty()) c.remove_ports.push_back(endpoint_ports(n, ep));
    names.push_back(ep.host_ifname);
  }
  cnm::Status fw;
  if (!c.remove_ports.empty()) fw = k_.firewall->apply(c);
  auto links = k_.links->delete_links(names);
  return fw ? links : fw;
}

}  // namespace drivers

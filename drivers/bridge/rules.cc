#include "drivers/bridge/rules.h"

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

}  // namespace drivers

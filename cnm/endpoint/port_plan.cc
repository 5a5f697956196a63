// EndpointService::plan_ports: published ports of a new endpoint, host ports chosen and checked.
#include <algorithm>
#include <random>

#include "cnm/endpoint/endpoint_service.h"
#include "cnm/kernel/hostports.h"

namespace cnm {
namespace {

std::string port_pool(Proto proto, uint32_t port) {
  return fmt::format("port/{}/{}", proto_name(proto), port);
}

std::string host_key(const PortSpec& p) { return p.host_ip ? p.host_ip->str() : "*"; }

}  // namespace

// "" if host port `port` of `p` is free in the store and on the host, else why not.
Result<std::string> EndpointService::port_taken(const PortSpec& p, uint32_t port,
                                                const std::vector<PortSpec>& chosen) {
  for (const auto& c : chosen)
    if (c.proto == p.proto && port >= c.host_port && port < c.host_port + c.count &&
        (!c.host_ip || !p.host_ip || *c.host_ip == *p.host_ip))
      return fmt::format("host port {}/{} is published twice", port, proto_name(p.proto));
  auto rows = CNM_VALUE(store_.addresses(port_pool(p.proto, port)));
  for (const auto& r : rows)
    if (r == "*" || host_key(p) == "*" || r == host_key(p))
      return fmt::format("host port {}/{} is already published", port, proto_name(p.proto));
  auto who = CNM_VALUE(kernel_.hostports->holder(p.proto, p.host_ip, static_cast<uint16_t>(port)));
  if (!who.empty())
    return fmt::format("host port {}/{} is in use by {}", port, proto_name(p.proto), who);
  return std::string();
}

Result<std::vector<PortSpec>> EndpointService::plan_ports(const ConnectRequest& req,
                                                          const Network& n, const Driver& driver,
                                                          std::vector<store::Batch::Addr>& rows) {
  std::vector<PortSpec> out;
  if (req.publish.empty()) return out;
  if (!driver.can_publish()) return fail(Code::kInvalid, "network {} cannot publish ports", n.name);
  auto default_ip = CNM_VALUE(driver.default_host_ip(n));
  for (const auto& text : req.publish) {
    auto p = *parse_port_spec(text);  // validated before the lock
    if (!p.host_ip) p.host_ip = default_ip;
    if (p.host_ip && p.host_ip->value() == 0 && !p.host_ip->is_v6()) p.host_ip.reset();
    if (p.host_ip && p.host_ip->is_v6() && !n.ipv6)
      return fail(Code::kInvalid, "-p {}: network {} has no IPv6 (create it with --ipv6)", text,
                  n.name);
    if (p.host_port == 0) {
      auto range = CNM_VALUE(kernel_.hostports->ephemeral_range());
      uint32_t size = range.second - range.first + 1;
      uint32_t start = std::random_device{}() % size;
      for (uint32_t i = 0; i < size && p.host_port == 0; ++i) {
        uint32_t port = range.first + (start + i) % size;
        auto why = CNM_VALUE(port_taken(p, port, out));
        if (why.empty()) p.host_port = static_cast<uint16_t>(port);
      }
      if (p.host_port == 0)
        return fail(Code::kConflict, "-p {}: no free host port in {}-{}", text, range.first,
                    range.second);
    } else {
      for (uint32_t port = p.host_port; port < uint32_t{p.host_port} + p.count; ++port) {
        auto why = CNM_VALUE(port_taken(p, port, out));
        if (!why.empty()) return fail(Code::kConflict, "-p {}: {}", text, why);
      }
    }
    for (uint32_t port = p.host_port; port < uint32_t{p.host_port} + p.count; ++port)
      rows.push_back({port_pool(p.proto, port), host_key(p), ""});
    out.push_back(p);
  }
  return out;
}

}  // namespace cnm

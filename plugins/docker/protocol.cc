// Docker's remote driver protocols as pure functions (protocol.h).
#include "plugins/docker/protocol.h"

#include <fmt/format.h>

#include <algorithm>

#include "cnm/model/ports.h"

namespace docker {
namespace {

using nlohmann::json;

// The string member `key` of object `j` ("" when absent or null); another type is kInvalid.
cnm::Result<std::string> str_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return cnm::fail(cnm::Code::kInvalid, "{} is not a string", key);
  return it->get<std::string>();
}

// An object member, or an empty object when absent or null; another type is kInvalid.
cnm::Result<json> obj_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return json::object();
  if (!it->is_object()) return cnm::fail(cnm::Code::kInvalid, "{} is not an object", key);
  return *it;
}

// A boolean option Docker sends as a bool (or the string "true").
bool flag(const json& options, const char* key) {
  auto it = options.find(key);
  if (it == options.end()) return false;
  return it->is_boolean() ? it->get<bool>() : it->is_string() && it->get<std::string>() == "true";
}

// "10.0.0.1/24" or "10.0.0.1" -> the address.
cnm::Result<cnm::IpAddr> bare_addr(const std::string& text) {
  auto slash = text.find('/');
  auto a = cnm::IpAddr::parse(text.substr(0, slash));
  if (!a) return cnm::fail(cnm::Code::kInvalid, "'{}' is not an IP address", text);
  return *a;
}

// Adds one IPAMData list (IPv4Data or IPv6Data) to `req`.
cnm::Status add_ipam_data(const json& body, const char* key, cnm::NetworkCreateRequest& req) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return {};
  if (!it->is_array()) return cnm::fail(cnm::Code::kInvalid, "{} is not a list", key);
  for (const auto& d : *it) {
    if (!d.is_object()) return cnm::fail(cnm::Code::kInvalid, "{} holds a non-object", key);
    auto pool = CNM_VALUE(str_field(d, "Pool"));
    if (pool.empty()) return cnm::fail(cnm::Code::kInvalid, "{} has no Pool", key);
    req.subnets.push_back(pool);
    auto gw = CNM_VALUE(str_field(d, "Gateway"));
    if (!gw.empty()) req.gateways.push_back(CNM_VALUE(bare_addr(gw)).str());
    auto aux = CNM_VALUE(obj_field(d, "AuxAddresses"));
    for (const auto& [name, addr] : aux.items()) {
      if (!addr.is_string()) return cnm::fail(cnm::Code::kInvalid, "aux address {}", name);
      req.aux.push_back(name + "=" + CNM_VALUE(bare_addr(addr.get<std::string>())).str());
    }
  }
  return {};
}

std::string proto_suffix(int proto) {
  switch (proto) {
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 132:
      return "sctp";
    default:
      return "";
  }
}

}  // namespace

cnm::Status check_docker_id(const std::string& what, const std::string& id) {
  bool hex = id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
             });
  if (!hex) return cnm::fail(cnm::Code::kInvalid, "{} '{}' is not a Docker id", what, id);
  return {};
}

std::string network_name(const std::string& nid) { return "docker-" + nid.substr(0, 12); }
std::string endpoint_key(const std::string& eid) { return "docker:" + eid; }
std::string peer_name(const std::string& eid) { return "nd" + eid.substr(0, 12); }

cnm::Result<NetworkPlan> plan_network(const json& body) {
  if (!body.is_object()) return cnm::fail(cnm::Code::kInvalid, "request is not an object");
  auto nid = CNM_VALUE(str_field(body, "NetworkID"));
  CNM_TRY(check_docker_id("NetworkID", nid));
  auto options = CNM_VALUE(obj_field(body, "Options"));
  auto generic = CNM_VALUE(obj_field(options, "com.docker.network.generic"));
  NetworkPlan plan;
  auto& req = plan.create;
  req.name = network_name(nid);
  for (const auto& [key, value] : generic.items()) {
    if (!value.is_string()) return cnm::fail(cnm::Code::kInvalid, "option {} is not a string", key);
    if (key == kOfferOption) {
      plan.offered = value.get<std::string>();
      continue;
    }
    req.options[key] = value.get<std::string>();
  }
  if (!plan.offered.empty() && !req.options.empty())
    return cnm::fail(cnm::Code::kInvalid, "-o {} takes no other -o options", kOfferOption);
  req.ipv6 = flag(options, "com.docker.network.enable_ipv6");
  req.internal = flag(options, "com.docker.network.internal");
  // Docker answers names itself (its embedded DNS): no netctl DNS server for its networks.
  if (!req.options.contains(cnm::kDnsOption)) req.options[cnm::kDnsOption] = "false";
  req.labels[kNetworkLabel] = nid;
  CNM_TRY(add_ipam_data(body, "IPv4Data", req));
  CNM_TRY(add_ipam_data(body, "IPv6Data", req));
  return plan;
}

cnm::Status check_offer(const cnm::Network& n, const json& body) {
  cnm::NetworkCreateRequest given;
  CNM_TRY(add_ipam_data(body, "IPv4Data", given));
  CNM_TRY(add_ipam_data(body, "IPv6Data", given));
  for (const auto& s : given.subnets) {
    bool found = std::any_of(n.pools.begin(), n.pools.end(),
                             [&](const cnm::Pool& p) { return p.subnet.str() == s; });
    if (!found)
      return cnm::fail(cnm::Code::kInvalid, "network {} has no subnet {} (give --subnet {})",
                       n.name, s, n.pools.empty() ? "" : n.pools[0].subnet.str());
  }
  return {};
}

cnm::Result<std::vector<std::string>> port_specs(const json& portmap) {
  std::vector<std::string> out;
  if (portmap.is_null()) return out;
  if (!portmap.is_array()) return cnm::fail(cnm::Code::kInvalid, "portmap is not a list");
  for (const auto& b : portmap) {
    if (!b.is_object()) return cnm::fail(cnm::Code::kInvalid, "portmap holds a non-object");
    auto proto = proto_suffix(b.value("Proto", 0));
    if (proto.empty()) return cnm::fail(cnm::Code::kInvalid, "portmap: unknown protocol");
    auto host_ip = CNM_VALUE(str_field(b, "HostIP"));
    if (host_ip.find(':') != std::string::npos) continue;  // IPv6: netctl publishes on IPv4
    if (host_ip == "0.0.0.0") host_ip.clear();
    int port = b.value("Port", 0), host = b.value("HostPort", 0);
    int end = b.value("HostPortEnd", 0);
    if (port <= 0 || port > 65535 || host < 0 || host > 65535)
      return cnm::fail(cnm::Code::kInvalid, "portmap: bad port");
    std::string host_part = host == 0 ? "" : std::to_string(host);
    if (end > host && host != 0)
      return cnm::fail(cnm::Code::kInvalid, "portmap: host port ranges are not supported");
    std::string spec =
        fmt::format("{}{}:{}/{}", host_ip.empty() ? "" : host_ip + ":", host_part, port, proto);
    if (host_ip.empty() && host == 0) spec = fmt::format("{}/{}", port, proto);
    CNM_TRY(cnm::parse_port_spec(spec));
    if (std::find(out.begin(), out.end(), spec) == out.end()) out.push_back(spec);
  }
  return out;
}

cnm::Result<cnm::ConnectRequest> plan_endpoint(const json& body) {
  if (!body.is_object()) return cnm::fail(cnm::Code::kInvalid, "request is not an object");
  auto eid = CNM_VALUE(str_field(body, "EndpointID"));
  CNM_TRY(check_docker_id("EndpointID", eid));
  auto iface = CNM_VALUE(obj_field(body, "Interface"));
  auto options = CNM_VALUE(obj_field(body, "Options"));
  cnm::ConnectRequest r;
  r.ifname = peer_name(eid);
  auto addr = CNM_VALUE(str_field(iface, "Address"));
  if (!addr.empty()) r.ip = CNM_VALUE(bare_addr(addr)).str();
  auto addr6 = CNM_VALUE(str_field(iface, "AddressIPv6"));
  if (!addr6.empty()) r.ip6 = CNM_VALUE(bare_addr(addr6)).str();
  r.mac = CNM_VALUE(str_field(iface, "MacAddress"));
  auto pm = options.find("com.docker.network.portmap");
  if (pm != options.end()) r.publish = CNM_VALUE(port_specs(*pm));
  return r;
}

json endpoint_response(const json& request_iface, const cnm::Endpoint& ep) {
  json out = json::object();
  auto empty = [&](const char* k) {
    auto it = request_iface.find(k);
    return it == request_iface.end() || !it->is_string() || it->get<std::string>().empty();
  };
  for (const auto& a : ep.addresses) {
    const char* k = a.is_v6() ? "AddressIPv6" : "Address";
    if (empty(k)) out[k] = a.str();
  }
  if (empty("MacAddress")) out["MacAddress"] = ep.mac;
  return {{"Interface", out}};
}

json join_response(const cnm::Network& n, const cnm::Endpoint& ep) {
  json out = {{"InterfaceName", {{"SrcName", ep.ifname}, {"DstPrefix", "eth"}}}};
  if (n.internal) return out;
  for (const auto& p : n.pools) out[p.subnet.is_v6() ? "GatewayIPv6" : "Gateway"] = p.gateway.str();
  return out;
}

namespace {

// The two prefixes of a pool id: "<space>/<cidr>" then, after '|', the range if any.
cnm::Result<std::pair<cnm::Prefix, std::optional<cnm::Prefix>>> split_pool_id(
    const std::string& pool_id) {
  auto slash = pool_id.find('/');
  auto bar = pool_id.find('|');
  auto bad = [&] { return cnm::fail(cnm::Code::kInvalid, "bad pool id {}", pool_id); };
  if (slash == std::string::npos || (bar != std::string::npos && bar < slash)) return bad();
  auto subnet = cnm::Prefix::parse(pool_id.substr(slash + 1, bar - slash - 1));
  if (!subnet) return bad();
  if (bar == std::string::npos) return std::pair{*subnet, std::optional<cnm::Prefix>{}};
  auto range = cnm::Prefix::parse(pool_id.substr(bar + 1));
  if (!range || !subnet->contains(*range)) return bad();
  return std::pair{*subnet, std::optional<cnm::Prefix>{*range}};
}

}  // namespace

cnm::Result<cnm::Prefix> pool_subnet(const std::string& pool_id) {
  return CNM_VALUE(split_pool_id(pool_id)).first;
}

cnm::Result<std::optional<cnm::Prefix>> pool_range(const std::string& pool_id) {
  return CNM_VALUE(split_pool_id(pool_id)).second;
}

bool wants_auto_pool(const json& body) {
  auto it = body.find("Pool");
  return it == body.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty());
}

cnm::Result<json> request_pool(const json& body,
                               const std::vector<std::pair<std::string, cnm::Prefix>>& existing,
                               const std::optional<cnm::Prefix>& chosen) {
  if (!body.is_object()) return cnm::fail(cnm::Code::kInvalid, "request is not an object");
  auto space = CNM_VALUE(str_field(body, "AddressSpace"));
  if (space.empty()) space = kLocalSpace;
  if (space != kLocalSpace && space != kGlobalSpace)
    return cnm::fail(cnm::Code::kInvalid, "unknown address space {}", space);
  auto pool = CNM_VALUE(str_field(body, "Pool"));
  if (pool.empty() && !chosen)
    return cnm::fail(cnm::Code::kInvalid, "netctl IPAM: no subnet given and none chosen");
  auto subnet = pool.empty() ? cnm::Result<cnm::Prefix>(*chosen) : cnm::Prefix::parse(pool);
  if (!subnet)
    return cnm::fail(cnm::Code::kInvalid, "subnet '{}': {}", pool, subnet.error().message);
  if (subnet->is_v6() != body.value("V6", false))
    return cnm::fail(cnm::Code::kInvalid, "subnet {} is not of the family asked", subnet->str());
  for (const auto& [name, p] : existing)
    if (p != *subnet && p.overlaps(*subnet))
      return cnm::fail(cnm::Code::kConflict, "subnet {} overlaps network {} ({})", subnet->str(),
                       name, p.str());
  std::string id = space + "/" + subnet->str();
  if (auto sub = CNM_VALUE(str_field(body, "SubPool")); !sub.empty()) {
    auto range = cnm::Prefix::parse(sub);
    if (!range)
      return cnm::fail(cnm::Code::kInvalid, "ip-range '{}': {}", sub, range.error().message);
    if (!subnet->contains(*range) || range->network() != range->addr())
      return cnm::fail(cnm::Code::kInvalid, "ip-range {} is not a subnet of {}", sub,
                       subnet->str());
    id += "|" + range->str();
  }
  return json{{"PoolID", id}, {"Pool", subnet->str()}, {"Data", json::object()}};
}

cnm::IpAddr first_host(const cnm::Prefix& subnet) {
  auto net = subnet.network();
  return cnm::IpAddr::from_value(net.is_v6(), net.value() + 1);
}

json driver_error(const std::string& msg) { return {{"Err", msg}}; }
json ipam_error(const std::string& msg) { return {{"Error", msg}}; }

}  // namespace docker

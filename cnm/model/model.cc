#include "cnm/model/model.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>

namespace cnm {
namespace {

std::string opt_str(const std::optional<Prefix>& p) { return p ? p->str() : ""; }

Prefix prefix_or_die(const nlohmann::json& j, bool strict) {
  auto p = Prefix::parse(j.get<std::string>(), strict);
  if (!p) throw std::runtime_error(p.error().message);
  return *p;
}

IpAddr addr_or_die(const nlohmann::json& j) {
  auto a = IpAddr::parse(j.get<std::string>());
  if (!a) throw std::runtime_error(a.error().message);
  return *a;
}

}  // namespace

void to_json(nlohmann::json& j, const Pool& p) {
  j = {{"Subnet", p.subnet.str()}, {"Gateway", p.gateway.str()}};
  if (p.ip_range) j["IPRange"] = opt_str(p.ip_range);
  if (!p.aux.empty()) {
    auto& aux = j["AuxiliaryAddresses"] = nlohmann::json::object();
    for (const auto& [k, v] : p.aux) aux[k] = v.str();
  }
}

void from_json(const nlohmann::json& j, Pool& p) {
  p.subnet = prefix_or_die(j.at("Subnet"), true);
  p.gateway = addr_or_die(j.at("Gateway"));
  if (j.contains("IPRange")) p.ip_range = prefix_or_die(j.at("IPRange"), true);
  if (j.contains("AuxiliaryAddresses"))
    for (const auto& [k, v] : j.at("AuxiliaryAddresses").items()) p.aux[k] = addr_or_die(v);
}

void to_json(nlohmann::json& j, const Network& n) {
  j = {{"Name", n.name},        {"Id", n.id},
       {"Created", n.created},  {"Driver", n.driver},
       {"EnableIPv6", n.ipv6},  {"Internal", n.internal},
       {"MTU", n.mtu},          {"IPAM", {{"Driver", "default"}, {"Config", n.pools}}},
       {"Options", n.options},  {"Labels", n.labels},
       {"BridgeName", n.bridge}};
  if (n.derived_macs_only) j["DerivedMacsOnly"] = true;
  if (n.adopted) {
    std::vector<std::string> addrs;
    for (const auto& p : n.adopted->addresses) addrs.push_back(p.str());
    j["Adopted"] = {{"Addresses", addrs}, {"RouteLocalnet", n.adopted->route_localnet}};
  }
}

void from_json(const nlohmann::json& j, Network& n) {
  j.at("Name").get_to(n.name);
  j.at("Id").get_to(n.id);
  j.at("Created").get_to(n.created);
  j.at("Driver").get_to(n.driver);
  j.at("EnableIPv6").get_to(n.ipv6);
  j.at("Internal").get_to(n.internal);
  n.mtu = j.value("MTU", 0u);
  n.pools = j.at("IPAM").at("Config").get<std::vector<Pool>>();
  n.options = j.value("Options", std::map<std::string, std::string>{});
  n.labels = j.value("Labels", std::map<std::string, std::string>{});
  n.bridge = j.value("BridgeName", "");
  n.derived_macs_only = j.value("DerivedMacsOnly", false);
  if (j.contains("Adopted")) {
    const auto& a = j.at("Adopted");
    Network::Adopted adopted;
    for (const auto& p : a.at("Addresses")) adopted.addresses.push_back(prefix_or_die(p, false));
    adopted.route_localnet = a.value("RouteLocalnet", false);
    n.adopted = std::move(adopted);
  }
}

std::string mac_from(const IpAddr& v4) {
  auto b = v4.bytes();
  return fmt::format("02:42:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3]);
}

bool uses_derived_mac(const Endpoint& e) {
  const Prefix* v4 = nullptr;
  for (const auto& a : e.addresses) {
    if (a.is_v6()) return false;
    if (v4 == nullptr) v4 = &a;
  }
  return v4 != nullptr && e.mac == mac_from(v4->addr());
}

bool needs_announcement(const Network& n, const Endpoint& e) {
  return !(n.derived_macs_only && uses_derived_mac(e));
}

bool dns_enabled(const Network& n) {
  if (n.bridge.empty() || !n.has_family(false)) return false;
  auto it = n.options.find(kDnsOption);
  return it == n.options.end() || (it->second != "false" && it->second != "0");
}

std::vector<IpAddr> routed_gateways(const Network& n, const Endpoint& e) {
  std::vector<IpAddr> out;  // pools are IPv4 first, then IPv6
  for (bool v6 : {false, true})
    if (e.routes(v6)) std::ranges::copy(n.gateways(v6), std::back_inserter(out));
  return out;
}

void to_json(nlohmann::json& j, const Endpoint& e) {
  std::vector<std::string> addrs;
  for (const auto& a : e.addresses) addrs.push_back(a.str());
  j = {{"Id", e.id},
       {"NetworkId", e.network_id},
       {"Target", e.target},
       {"SandboxId", e.sandbox_id},
       {"Netns", e.netns_path},
       {"NetnsKey", e.netns_key},
       {"IfName", e.ifname},
       {"HostIfName", e.host_ifname},
       {"MacAddress", e.mac},
       {"Addresses", addrs},
       {"Aliases", e.aliases},
       {"DefaultRoute", e.default_route},
       {"DefaultRoute6", e.default_route6},
       {"Created", e.created},
       {"Ports", nlohmann::json::array()}};
  if (!e.container_id.empty()) j["ContainerId"] = e.container_id;
  if (e.handoff) j["Handoff"] = true;
  if (!e.dns_name.empty()) j["DnsName"] = e.dns_name;
  for (const auto& p : e.ports)
    j["Ports"].push_back({{"HostIp", p.host_ip ? p.host_ip->str() : ""},
                          {"HostPort", p.host_port},
                          {"ContainerPort", p.port},
                          {"Count", p.count},
                          {"Proto", proto_name(p.proto)}});
}

void from_json(const nlohmann::json& j, Endpoint& e) {
  j.at("Id").get_to(e.id);
  j.at("NetworkId").get_to(e.network_id);
  j.at("Target").get_to(e.target);
  j.at("SandboxId").get_to(e.sandbox_id);
  j.at("Netns").get_to(e.netns_path);
  j.at("NetnsKey").get_to(e.netns_key);
  j.at("IfName").get_to(e.ifname);
  j.at("HostIfName").get_to(e.host_ifname);
  j.at("MacAddress").get_to(e.mac);
  e.addresses.clear();
  for (const auto& a : j.at("Addresses")) e.addresses.push_back(prefix_or_die(a, false));
  j.at("Aliases").get_to(e.aliases);
  j.at("DefaultRoute").get_to(e.default_route);
  if (auto v6 = j.find("DefaultRoute6"); v6 != j.end()) {
    v6->get_to(e.default_route6);
  } else {  // a record without DefaultRoute6: its DefaultRoute holds every family it has
    bool any = e.default_route;
    e.default_route = e.default_route6 = false;
    for (const auto& a : e.addresses) e.routes(a.is_v6()) = any;
  }
  e.created = j.value("Created", "");
  e.container_id = j.value("ContainerId", "");
  e.handoff = j.value("Handoff", false);
  e.dns_name = j.value("DnsName", "");
  e.ports.clear();
  for (const auto& p : j.value("Ports", nlohmann::json::array())) {
    PortSpec ps;
    if (auto ip = p.value("HostIp", ""); !ip.empty()) ps.host_ip = addr_or_die(ip);
    ps.host_port = p.at("HostPort").get<uint16_t>();
    ps.port = p.at("ContainerPort").get<uint16_t>();
    ps.count = p.at("Count").get<uint16_t>();
    auto proto = p.at("Proto").get<std::string>();
    ps.proto = proto == "udp" ? Proto::kUdp : proto == "sctp" ? Proto::kSctp : Proto::kTcp;
    e.ports.push_back(ps);
  }
}

void to_json(nlohmann::json& j, const Sandbox& s) {
  j = {{"Id", s.id},
       {"Name", s.name},
       {"Netns", s.netns_path},
       {"NetnsKey", s.netns_key},
       {"Created", s.created}};
}

void from_json(const nlohmann::json& j, Sandbox& s) {
  j.at("Id").get_to(s.id);
  j.at("Name").get_to(s.name);
  j.at("Netns").get_to(s.netns_path);
  s.netns_key = j.value("NetnsKey", "");
  s.created = j.value("Created", "");
}

std::string new_id() {
  unsigned char buf[32];
  // One syscall; 32 bytes from getrandom(2) never come back short once the pool is initialized.
  if (getrandom(buf, sizeof buf, 0) != static_cast<ssize_t>(sizeof buf)) {
    std::random_device rd;
    for (auto& b : buf) b = static_cast<unsigned char>(rd());
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned char b : buf) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

// By calendar arithmetic alone: glibc's gmtime_r, like fmt's chrono formatting, loads the time zone
// from /etc/localtime on its first call (tzset), which a UTC stamp does not need.
std::string rfc3339(std::chrono::system_clock::time_point at) {
  using namespace std::chrono;
  auto day = floor<days>(at);
  year_month_day ymd{day};
  hh_mm_ss<nanoseconds> hms{duration_cast<nanoseconds>(at - day)};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count(),
                     hms.subseconds().count());
}

std::string now_rfc3339() { return rfc3339(std::chrono::system_clock::now()); }

}  // namespace cnm

#include "plugins/cni/result.h"

#include <algorithm>
#include <set>

#include "plugins/cni/config.h"

namespace cni {

static std::string compare_prev_result_unchecked(const nlohmann::json& prev,
                                                 const cnm::Endpoint& ep);

nlohmann::json make_result(const std::string& cni_version, const cnm::Network& n,
                           const cnm::Endpoint& ep) {
  using nlohmann::json;
  bool versioned_ips = compare_versions(cni_version, "1.0.0") < 0;
  json r = {{"cniVersion", cni_version}};
  r["interfaces"] =
      json::array({json{{"name", ep.host_ifname}},
                   json{{"name", ep.ifname}, {"mac", ep.mac}, {"sandbox", ep.netns_path}}});
  r["ips"] = json::array();
  r["routes"] = json::array();
  for (size_t i = 0; i < ep.addresses.size(); ++i) {
    const auto& a = ep.addresses[i];
    json ip = {{"address", a.str()}, {"interface", 1}};
    if (i < n.pools.size() && n.pools[i].gateway.valid()) ip["gateway"] = n.pools[i].gateway.str();
    if (versioned_ips) ip["version"] = a.is_v6() ? "6" : "4";
    if (ep.routes(a.is_v6()) && ip.contains("gateway"))
      r["routes"].push_back({{"dst", a.is_v6() ? "::/0" : "0.0.0.0/0"}, {"gw", ip["gateway"]}});
    r["ips"].push_back(std::move(ip));
  }
  r["dns"] = json::object();
  // netctl's DNS server listens on the network's IPv4 gateway (cnm/dns).
  if (auto gw = n.gateways(false); cnm::dns_enabled(n) && !gw.empty())
    r["dns"]["nameservers"] = json::array({gw.front().str()});
  return r;
}

std::string compare_prev_result(const nlohmann::json& prev, const cnm::Endpoint& ep) {
  try {
    return compare_prev_result_unchecked(prev, ep);
  } catch (const nlohmann::json::exception& e) {
    return fmt::format("prevResult is malformed: {}", e.what());
  }
}

std::string compare_prev_result_unchecked(const nlohmann::json& prev, const cnm::Endpoint& ep) {
  std::set<std::string> want, have;
  for (const auto& a : ep.addresses) want.insert(a.str());
  if (auto it = prev.find("ips"); it != prev.end() && it->is_array())
    for (const auto& ip : *it)
      if (ip.is_object() && ip.contains("address") && ip["address"].is_string()) {
        auto p = cnm::Prefix::parse(ip["address"].get<std::string>(), false);
        have.insert(p ? p->str() : ip["address"].get<std::string>());
      }
  if (want != have)
    return fmt::format("prevResult addresses {} differ from the attachment's {}",
                       fmt::join(have, ","), fmt::join(want, ","));
  if (auto it = prev.find("interfaces"); it != prev.end() && it->is_array()) {
    bool found = false;
    for (const auto& i : *it) {
      if (!i.is_object() || !i.contains("sandbox") || i.value("name", "") != ep.ifname) continue;
      found = true;
      std::string mac = i.value("mac", "");
      std::transform(mac.begin(), mac.end(), mac.begin(), ::tolower);
      if (!mac.empty() && mac != ep.mac)
        return fmt::format("prevResult MAC {} differs from the attachment's {}", mac, ep.mac);
    }
    if (!found) return fmt::format("prevResult has no interface {} in a sandbox", ep.ifname);
  }
  return "";
}

}  // namespace cni

#include "cli/endpoint_json.h"

namespace cli {

nlohmann::json endpoint_json(cnm::Controller& c, const cnm::Endpoint& e) {
  std::string name = e.target;
  if (e.target.starts_with("container:")) {
    if (auto k = c.container(e.target.substr(10))) name = k->name;
  } else if (!e.sandbox_id.empty()) {
    if (auto sb = c.sandbox(e.sandbox_id)) name = sb->name;
  }
  std::string v4, v6;
  for (const auto& a : e.addresses) (a.is_v6() ? v6 : v4) = a.str();
  nlohmann::json ports = nlohmann::json(e)["Ports"];
  std::string network = e.network_id;
  if (auto n = c.network(e.network_id)) network = n->name;
  nlohmann::json j = {{"Name", name},
                      {"EndpointID", e.id},
                      {"Network", network},
                      {"MacAddress", e.mac},
                      {"IPv4Address", v4},
                      {"IPv6Address", v6},
                      {"IfName", e.ifname},
                      {"HostIfName", e.host_ifname},
                      {"Target", e.target},
                      {"Netns", e.netns_path},
                      {"Aliases", e.aliases},
                      {"DefaultRoute", e.default_route},
                      {"DefaultRoute6", e.default_route6},
                      {"Ports", ports}};
  if (!e.container_id.empty()) j["ContainerID"] = e.container_id;  // CNI attachments
  if (!e.dns_name.empty()) j["DnsName"] = e.dns_name;
  return j;
}

cnm::Result<nlohmann::json> network_json(cnm::Controller& c, const cnm::Network& n) {
  nlohmann::json j = n;
  j.erase("DerivedMacsOnly");  // bookkeeping of the announcement, not Docker's
  j["Scope"] = c.registry().ask(n.driver, &cnm::Driver::global_scope) ? "global" : "local";
  auto eps = CNM_VALUE(c.endpoints({.parent = n.id}));
  auto& containers = j["Containers"] = nlohmann::json::object();
  for (const auto& e : eps) containers[e.id] = endpoint_json(c, e);
  return j;
}

}  // namespace cli

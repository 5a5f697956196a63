// The CNI plugin's operations on the controller (plugins/cni): ADD, DEL, CHECK, GC and STATUS over
// the same store, drivers and IPAM as the CLI. A CNI attachment is an endpoint with target
// "cni:<container id>" and its container_id set, found by (network, container id, ifname).
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cnm/cni/cni_service.h"
#include "cnm/core/records.h"
#include "cnm/core/txn.h"
#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/firewall.h"
#include "cnm/kernel/links.h"
#include "cnm/kernel/netns_view.h"
#include "cnm/model/validate.h"

namespace cnm {
namespace {

Status validate_cni(const ConnectRequest& r, const std::string& container_id) {
  CNM_TRY(validate_name("network", r.network));
  CNM_TRY(validate_container_id(container_id));
  CNM_TRY(validate_ifname(r.ifname));
  if (!r.target.starts_with("/")) return fail(Code::kInvalid, "netns '{}' is not a path", r.target);
  for (const auto& [text, v6] : {std::pair{r.ip, false}, std::pair{r.ip6, true}}) {
    if (text.empty()) continue;
    auto a = IpAddr::parse(text);
    if (!a || a->is_v6() != v6)
      return fail(Code::kInvalid, "'{}' is not an IPv{} address", text, v6 ? 6 : 4);
  }
  if (!r.mac.empty()) CNM_TRY(validate_mac(r.mac));
  for (const auto& a : r.aliases) CNM_TRY(validate_dns_label("alias", a));
  for (const auto& p : r.publish) CNM_TRY(parse_port_spec(p));
  return {};
}

}  // namespace

Result<Network> CniService::cni_network(const NetworkCreateRequest& req, bool create) {
  CNM_TRY(validate_name("network", req.name));
  auto n = network(req.name);
  if (n || n.error().code != Code::kNotFound || !create) return n;
  auto made = networks_.create_network(req);
  // Another plugin process may have made it between our look and our lock: use theirs.
  if (!made && made.error().code == Code::kConflict) {
    if (auto again = network(req.name)) return again;
  }
  return made;
}

Result<Endpoint> CniService::cni_add(const ConnectRequest& req, const std::string& container_id,
                                     const std::string& pod_name) {
  CNM_TRY(validate_cni(req, container_id));
  return endpoints_.attach({.req = req,
                            .key = cni_key(container_id),
                            .container_id = container_id,
                            .txn_label = "cni add " + container_id,
                            .target_context = "CNI_NETNS",
                            .dns_name = is_dns_label(pod_name) ? pod_name : ""});
}

Status CniService::cni_del(const std::string& network_name, const std::string& container_id,
                           const std::string& ifname) {
  CNM_TRY(validate_name("network", network_name));
  CNM_TRY(validate_container_id(container_id));
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  auto n = network(network_name);
  if (!n && n.error().code == Code::kNotFound) return {};  // nothing can be attached to it
  if (!n) return std::unexpected(n.error());
  auto eps = CNM_VALUE(endpoints_.cni_find(*n, container_id, ifname));
  if (eps.empty()) return {};
  Txn tx(store_, lock, "cni del " + container_id);
  CNM_TRY(endpoints_.remove_endpoints(tx, eps));
  return tx.commit();
}

Result<std::string> CniService::cni_verify(const Network& n, const Endpoint& ep,
                                           const std::string& netns) {
  for (size_t i = 0; i < n.pools.size() && i < ep.addresses.size(); ++i) {
    auto owner =
        CNM_VALUE(store_.address_owner(pool_key(n, n.pools[i]), ep.addresses[i].addr().str()));
    if (owner != ep.id)
      return fmt::format("IPAM: {} is not allocated to this attachment", ep.addresses[i].str());
  }
  auto driver = CNM_VALUE(registry_.driver(n.driver, kernel_));
  if (auto why = CNM_VALUE(driver->check_endpoint(n, ep)); !why.empty()) return why;
  auto id = CNM_VALUE(kernel_.namespaces->identify(netns));
  if (netns_key(id) != ep.netns_key)
    return fmt::format("{} is not the namespace the attachment was made in", netns);
  auto in = CNM_VALUE(kernel::view_interface(netns, ep.ifname));
  if (in.mac != ep.mac) return fmt::format("{}: MAC {} instead of {}", ep.ifname, in.mac, ep.mac);
  if (!in.up) return fmt::format("{} is down", ep.ifname);
  for (const auto& a : ep.addresses)
    if (std::find(in.addresses.begin(), in.addresses.end(), a) == in.addresses.end())
      return fmt::format("{}: address {} is missing", ep.ifname, a.str());
  for (const auto& p : n.pools)
    if (ep.routes(p.subnet.is_v6()) &&
        std::find(in.gateways.begin(), in.gateways.end(), p.gateway) == in.gateways.end())
      return fmt::format("{}: no default route via {}", ep.ifname, p.gateway.str());
  return std::string();
}

Result<Endpoint> CniService::cni_check(const std::string& network_name,
                                       const std::string& container_id, const std::string& ifname,
                                       const std::string& netns) {
  CNM_TRY(validate_container_id(container_id));
  auto n = CNM_VALUE(network(network_name));
  auto eps = CNM_VALUE(endpoints_.cni_find(n, container_id, ifname));
  if (eps.empty())
    return fail(Code::kNotFound, "container {} has no {} on network {}", container_id, ifname,
                n.name);
  auto why = CNM_VALUE(cni_verify(n, eps.front(), netns));
  if (!why.empty()) return fail(Code::kFailed, "check {}: {}", container_id, why);
  return eps.front();
}

Result<std::vector<Endpoint>> CniService::cni_gc(
    const std::string& network_name,
    const std::vector<std::pair<std::string, std::string>>& valid) {
  CNM_TRY(validate_name("network", network_name));
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  auto n = network(network_name);
  if (!n && n.error().code == Code::kNotFound) return std::vector<Endpoint>{};
  if (!n) return std::unexpected(n.error());
  auto eps = CNM_VALUE(endpoints_.cni_find(*n, "", ""));
  std::erase_if(eps, [&](const Endpoint& e) {
    return std::any_of(valid.begin(), valid.end(), [&](const auto& v) {
      return v.first == e.container_id && (v.second.empty() || v.second == e.ifname);
    });
  });
  if (eps.empty()) return eps;
  Txn tx(store_, lock, "cni gc " + n->name);
  CNM_TRY(endpoints_.remove_endpoints(tx, eps));
  CNM_TRY(tx.commit());
  return eps;
}

Status CniService::cni_status() {
  if (access(store_.root().c_str(), W_OK) != 0)
    return fail(Code::kFailed, "state root {} is not writable", store_.root());
  {
    auto lock = CNM_VALUE(store_.lock());
    CNM_TRY(store_.intents());
  }
  if (auto l = kernel_.links->list(); !l) return context("netlink", l.error());
  if (auto fw = kernel_.firewall->dump(); !fw) {
    auto e = context("iptables", fw.error());
    e.error().subject = Subject::kFirewall;
    return e;
  }
  return {};
}

}  // namespace cnm

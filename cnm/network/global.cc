// Networks of global-scope drivers (overlay): defined in the cluster store, listed from it, and
// removed there; a host keeps a record of one only while it has endpoints on it
// (cnm/endpoint/global.cc).
#include <fmt/core.h>

#include <cstdio>

#include "cnm/cluster/cluster_config.h"
#include "cnm/core/cluster_access.h"
#include "cnm/network/network_service.h"

namespace cnm {
namespace {

Status check_global_request(const NetworkCreateRequest& req) {
  if (req.subnets.size() != 1)
    return fail(Code::kInvalid, "{} network {} needs one IPv4 --subnet", req.driver, req.name);
  if (!req.ip_ranges.empty() || !req.aux.empty())
    return fail(Code::kInvalid, "{} networks take no --ip-range or --aux-address", req.driver);
  if (req.gateways.size() > 1)
    return fail(Code::kInvalid, "{} network {}: one --gateway at most", req.driver, req.name);
  return {};
}

}  // namespace

Result<Network> NetworkService::create_global(const NetworkCreateRequest& req, Network n,
                                              Driver& driver) {
  CNM_TRY(cluster::require_cluster(config_.cluster));
  CNM_TRY(check_global_request(req));
  CNM_TRY(driver.prepare(n, {}, DriverDefaults{config_.mtu}));
  PoolRequest r;
  r.subnet = CNM_VALUE(Prefix::parse(req.subnets[0]));
  if (r.subnet->is_v6())
    return fail(Code::kInvalid, "{} network {} needs an IPv4 subnet", req.driver, req.name);
  if (!req.gateways.empty()) r.gateway = CNM_VALUE(IpAddr::parse(req.gateways[0]));
  if (r.gateway && !r.subnet->contains(*r.gateway))
    return fail(Code::kInvalid, "gateway {} is outside the subnet", req.gateways[0]);
  n.pools = {CNM_VALUE(ipam_.request_pool(r, {}, {}))};
  for (const auto& e : CNM_VALUE(list_networks())) {
    if (e.name == n.name) return fail(Code::kConflict, "network {} already exists", n.name);
    for (const auto& p : e.pools)
      if (p.subnet.overlaps(*r.subnet))
        return fail(Code::kConflict, "subnet {} overlaps network {} ({})", r.subnet->str(), e.name,
                    p.subnet.str());
  }
  if (kernel_.cluster == nullptr) return std::unexpected(cluster::require_cluster({}).error());
  CNM_TRY(kernel_.cluster->claim(n));
  return n;
}

Result<std::vector<Network>> NetworkService::list_all_networks() {
  auto nets = CNM_VALUE(list_networks());
  if (kernel_.cluster == nullptr) return nets;
  auto global = kernel_.cluster->networks();
  if (!global) {
    fmt::print(stderr, "netctl: warning: cluster store: {}\n", global.error().message);
    return nets;
  }
  for (auto& g : *global) {
    bool local = false;
    for (const auto& n : nets) local |= n.id == g.id;
    if (!local) nets.push_back(std::move(g));
  }
  return nets;
}

Result<Network> NetworkService::find_network(const std::string& name_or_id) {
  auto n = network(name_or_id);
  if (n || n.error().code != Code::kNotFound || kernel_.cluster == nullptr) return n;
  auto g = CNM_VALUE(kernel_.cluster->network(name_or_id));
  if (!g) return n;
  return *g;
}

}  // namespace cnm

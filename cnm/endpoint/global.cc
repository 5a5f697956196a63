// Endpoints on global-scope networks (overlay): the network's record and kernel objects made here
// with its first local endpoint and removed with its last, addresses from the cluster, and the
// peer record that tells the other hosts where the endpoint lives.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cnm/cluster/cluster_config.h"
#include "cnm/core/cluster_access.h"
#include "cnm/core/intent.h"
#include "cnm/core/records.h"
#include "cnm/core/txn.h"
#include "cnm/endpoint/endpoint_service.h"

namespace cnm {
namespace {

// How long an attach waits for the other hosts' agents to program its peer record.
constexpr std::chrono::milliseconds kAwaitPeers{1000};

// The one error for missing cluster settings (cnm/cluster/cluster_config.h).
Status need_cluster(ClusterAccess* c) {
  return c != nullptr ? Status{} : cluster::require_cluster({});
}

}  // namespace

Result<Network> EndpointService::attach_network(const std::string& name, bool& fresh) {
  auto n = network(name);
  if (n || n.error().code != Code::kNotFound || kernel_.cluster == nullptr) return n;
  auto g = CNM_VALUE(kernel_.cluster->network(name));
  if (!g) return n;
  auto existing = CNM_VALUE(list_networks());
  for (const auto& e : existing)
    for (const auto& p : e.pools)
      if (p.subnet.overlaps(g->pools[0].subnet))
        return fail(Code::kConflict, "overlay network {} ({}) overlaps network {} ({}) here",
                    g->name, g->pools[0].subnet.str(), e.name, p.subnet.str());
  auto driver = CNM_VALUE(registry_.driver(g->driver, kernel_));
  CNM_TRY(driver->prepare(*g, existing, DriverDefaults{config_.mtu}));
  g->created = now_rfc3339();
  fresh = true;
  return *g;
}

Status EndpointService::join_global(Txn& tx, Network& n, bool fresh, Driver& driver,
                                    ConnectRequest& req) {
  CNM_TRY(need_cluster(kernel_.cluster));
  if (!req.mac.empty() || !req.ip6.empty())
    return fail(Code::kInvalid,
                "overlay network {}: --mac and --ip6 are not supported (the MAC "
                "is derived from the address)",
                n.name);
  std::optional<IpAddr> want;
  if (!req.ip.empty()) want = *IpAddr::parse(req.ip);
  CNM_TRY(tx.intend(OverlayIntent{n.name}));
  if (fresh) CNM_TRY(driver.create(tx, n, CNM_VALUE(list_networks())));
  auto ip = kernel_.cluster->allocate(n, want);
  if (!ip) return context(fmt::format("network {}", n.name), ip.error());
  tx.on_undo(OverlayIntent{n.name}, [c = kernel_.cluster, n, a = *ip] { return c->release(n, a); });
  req.ip = ip->str();
  return {};
}

Result<int64_t> EndpointService::publish_global(Txn& tx, const Network& n, const Endpoint& ep) {
  auto revision = kernel_.cluster->publish(n, ep);
  if (!revision)
    return context(fmt::format("network {}: publish the endpoint", n.name), revision.error());
  tx.on_undo(OverlayIntent{n.name},
             [c = kernel_.cluster, n, a = ep.addresses[0].addr()] { return c->withdraw(n, a); });
  return *revision;
}

Result<bool> EndpointService::cluster_only(const std::string& name) {
  if (kernel_.cluster == nullptr) return false;
  auto g = CNM_VALUE(kernel_.cluster->network(name));
  return g.has_value();
}

void EndpointService::put_network(Txn& tx, const Network& n) {
  tx.batch().puts.push_back({store::kNetworks, {n.id, n.name, "", nlohmann::json(n).dump()}});
}

void EndpointService::await_peers(int64_t revision) {
  auto late = kernel_.cluster->await(revision, kAwaitPeers);
  if (!late)
    fmt::print(stderr, "netctl: warning: overlay: {}\n", late.error().message);
  else if (!late->empty())
    fmt::print(stderr,
               "netctl: warning: overlay: host(s) {} did not confirm the endpoint in {} ms\n",
               fmt::join(*late, ", "), kAwaitPeers.count());
}

Status EndpointService::plan_leave_global(Txn& tx, const Network& n,
                                          const std::vector<Endpoint>& eps, Driver& driver,
                                          bool& last) {
  CNM_TRY(tx.intend(OverlayIntent{n.name}));
  auto all = CNM_VALUE(endpoints({.parent = n.id}));
  last = true;
  for (const auto& e : all)
    last &= std::any_of(eps.begin(), eps.end(), [&](const Endpoint& x) { return x.id == e.id; });
  if (!last) return {};
  CNM_TRY(tx.intend_drop(store::kNetworks, n.id));
  Network one[] = {n};
  return driver.plan_remove(tx, one);
}

Status EndpointService::leave_global(Txn& tx, const Network& n, const std::vector<Endpoint>& eps,
                                     Driver& driver, bool last,
                                     const std::vector<std::string>& going) {
  CNM_TRY(need_cluster(kernel_.cluster));
  for (const auto& e : eps) {
    if (e.addresses.empty()) continue;
    CNM_TRY(kernel_.cluster->withdraw(n, e.addresses[0].addr()));
    CNM_TRY(kernel_.cluster->release(n, e.addresses[0].addr()));
  }
  if (!last) return {};
  std::vector<Network> remaining;
  for (auto& other : CNM_VALUE(list_networks()))
    if (other.id != n.id && std::find(going.begin(), going.end(), other.id) == going.end())
      remaining.push_back(std::move(other));
  Network one[] = {n};
  CNM_TRY(driver.remove(one, remaining));
  tx.batch().drops.push_back({store::kNetworks, n.id});
  return {};
}

}  // namespace cnm

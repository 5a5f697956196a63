// NetworkService::create_network: parse and validate the request, choose pools, create, commit.
#include <nlohmann/json.hpp>

#include "cnm/core/txn.h"
#include "cnm/kernel/links.h"
#include "cnm/model/validate.h"
#include "cnm/network/network_service.h"

namespace cnm {
namespace {

struct ParsedPools {
  std::vector<PoolRequest> requests;  // at most one per family, IPv4 first
};

// Finds the request whose subnet holds `a`; Code::kInvalid naming `what` otherwise.
Result<PoolRequest*> owner_of(std::vector<PoolRequest>& reqs, const IpAddr& a,
                              std::string_view what, const std::string& text) {
  for (auto& r : reqs)
    if (r.subnet && r.subnet->contains(a)) return &r;
  if (reqs.empty() || !reqs.front().subnet)
    return fail(Code::kInvalid, "{} {} needs --subnet", what, text);
  return fail(Code::kInvalid, "{} {} is outside the subnet", what, text);
}

Result<std::vector<PoolRequest>> parse_pools(const NetworkCreateRequest& req) {
  std::vector<PoolRequest> reqs;
  for (const auto& s : req.subnets) {
    auto p = CNM_VALUE(Prefix::parse(s));
    if (p.is_v6() && !req.ipv6)
      return fail(Code::kInvalid, "subnet {} is IPv6: add --ipv6 to enable IPv6", s);
    for (const auto& r : reqs)
      if (r.v6 == p.is_v6())
        return fail(Code::kInvalid, "only one IPv{} subnet per network is supported",
                    p.is_v6() ? 6 : 4);
    PoolRequest r;
    r.v6 = p.is_v6();
    r.subnet = p;
    reqs.push_back(std::move(r));
  }
  for (const auto& g : req.gateways) {
    auto a = CNM_VALUE(IpAddr::parse(g));
    auto r = CNM_VALUE(owner_of(reqs, a, "gateway", g));
    if (r->gateway)
      return fail(Code::kInvalid, "more than one gateway for subnet {}", r->subnet->str());
    r->gateway = a;
  }
  for (const auto& s : req.ip_ranges) {
    auto p = CNM_VALUE(Prefix::parse(s));
    auto r = CNM_VALUE(owner_of(reqs, p.addr(), "ip-range", s));
    if (!r->subnet->contains(p))
      return fail(Code::kInvalid, "ip-range {} is outside the subnet", s);
    if (r->ip_range)
      return fail(Code::kInvalid, "more than one ip-range for subnet {}", r->subnet->str());
    r->ip_range = p;
  }
  for (const auto& kv : req.aux) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail(Code::kInvalid, "aux-address '{}': expected NAME=IP", kv);
    auto a = CNM_VALUE(IpAddr::parse(kv.substr(eq + 1)));
    auto r = CNM_VALUE(owner_of(reqs, a, "aux-address", kv));
    r->aux[kv.substr(0, eq)] = a;
  }
  bool has_v4 = false, has_v6 = false;
  for (const auto& r : reqs) (r.v6 ? has_v6 : has_v4) = true;
  if (!has_v4) reqs.insert(reqs.begin(), PoolRequest{});
  if (req.ipv6 && !has_v6) {
    PoolRequest r;
    r.v6 = true;
    reqs.push_back(std::move(r));
  }
  return reqs;
}

}  // namespace

Result<std::vector<Pool>> NetworkService::plan_pools(const NetworkCreateRequest& req,
                                                     const Network&,
                                                     std::span<const Network> existing) {
  auto reqs = CNM_VALUE(parse_pools(req));
  std::vector<Prefix> taken;
  for (const auto& n : existing)
    for (const auto& p : n.pools) taken.push_back(p.subnet);
  std::vector<Prefix> host;
  bool any_auto = false;
  for (const auto& r : reqs) any_auto |= !r.subnet;
  if (any_auto) {
    auto h = kernel_.links->used_prefixes();
    if (!h) return context("read host routes", h.error());
    host = std::move(*h);
  }
  std::vector<Pool> pools;
  for (const auto& r : reqs) {
    auto pool = ipam_.request_pool(r, taken, host);
    if (!pool) {
      if (pool.error().code == Code::kConflict && r.subnet)
        for (const auto& n : existing)
          for (const auto& p : n.pools)
            if (p.subnet.overlaps(*r.subnet))
              return fail(Code::kConflict, "subnet {} overlaps network {} ({})", r.subnet->str(),
                          n.name, p.subnet.str());
      return std::unexpected(pool.error());
    }
    pools.push_back(std::move(*pool));
  }
  return pools;
}

Result<Prefix> NetworkService::free_subnet(bool v6, std::span<const Prefix> also_taken) {
  std::vector<Prefix> taken(also_taken.begin(), also_taken.end());
  for (const auto& n : CNM_VALUE(list_networks()))
    for (const auto& p : n.pools) taken.push_back(p.subnet);
  auto host = kernel_.links->used_prefixes();
  if (!host) return context("read host routes", host.error());
  PoolRequest r;
  r.v6 = v6;
  auto pool = CNM_VALUE(ipam_.request_pool(r, taken, *host));
  return pool.subnet;
}

Result<Network> NetworkService::create_network(const NetworkCreateRequest& req) {
  CNM_TRY(validate_name("network", req.name));
  auto driver = CNM_VALUE(registry_.driver(req.driver, kernel_));
  if (!driver->uses_ipam() &&
      !(req.subnets.empty() && req.gateways.empty() && req.ip_ranges.empty() && req.aux.empty()))
    return fail(Code::kInvalid, "driver {} takes no subnet, gateway, ip-range or aux-address",
                req.driver);
  if (!driver->uses_ipam() && req.ipv6)
    return fail(Code::kInvalid, "driver {} takes no --ipv6", req.driver);
  if (req.mtu != 0 && (req.mtu < 68 || req.mtu > 65535))
    return fail(Code::kInvalid, "mtu {} is out of range (68-65535)", req.mtu);
  Network n;
  n.id = new_id();
  n.name = req.name;
  n.driver = req.driver;
  n.created = now_rfc3339();
  n.ipv6 = req.ipv6;
  n.internal = req.internal;
  n.mtu = req.mtu;
  n.options = req.options;
  n.labels = req.labels;
  n.derived_macs_only = true;  // no endpoint yet
  // Input that needs no state is checked before the lock, so bad input never waits.
  if (driver->uses_ipam()) CNM_TRY(parse_pools(req));
  if (driver->global_scope()) return create_global(req, std::move(n), *driver);
  CNM_TRY(driver->prepare(n, {}, DriverDefaults{config_.mtu}));

  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  auto existing = CNM_VALUE(list_networks());
  for (const auto& e : existing)
    if (e.name == n.name) return fail(Code::kConflict, "network {} already exists", n.name);
  CNM_TRY(driver->prepare(n, existing, DriverDefaults{config_.mtu}));
  if (driver->uses_ipam()) {
    auto pools = CNM_VALUE(plan_pools(req, n, existing));
    n.pools = std::move(pools);
  }
  Txn tx(store_, lock, "network create " + n.name);
  CNM_TRY(driver->create(tx, n, existing));
  tx.batch().puts.push_back({store::kNetworks, {n.id, n.name, "", nlohmann::json(n).dump()}});
  CNM_TRY(tx.commit());
  return n;
}

}  // namespace cnm

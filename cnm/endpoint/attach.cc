// EndpointService::connect and disconnect: endpoints between a network and a namespace.
#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "cnm/core/records.h"
#include "cnm/core/txn.h"
#include "cnm/endpoint/endpoint_service.h"
#include "cnm/kernel/endpoints.h"
#include "cnm/model/validate.h"

namespace cnm {
namespace {

Status validate(const ConnectRequest& r) {
  CNM_TRY(validate_name("network", r.network));
  if (r.target.empty()) return fail(Code::kInvalid, "connect: no target given");
  if (!r.ip.empty()) {
    auto a = IpAddr::parse(r.ip);
    if (!a || a->is_v6()) return fail(Code::kInvalid, "--ip '{}' is not an IPv4 address", r.ip);
  }
  if (!r.ip6.empty()) {
    auto a = IpAddr::parse(r.ip6);
    if (!a || !a->is_v6()) return fail(Code::kInvalid, "--ip6 '{}' is not an IPv6 address", r.ip6);
  }
  if (!r.mac.empty()) CNM_TRY(validate_mac(r.mac));
  if (!r.ifname.empty()) CNM_TRY(validate_ifname(r.ifname));
  for (const auto& a : r.aliases) CNM_TRY(validate_dns_label("alias", a));
  for (const auto& p : r.publish) CNM_TRY(parse_port_spec(p));
  return {};
}

}  // namespace

Result<Endpoint> EndpointService::plan_endpoint(const ConnectRequest& req, const Network& n,
                                                const Target& t, Hints& hints) {
  const auto& here = t.here;  // live records only: a stale one was an ended namespace's
  Endpoint ep;
  ep.id = new_id();
  // As Docker: an internal network gives no gateway; otherwise each family's default route comes
  // from the first endpoint of the namespace on a network with that family.
  ep.default_route = !n.internal && n.has_family(false);
  ep.default_route6 = !n.internal && n.has_family(true);
  for (const auto& e : here) {
    if (e.network_id == n.id)
      return fail(Code::kConflict, "{} is already connected to network {}", req.target, n.name);
    if (!req.ifname.empty() && e.ifname == req.ifname)
      return fail(Code::kConflict, "interface {} already exists in {}", req.ifname, req.target);
    ep.default_route &= !e.default_route;
    ep.default_route6 &= !e.default_route6;
  }
  ep.ifname = req.ifname;
  for (int i = 0; ep.ifname.empty(); ++i) {
    auto candidate = fmt::format("eth{}", i);
    bool used = false;
    for (const auto& e : here) used |= e.ifname == candidate;
    if (!used) ep.ifname = candidate;
  }
  if (!req.ip6.empty() && !(n.pools.size() > 1 && n.pools.back().subnet.is_v6()))
    return fail(Code::kInvalid, "network {} has no IPv6 subnet for --ip6", n.name);
  for (const auto& pool : n.pools) {
    const std::string& want_text = pool.subnet.is_v6() ? req.ip6 : req.ip;
    std::optional<IpAddr> want;
    if (!want_text.empty()) want = *IpAddr::parse(want_text);
    // The MAC will be derived from the first IPv4 address: skip those whose MAC someone took.
    const bool derive_mac = req.mac.empty() && ep.addresses.empty() && !pool.subnet.is_v6();
    auto addr = allocate_address(pool, pool_key(n, pool), want, hints,
                                 derive_mac ? mac_pool(n) : std::string());
    if (!addr) return context(fmt::format("network {}", n.name), addr.error());
    ep.addresses.emplace_back(*addr, pool.subnet.len());
  }
  ep.mac = req.mac;
  if (ep.mac.empty() && !ep.addresses.empty() && !ep.addresses[0].is_v6())
    ep.mac = mac_from(ep.addresses[0].addr());
  if (ep.mac.empty())  // no IPv4 address: derive it from the endpoint id instead
    ep.mac = fmt::format("02:42:{}:{}:{}:{}", ep.id.substr(0, 2), ep.id.substr(2, 2),
                         ep.id.substr(4, 2), ep.id.substr(6, 2));
  std::transform(ep.mac.begin(), ep.mac.end(), ep.mac.begin(), ::tolower);
  auto owner = CNM_VALUE(store_.address_owner(mac_pool(n), ep.mac));
  if (!owner.empty())
    return fail(Code::kConflict, "MAC address {} is already in use on network {}", ep.mac, n.name);
  ep.network_id = n.id;
  ep.target = t.key;
  ep.sandbox_id = t.sandbox_id;
  ep.netns_path = t.path;
  ep.netns_key = t.netns_key;
  ep.aliases = req.aliases;
  ep.created = now_rfc3339();
  return ep;
}

Result<Endpoint> EndpointService::connect(const ConnectRequest& req, bool ensure_dns) {
  CNM_TRY(validate(req));
  return attach({.req = req, .ensure_dns = ensure_dns});
}

Result<Endpoint> EndpointService::attach(const AttachRequest& a) {
  std::vector<IpAddr> dns;
  int64_t published = 0;
  auto ep = CNM_VALUE(attach_locked(a, dns, published));  // committed, and the lock released
  if (published != 0) await_peers(published);
  if (!dns.empty() && a.ensure_dns) ensure_dns(dns);
  return ep;
}

Result<Endpoint> EndpointService::attach_handoff(const ConnectRequest& req,
                                                 const std::string& key) {
  ConnectRequest r = req;
  r.target = key;
  CNM_TRY(validate(r));
  return attach({.req = r,
                 .key = key,
                 .txn_label = "endpoint create " + key,
                 .ensure_dns = false,
                 .handoff = true});
}

Result<Target> EndpointService::handoff_target(const AttachRequest& a) {
  if (a.key.empty() || a.req.ifname.empty())
    return fail(Code::kInvalid, "a handed-off endpoint needs a target key and an interface name");
  CNM_TRY(validate_ifname(a.req.ifname));
  auto taken = CNM_VALUE(endpoints({.name = a.key}));
  if (!taken.empty()) return fail(Code::kConflict, "endpoint {} exists already", a.key);
  Target t;
  t.key = a.key;
  return t;
}

Result<Endpoint> EndpointService::attach_locked(const AttachRequest& a, std::vector<IpAddr>& dns,
                                                int64_t& published) {
  ConnectRequest req = a.req;  // a global network's address is set once the cluster gave it
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  bool fresh = false;
  auto n = CNM_VALUE(attach_network(req.network, fresh));
  auto driver = CNM_VALUE(registry_.driver(n.driver, kernel_));
  const bool global = driver->global_scope();
  if (!a.container_id.empty()) {
    auto dup = CNM_VALUE(cni_find(n, a.container_id, req.ifname));
    if (!dup.empty())
      return fail(Code::kConflict, "container {} already has {} on network {}", a.container_id,
                  req.ifname, n.name);
  }
  auto t = a.handoff ? handoff_target(a) : resolve_target(req.target, true);
  if (!t && t.error().code == Code::kInvalid && !a.target_context.empty()) {
    auto e = context(a.target_context, t.error());
    e.error().subject = Subject::kNetns;
    return e;
  }
  if (!t) return std::unexpected(t.error());
  if (!a.key.empty()) t->key = a.key;
  Txn tx(store_, lock, a.txn_label.empty() ? "network connect " + n.name : a.txn_label);
  if (global) CNM_TRY(join_global(tx, n, fresh, *driver, req));
  Hints hints;
  auto ep = CNM_VALUE(plan_endpoint(req, n, *t, hints));
  ep.dns_name = !a.dns_name.empty() ? a.dns_name : is_dns_label(t->name) ? t->name : "";
  if (a.handoff) {  // its manager sets addresses and routes once it has moved the peer
    ep.handoff = true;
    ep.default_route = ep.default_route6 = false;
  } else {
    CNM_TRY(plan_routes(req, n, *t, ep));
  }
  ep.container_id = a.container_id;
  ep.host_ifname = driver->endpoint_link(ep.id);
  std::vector<store::Batch::Addr> port_rows;
  ep.ports = CNM_VALUE(plan_ports(req, n, *driver, port_rows));
  CNM_TRY(driver->join(tx, n, ep, routed_gateways(n, ep)));
  if (global) published = CNM_VALUE(publish_global(tx, n, ep));
  if (fresh) put_network(tx, n);
  record_endpoint(tx, n, ep, std::move(port_rows), std::move(hints));
  CNM_TRY(drop_stale(tx, std::move(t->stale)));
  CNM_TRY(tx.commit());
  if (dns_enabled(n)) dns = n.gateways(false);
  return ep;
}

void EndpointService::record_endpoint(Txn& tx, const Network& n, const Endpoint& ep,
                                      std::vector<store::Batch::Addr> port_rows, Hints hints) {
  auto& b = tx.batch();
  b.puts.push_back(
      {store::kEndpoints, {ep.id, ep.target, n.id, nlohmann::json(ep).dump(), ep.netns_key}});
  for (size_t i = 0; i < n.pools.size(); ++i)
    b.add_addresses.push_back({pool_key(n, n.pools[i]), ep.addresses[i].addr().str(), ep.id});
  b.add_addresses.push_back({mac_pool(n), ep.mac, ep.id});
  for (auto& row : port_rows) {
    row.owner = ep.id;
    b.add_addresses.push_back(std::move(row));
  }
  for (auto& h : hints) b.set_hints.push_back(std::move(h));
  if (n.derived_macs_only && !uses_derived_mac(ep)) {  // every later attach announces
    Network changed = n;
    changed.derived_macs_only = false;
    b.puts.push_back({store::kNetworks, {n.id, n.name, "", nlohmann::json(changed).dump()}});
  }
}

Status EndpointService::remove_endpoints(Txn& tx, const std::vector<Endpoint>& eps) {
  std::map<std::string, std::vector<Endpoint>> by_network;
  tx.hold();  // the drops and every network's kernel objects declared in one store write
  for (const auto& e : eps) {
    CNM_TRY(tx.intend_drop(store::kEndpoints, e.id));
    by_network[e.network_id].push_back(e);
  }
  struct Leaving {
    Network n;
    std::unique_ptr<Driver> driver;
    bool last = false;  // a global network's last endpoint here: its local record goes too
  };
  std::vector<Leaving> nets;
  for (const auto& [net_id, group] : by_network) {
    Leaving l{CNM_VALUE(network(net_id)), nullptr};
    l.driver = CNM_VALUE(registry_.driver(l.n.driver, kernel_));
    CNM_TRY(l.driver->plan_leave(tx, l.n, group));
    if (l.driver->global_scope()) CNM_TRY(plan_leave_global(tx, l.n, group, *l.driver, l.last));
    nets.push_back(std::move(l));
  }
  CNM_TRY(tx.flush());
  std::vector<std::string> going;  // networks whose last endpoint here leaves: their record goes
  for (const auto& l : nets)
    if (l.last) going.push_back(l.n.id);
  Status first_error;
  for (auto& [n, driver, last] : nets) {
    auto r = driver->leave(n, by_network[n.id]);
    if (r && driver->global_scope())
      r = leave_global(tx, n, by_network[n.id], *driver, last, going);
    if (!r && first_error) first_error = r;
  }
  // As with networks, records stay until the kernel objects are gone (the intent is kept).
  if (!first_error)
    return context("remove endpoints (the next netctl command retries)", first_error.error());
  for (const auto& l : nets) lower_hints(tx, l.n, by_network[l.n.id]);
  for (const auto& e : eps) tx.batch().drops.push_back({store::kEndpoints, e.id});
  // A failure here fails the command with the removal done: its intent stays, and the next
  // command's recovery finishes the drops and elects again.
  return reelect_gateways(tx.batch(), eps);
}

Status EndpointService::reelect_gateways(store::Batch& b, const std::vector<Endpoint>& removed) {
  auto gone = [&](const Endpoint& e) {
    return std::any_of(removed.begin(), removed.end(), [&](const auto& r) { return r.id == e.id; });
  };
  Status first_error;
  std::map<std::string, std::array<bool, 2>> lost;  // by namespace: IPv4, IPv6
  for (const auto& r : removed) {
    if (r.netns_key.empty()) continue;
    for (bool v6 : {false, true})
      if (r.routes(v6)) lost[r.netns_key][v6] = true;
  }
  for (const auto& [key, families] : lost) {
    auto st = elect_gateway(b, key, families, gone);
    if (!st && first_error) first_error = st;
  }
  return first_error;
}

Status EndpointService::elect_gateway(store::Batch& b, const std::string& netns_key,
                                      std::array<bool, 2> lost,
                                      const std::function<bool(const Endpoint&)>& gone) {
  auto here = CNM_VALUE(endpoints({.ref = netns_key}));
  std::vector<std::pair<Endpoint, Network>> kept;  // CLI endpoints on outside networks
  for (const auto& e : here) {
    if (gone(e)) continue;
    for (bool v6 : {false, true})  // still routed (a CNI attachment's route included)
      if (e.routes(v6)) lost[v6] = false;
    if (!e.container_id.empty()) continue;
    auto n = network(e.network_id);
    if (n && registry_.ask(n->driver, &Driver::routes_default) && !n->internal)
      kept.emplace_back(e, std::move(*n));
  }
  std::sort(kept.begin(), kept.end(),
            [](const auto& x, const auto& y) { return x.first.created < y.first.created; });
  std::vector<bool> changed(kept.size());
  // Whether a candidate's path still names its namespace (a pid's may name another one by now):
  // asked of the kernel once, whichever families the candidate is tried for.
  enum class Netns : char { kUnasked, kSame, kOther };
  std::vector<Netns> netns(kept.size(), Netns::kUnasked);
  Status first_error;
  for (bool v6 : {false, true}) {
    if (!lost[v6]) continue;
    for (size_t i = 0; i < kept.size(); ++i) {  // the oldest that still has namespace and interface
      auto& [e, n] = kept[i];
      if (!n.has_family(v6)) continue;
      if (netns[i] == Netns::kUnasked) {
        auto id = kernel_.namespaces->identify(e.netns_path);
        if (!id && id.error().code != Code::kNotFound) {
          if (first_error) first_error = std::unexpected(id.error());
          break;
        }
        netns[i] = id && cnm::netns_key(*id) == e.netns_key ? Netns::kSame : Netns::kOther;
      }
      if (netns[i] == Netns::kOther) continue;
      auto elsewhere = routed_elsewhere(e, v6);  // another tool's route there is left alone
      if (!elsewhere && elsewhere.error().code == Code::kNotFound) continue;
      if (!elsewhere && first_error) first_error = std::unexpected(elsewhere.error());
      if (!elsewhere || *elsewhere) break;
      auto r = kernel_.endpoints->add_default_routes(e.netns_path, e.ifname, n.gateways(v6));
      if (!r && r.error().code == Code::kNotFound) continue;
      if (r) e.routes(v6) = changed[i] = true;
      if (!r && first_error) first_error = r;
      break;
    }
  }
  for (size_t i = 0; i < kept.size(); ++i)  // one record per endpoint, both families in it
    if (changed[i]) {
      const auto& [e, n] = kept[i];
      b.puts.push_back(
          {store::kEndpoints, {e.id, e.target, n.id, nlohmann::json(e).dump(), e.netns_key}});
    }
  return first_error;
}

Status EndpointService::disconnect(const std::string& network_name, const std::string& target) {
  CNM_TRY(validate_name("network", network_name));
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  auto n = network(network_name);
  if (!n && CNM_VALUE(cluster_only(network_name))) return {};  // no endpoint of it here
  if (!n) return std::unexpected(n.error());
  auto t = CNM_VALUE(resolve_target(target, false));
  auto eps = CNM_VALUE(target_endpoints(t, n->id));
  if (eps.empty()) return {};  // not connected: nothing to do
  Txn tx(store_, lock, "network disconnect " + n->name);
  CNM_TRY(remove_endpoints(tx, eps));
  return tx.commit();
}

Status EndpointService::detach_key(const std::string& network_name, const std::string& key) {
  CNM_TRY(validate_name("network", network_name));
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  auto n = CNM_VALUE(network(network_name));
  auto eps = CNM_VALUE(endpoints({.name = key, .parent = n.id}));
  if (eps.empty()) return {};
  Txn tx(store_, lock, "endpoint remove " + key);
  CNM_TRY(remove_endpoints(tx, eps));
  return tx.commit();
}

}  // namespace cnm

// Networks and addresses (overlay_peers.cc: hosts and peer records).
#include "cnm/cluster/overlay_state.h"

#include <random>
#include <unordered_set>

#include "cnm/model/validate.h"

namespace cnm::cluster {
namespace {

using Taken = std::unordered_set<uint32_t>;

std::mt19937_64& ovl_rng() {
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen;
}

uint32_t ovl_random_vni() {
  return std::uniform_int_distribution<uint32_t>(kAutoVniFirst, kVniLast)(ovl_rng());
}

bool ovl_same_definition(const OverlayNetwork& stored, const OverlayNetwork& want, bool any_vni) {
  OverlayNetwork a = stored;
  if (any_vni) a.vni = want.vni;
  return a == want;
}

// Whether `ip` may be handed out in `n`: a host address of the subnet, not the gateway.
bool ovl_assignable(const OverlayNetwork& n, const IpAddr& ip) {
  return !ip.is_v6() && n.subnet.contains(ip) && ip != n.subnet.network() &&
         ip != n.subnet.last() && ip != n.gateway;
}

// A free address of `n` at random, none when every one is taken. Mostly-empty subnets are sampled;
// a subnet at least half full is enumerated (its size is then at most twice |taken|).
std::optional<IpAddr> ovl_pick_free(const OverlayNetwork& n, const Taken& taken) {
  auto base = static_cast<uint32_t>(n.subnet.network().value());
  auto hosts = static_cast<uint32_t>(n.subnet.size() - 2);  // /8../30: fits
  if (taken.size() + 1 >= hosts) return std::nullopt;
  auto free_at = [&](uint32_t offset) {
    IpAddr ip = IpAddr::v4(base + offset);
    return ip != n.gateway && !taken.contains(base + offset);
  };
  if ((taken.size() + 1) * 2 < hosts) {
    std::uniform_int_distribution<uint32_t> d(1, hosts);
    for (;;) {
      uint32_t o = d(ovl_rng());
      if (free_at(o)) return IpAddr::v4(base + o);
    }
  }
  std::vector<uint32_t> free;
  for (uint32_t o = 1; o <= hosts; ++o)
    if (free_at(o)) free.push_back(o);
  if (free.empty()) return std::nullopt;
  return IpAddr::v4(base +
                    free[std::uniform_int_distribution<size_t>(0, free.size() - 1)(ovl_rng())]);
}

std::string ovl_owner_of(const KeyValue& kv) {
  auto host = decode_address_owner(kv.value);
  return host ? "host " + *host : "an unreadable record";
}

}  // namespace

OverlayState::OverlayState(EtcdClient& client, std::string prefix)
    : client_(client), keys_(std::move(prefix)) {}

Result<TxnResult> OverlayState::run(const Txn& t) {
  ++calls_;
  return client_.txn(t);
}

Result<OverlayState::Stored> OverlayState::load_network(std::string_view name) {
  CNM_TRY(validate_name("network", name));
  ++calls_;
  auto r = CNM_VALUE(client_.get(keys_.network(name)));
  if (r.kvs.empty()) return fail(Code::kNotFound, "no overlay network {}", name);
  const KeyValue& kv = r.kvs[0];
  auto n = decode_network(kv.value);
  if (!n) return fail(Code::kFailed, "{}: {}", kv.key, n.error().message);
  if (n->name != name) return fail(Code::kFailed, "{}: record names network {}", kv.key, n->name);
  return Stored{*n, kv.create_revision, kv.mod_revision};
}

Result<std::optional<OverlayNetwork>> OverlayState::try_claim(const OverlayNetwork& n,
                                                              bool picked_vni) {
  const std::string nk = keys_.network(n.name), vk = keys_.vni(n.vni);
  Txn t{{TxnCompare::absent(nk), TxnCompare::absent(vk)},
        {TxnOp::put(nk, encode_network(n)), TxnOp::put(vk, encode_vni_owner(n))},
        {TxnOp::get(nk), TxnOp::get(vk)}};
  auto r = CNM_VALUE(run(t));
  if (r.succeeded) return n;
  if (!r.results[0].range.kvs.empty()) {
    auto stored = decode_network(r.results[0].range.kvs[0].value);
    if (!stored)
      return fail(Code::kConflict, "network {} exists with an unreadable record ({})", n.name,
                  stored.error().message);
    if (ovl_same_definition(*stored, n, picked_vni)) return *stored;
    return fail(Code::kConflict,
                "network {} exists with another definition (id {:.12}, subnet {}, gateway {}, VNI "
                "{}, MTU {})",
                n.name, stored->id, stored->subnet.str(), stored->gateway.str(), stored->vni,
                stored->mtu);
  }
  if (picked_vni || r.results[1].range.kvs.empty()) return std::nullopt;  // pick again / retry
  auto owner = decode_vni_owner(r.results[1].range.kvs[0].value);
  return fail(Code::kConflict, "VNI {} belongs to network {}", n.vni,
              owner ? *owner : "(unreadable record)");
}

Result<OverlayNetwork> OverlayState::claim_network(const OverlayNetwork& req) {
  const bool pick = req.vni == 0;
  OverlayNetwork n = req;
  if (pick) n.vni = kAutoVniFirst;
  CNM_TRY(check_network(n));
  constexpr int kTries = 32;
  for (int i = 0; i < kTries; ++i) {
    if (pick) n.vni = ovl_random_vni();
    auto claimed = CNM_VALUE(try_claim(n, pick));
    if (claimed) return *claimed;
  }
  return fail(Code::kConflict, "network {}: no free VNI in {} tries", n.name, kTries);
}

Result<NetworkList> OverlayState::list_networks() {
  ++calls_;
  auto r = CNM_VALUE(client_.get_prefix(keys_.networks()));
  NetworkList out;
  out.revision = r.revision;
  for (const auto& kv : r.kvs) {
    auto n = decode_network(kv.value);
    if (n && kv.key != keys_.network(n->name))
      n = fail(Code::kInvalid, "record names network {}", n->name);
    if (n)
      out.networks.push_back(*n);
    else
      out.skipped.push_back({printable(kv.key), n.error().message});
  }
  return out;
}

Result<OverlayNetwork> OverlayState::get_network(std::string_view name) {
  return CNM_VALUE(load_network(name)).net;
}

Status OverlayState::remove_network(std::string_view name) {
  for (int i = 0; i < 8; ++i) {
    auto s = CNM_VALUE(load_network(name));
    const std::string nk = keys_.network(name), ak = keys_.addrs(name), pk = keys_.peers(name);
    Txn t{{TxnCompare::modified_at(nk, s.mod_revision), TxnCompare::prefix_empty(ak),
           TxnCompare::prefix_empty(pk)},
          {TxnOp::del(nk), TxnOp::del(keys_.vni(s.net.vni))},
          {TxnOp::get(nk), TxnOp::get_prefix(ak, 1), TxnOp::get_prefix(pk, 1)}};
    auto r = CNM_VALUE(run(t));
    if (r.succeeded) return {};
    const auto &net = r.results[0], &addrs = r.results[1], &peers = r.results[2];
    if (net.range.kvs.empty()) {
      if (r.retried_unknown) return {};  // this call's own delete, or gone anyway
      return fail(Code::kNotFound, "no overlay network {}", name);
    }
    if (!addrs.range.kvs.empty()) {
      const KeyValue& a = addrs.range.kvs[0];
      return fail(Code::kConflict, "network {} has {} address(es) allocated ({} held by {})", name,
                  addrs.count, printable(a.key.substr(ak.size())), ovl_owner_of(a));
    }
    if (!peers.range.kvs.empty()) {
      return fail(Code::kConflict, "network {} has {} endpoint(s) published ({})", name,
                  peers.count, printable(peers.range.kvs[0].key.substr(pk.size())));
    }
    // The record changed under us (removed and claimed again): read it again.
  }
  return fail(Code::kFailed, "network {}: changed during every removal attempt", name);
}

Result<Allocation> OverlayState::allocate_address(std::string_view network,
                                                  std::string_view host_id,
                                                  std::optional<IpAddr> want) {
  CNM_TRY(check_host_id(host_id));
  CNM_TRY(validate_name("network", network));
  const std::string nk = keys_.network(network);
  auto read =
      CNM_VALUE(run(Txn{{}, {TxnOp::get(nk), TxnOp::count_prefix(keys_.addrs(network))}, {}}));
  if (read.results[0].range.kvs.empty())
    return fail(Code::kNotFound, "no overlay network {}", network);
  const KeyValue& nkv = read.results[0].range.kvs[0];
  auto n = decode_network(nkv.value);
  if (!n) return fail(Code::kFailed, "{}: {}", nk, n.error().message);
  if (want && (want->is_v6() || !n->subnet.contains(*want)))
    return fail(Code::kInvalid, "address {} is not in network {}'s subnet {}", want->str(), network,
                n->subnet.str());
  if (want && !ovl_assignable(*n, *want))
    return fail(Code::kConflict, "address {} is reserved in network {}", want->str(), network);
  // Less than half full: random tries need no list of what is taken (a try fails with odds below
  // one half). Fuller, or after a run of conflicts: read the allocated keys and pick among the
  // rest.
  bool sparse = (read.results[1].count + 1) * 2 < static_cast<int64_t>(n->subnet.size() - 2);
  return allocate_in({*n, nkv.create_revision, nkv.mod_revision}, host_id, want, sparse);
}

Result<Allocation> OverlayState::allocate_in(const Stored& s, std::string_view host_id,
                                             std::optional<IpAddr> want, bool sparse) {
  const std::string nk = keys_.network(s.net.name), ak = keys_.addrs(s.net.name);
  const std::string mine = encode_address_owner(host_id);
  Taken taken;
  auto load_taken = [&]() -> Status {
    auto r = CNM_VALUE(run(Txn{{}, {TxnOp::keys_prefix(ak)}, {}}));
    for (const auto& kv : r.results[0].range.kvs) {
      auto ip = IpAddr::parse(std::string_view(kv.key).substr(ak.size()));
      if (ip && ovl_assignable(s.net, *ip)) taken.insert(static_cast<uint32_t>(ip->value()));
    }
    sparse = false;
    return {};
  };
  if (!sparse && !want) CNM_TRY(load_taken());
  for (int attempt = 0, conflicts = 0; attempt < 1024; ++attempt) {
    auto ip = want ? want : ovl_pick_free(s.net, taken);
    if (!ip && sparse) {
      CNM_TRY(load_taken());
      continue;
    }
    if (!ip) return fail(Code::kConflict, "network {} has no free address", s.net.name);
    const std::string key = keys_.addr(s.net.name, *ip);
    Txn t{{TxnCompare::created_at(nk, s.create_revision), TxnCompare::absent(key)},
          {TxnOp::put(key, mine)},
          {TxnOp::get(nk), TxnOp::get(key)}};
    auto r = CNM_VALUE(run(t));
    if (r.succeeded) return Allocation{*ip, overlay_mac(*ip)};
    const auto& net = r.results[0].range.kvs;
    if (net.empty() || net[0].create_revision != s.create_revision)
      return fail(Code::kNotFound, "overlay network {} was removed", s.net.name);
    const auto& held = r.results[1].range.kvs;
    if (held.empty()) continue;  // freed since: try it again
    if (r.retried_unknown && held[0].value == mine) return Allocation{*ip, overlay_mac(*ip)};
    if (want)
      return fail(Code::kConflict, "address {} of network {} is held by {}", ip->str(), s.net.name,
                  ovl_owner_of(held[0]));
    taken.insert(static_cast<uint32_t>(ip->value()));
    if (sparse && ++conflicts >= 8) CNM_TRY(load_taken());
  }
  return fail(Code::kFailed, "network {}: no address won after 1024 tries", s.net.name);
}

Status OverlayState::release_address(std::string_view network, const IpAddr& ip,
                                     std::string_view host_id) {
  CNM_TRY(check_host_id(host_id));
  CNM_TRY(validate_name("network", network));
  const std::string key = keys_.addr(network, ip);
  // The address and its peer record go together: only the address's owner can publish that.
  Txn t{{TxnCompare::value_is(key, encode_address_owner(host_id))},
        {TxnOp::del(key), TxnOp::del(keys_.peer(network, ip))},
        {TxnOp::get(key)}};
  auto r = CNM_VALUE(run(t));
  if (r.succeeded) return {};
  const auto& held = r.results[0].range.kvs;
  if (held.empty()) {
    if (r.retried_unknown) return {};
    return fail(Code::kNotFound, "address {} of network {} is not allocated", ip.str(), network);
  }
  return fail(Code::kConflict, "address {} of network {} is held by {}, not host {}", ip.str(),
              network, ovl_owner_of(held[0]), host_id);
}

}  // namespace cnm::cluster

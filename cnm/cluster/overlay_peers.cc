// Hosts, their leases and the peer records bound to them (overlay_state.cc: networks, addresses).
#include <map>

#include "cnm/cluster/cluster_config.h"
#include "cnm/cluster/overlay_state.h"
#include "cnm/model/validate.h"

namespace cnm::cluster {
namespace {

// A peer put read from etcd: checked against its network's subnet and its key.
Result<PeerRecord> peer_of_kv(const KeyValue& kv, const Prefix* subnet, std::string_view key_ip) {
  if (subnet == nullptr) return fail(Code::kInvalid, "its network is unknown");
  auto p = CNM_VALUE(decode_peer(kv.value, *subnet));
  if (p.ip.str() != key_ip)
    return fail(Code::kInvalid, "record is for {}, key for {}", p.ip.str(), printable(key_ip));
  return p;
}

}  // namespace

Result<int64_t> OverlayState::register_host(std::string_view host_id, const IpAddr& vtep,
                                            int64_t ttl) {
  CNM_TRY(check_host_id(host_id));
  if (!vtep.valid() || !parse_cluster_advertise(vtep.str()))
    return fail(Code::kInvalid, "host {}: VTEP is not a unicast address", host_id);
  ++calls_;
  auto lease = CNM_VALUE(client_.lease_grant(ttl));
  const std::string key = keys_.host(host_id), value = encode_host({std::string(host_id), vtep});
  Txn create{{TxnCompare::absent(key)}, {TxnOp::put(key, value, lease.id)}, {TxnOp::get(key)}};
  for (int i = 0; i < 4; ++i) {
    auto r = CNM_VALUE(run(create));
    if (r.succeeded) return lease.id;
    const auto& kvs = r.results[0].range.kvs;
    if (kvs.empty()) continue;
    if (kvs[0].lease == lease.id) return lease.id;  // this call's own write, answer lost
    auto old = decode_host(kvs[0].value);
    if (!old || old->vtep != vtep) {
      ++calls_;
      (void)client_.lease_revoke(lease.id);
      return fail(Code::kConflict, "host {} is registered by a live record of VTEP {}", host_id,
                  old ? old->vtep.str() : "(unreadable)");
    }
    // The same host again (a restart within its old lease): take the record over.
    Txn takeover{{TxnCompare::modified_at(key, kvs[0].mod_revision)},
                 {TxnOp::put(key, value, lease.id)},
                 {}};
    if (CNM_VALUE(run(takeover)).succeeded) return lease.id;
  }
  return fail(Code::kFailed, "host {}: its record changed during every registration attempt",
              host_id);
}

Result<Lease> OverlayState::keepalive_host(int64_t lease) {
  ++calls_;
  return client_.lease_keepalive(lease);
}

Status OverlayState::unregister_host(int64_t lease) {
  ++calls_;
  return client_.lease_revoke(lease);
}

Result<int64_t> OverlayState::publish_peer(std::string_view network, const PeerRecord& p,
                                           int64_t lease) {
  CNM_TRY(validate_name("network", network));
  static const Prefix any = *Prefix::parse("0.0.0.0/0");
  CNM_TRY(check_peer(p, any));  // the subnet: the address is allocated in it (compared below)
  const std::string ak = keys_.addr(network, p.ip), hk = keys_.host(p.host_id);
  Txn t{
      {TxnCompare::value_is(ak, encode_address_owner(p.host_id)),
       TxnCompare::value_is(hk, encode_host({p.host_id, p.vtep})), TxnCompare::lease_is(hk, lease)},
      {TxnOp::put(keys_.peer(network, p.ip), encode_peer(p), lease)},
      {TxnOp::get(ak), TxnOp::get(hk)}};
  auto r = CNM_VALUE(run(t));
  if (r.succeeded) return r.revision;
  const auto &addr = r.results[0].range.kvs, &host = r.results[1].range.kvs;
  if (addr.empty() || addr[0].value != encode_address_owner(p.host_id))
    return fail(Code::kConflict, "address {} of network {} is not held by host {}", p.ip.str(),
                network, p.host_id);
  if (host.empty() || host[0].lease != lease)
    return fail(Code::kConflict, "host {} is not registered under lease {:x}", p.host_id, lease);
  return fail(Code::kConflict, "host {} is registered with another VTEP than {}", p.host_id,
              p.vtep.str());
}

Status OverlayState::withdraw_peer(std::string_view network, const IpAddr& ip) {
  CNM_TRY(validate_name("network", network));
  ++calls_;
  CNM_TRY(client_.delete_key(keys_.peer(network, ip)));
  return {};
}

Result<PeerList> OverlayState::list_peers(std::string_view network) {
  CNM_TRY(validate_name("network", network));
  const std::string nk = keys_.network(network), pk = keys_.peers(network);
  auto r = CNM_VALUE(run(Txn{{}, {TxnOp::get(nk), TxnOp::get_prefix(pk)}, {}}));
  if (r.results[0].range.kvs.empty())
    return fail(Code::kNotFound, "no overlay network {}", network);
  auto n = decode_network(r.results[0].range.kvs[0].value);
  if (!n) return fail(Code::kFailed, "{}: {}", nk, n.error().message);
  PeerList out;
  out.revision = r.revision;
  for (const auto& kv : r.results[1].range.kvs) {
    auto p = peer_of_kv(kv, &n->subnet, std::string_view(kv.key).substr(pk.size()));
    if (p)
      out.peers.push_back(*p);
    else
      out.skipped.push_back({printable(kv.key), p.error().message});
  }
  return out;
}

Result<int64_t> OverlayState::watch_peers(std::string_view network, int64_t from_revision,
                                          const PeerCallback& callback,
                                          std::chrono::milliseconds max_wait,
                                          const PeerBatchCallback& batch_done,
                                          const std::atomic<bool>* interrupt) {
  if (!network.empty()) CNM_TRY(validate_name("network", network));
  // The subnets as they stood just before the first event, then kept up to date by the events.
  std::map<std::string, Prefix, std::less<>> subnets;
  int64_t start = from_revision;
  if (from_revision != 1) {
    int64_t at = from_revision > 0 ? from_revision - 1 : 0;
    auto r = run(Txn{{}, {TxnOp::get_prefix(keys_.networks(), 0, at)}, {}});
    if (!r) {
      // A read at a compacted revision is the watch's own kConflict: read the peers again.
      if (r.error().message.find("required revision has been compacted") != std::string::npos)
        return fail(Code::kConflict, "overlay watch from revision {}: history compacted",
                    from_revision);
      return std::unexpected(r.error());
    }
    for (const auto& kv : r->results[0].range.kvs) {
      auto n = decode_network(kv.value);
      if (n && kv.key == keys_.network(n->name)) subnets[n->name] = n->subnet;
    }
    if (from_revision <= 0) start = r->revision + 1;
  }
  // Where to resume when the callback stops in the middle of a batch: the first event it did not
  // see (events of one revision may be seen twice then, never missed).
  std::optional<int64_t> resume_at;
  auto on_batch = [&](const WatchBatch& b) {
    int64_t last_seen = 0;  // the revision of the last event passed to `callback`
    for (size_t i = 0; i < b.events.size(); ++i) {
      const WatchEvent& e = b.events[i];
      auto k = keys_.parse(e.kv.key);
      if (!k) continue;
      if (k->kind == "networks") {
        auto n = e.deleted ? Result<OverlayNetwork>(fail(Code::kInvalid, "gone"))
                           : decode_network(e.kv.value);
        if (n && n->name == k->name)
          subnets[k->name] = n->subnet;
        else
          subnets.erase(k->name);
      }
      if (k->kind != "peers" || (!network.empty() && k->name != network)) continue;
      PeerEvent ev;
      ev.network = k->name;
      ev.revision = e.kv.mod_revision;
      auto ip = IpAddr::parse(k->ip);
      if (ip) ev.ip = *ip;
      if (e.deleted) {
        if (!ip) continue;  // a key no record of ours can have
        ev.kind = PeerEvent::Kind::kRemoved;
      } else {
        auto it = subnets.find(k->name);
        auto p = peer_of_kv(e.kv, it == subnets.end() ? nullptr : &it->second, k->ip);
        if (p) {
          ev.kind = PeerEvent::Kind::kAdded, ev.peer = *p;
        } else {
          ev.kind = PeerEvent::Kind::kInvalid;
          ev.invalid = {printable(e.kv.key), p.error().message};
        }
      }
      if (!callback(ev)) {
        if (i + 1 < b.events.size()) resume_at = b.events[i + 1].kv.mod_revision;
        return false;
      }
      last_seen = ev.revision;
    }
    return last_seen == 0 || !batch_done || batch_done(last_seen);
  };
  ++calls_;
  auto next = CNM_VALUE(client_.watch_prefix(keys_.root(), start, on_batch, max_wait, interrupt));
  return resume_at.value_or(next);
}

}  // namespace cnm::cluster

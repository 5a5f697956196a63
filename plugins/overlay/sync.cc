// The kernel side of the agent: the local overlay networks from the store, and their VXLAN
// devices kept equal to the remote peers in etcd (a full sync, then one change at a time).
#include <algorithm>
#include <iterator>

#include "plugins/overlay/agent.h"
#include "plugins/overlay/log.h"

namespace overlay {
namespace {

using cnm::Code;
using cnm::kernel::FdbEntry;
using cnm::kernel::kFloodMac;
using cnm::kernel::NeighEntry;
using cnm::kernel::RemoteEndpoint;
using cnm::kernel::VxlanEntries;

// a - b of two sorted lists.
template <class T>
std::vector<T> minus(const std::vector<T>& a, const std::vector<T>& b) {
  std::vector<T> out;
  std::ranges::set_difference(a, b, std::back_inserter(out));
  return out;
}

VxlanEntries entries_of(const RemoteEndpoint& r) {
  return cnm::kernel::entries_for(std::span<const RemoteEndpoint>(&r, 1));
}

}  // namespace

cnm::Result<std::map<std::string, LocalNet>> read_local(cnm::Runtime& rt) {
  auto& c = rt.controller();
  std::map<std::string, LocalNet> out;
  for (auto& n : CNM_VALUE(c.list_networks())) {
    if (n.driver != cnm::cluster::kOverlayDriver) continue;
    LocalNet l{n.id, n.name, cnm::cluster::overlay_vxlan_name(n.id), {}};
    l.endpoints = CNM_VALUE(c.endpoints({.parent = n.id}));
    out.emplace(n.name, std::move(l));
  }
  return out;
}

cnm::Status Watcher::refresh_local() {
  auto now = read_local(rt_);
  if (!now) return std::unexpected(now.error());
  last_refresh_ = std::chrono::steady_clock::now();
  // What was programmed on a network that is no longer local went with its device.
  std::erase_if(programmed_, [&](const auto& kv) { return !now->contains(kv.first); });
  std::erase_if(synced_at_, [&](const auto& kv) { return !now->contains(kv.first); });
  // A network new here (or made again under its name) is synced in full after this batch.
  for (const auto& [name, n] : *now) {
    auto it = local_.find(name);
    if (it == local_.end() || it->second.id != n.id) dirty_ = true;
  }
  local_ = std::move(*now);
  return {};
}

cnm::Result<int64_t> Watcher::sync_network(const LocalNet& n) {
  auto peers = CNM_VALUE(state_.list_peers(n.name));
  for (const auto& s : peers.skipped) log("network {}: skipped {}: {}", n.name, s.key, s.reason);
  Remotes remotes;
  std::vector<RemoteEndpoint> list;
  for (const auto& p : peers.peers) {
    if (p.host_id == host_) continue;
    RemoteEndpoint r{p.ip, p.mac, p.vtep};
    remotes[p.ip] = r;
    list.push_back(r);
  }
  auto have = vx_->entries(n.device);
  if (!have) {
    // No device yet (the network is being set up) or no more: nothing to program.
    if (have.error().code == Code::kNotFound) return peers.revision;
    return std::unexpected(have.error());
  }
  // Flood entries are the driver's, not the peers': left as they are.
  std::erase_if(have->fdb, [](const FdbEntry& f) { return f.mac == kFloodMac; });
  VxlanEntries want = cnm::kernel::entries_for(list);
  VxlanEntries add{minus(want.fdb, have->fdb), minus(want.neigh, have->neigh)};
  VxlanEntries del{minus(have->fdb, want.fdb), minus(have->neigh, want.neigh)};
  // A neighbour whose MAC changes is replaced by the add: only entries of other IPs go.
  std::erase_if(del.neigh, [&](const NeighEntry& e) { return remotes.contains(e.ip); });
  if (!del.fdb.empty() || !del.neigh.empty()) {
    CNM_TRY(vx_->remove_entries(n.device, del));
    log("{}: removed {} stale FDB and {} neighbour entries", n.device, del.fdb.size(),
        del.neigh.size());
  }
  if (!add.fdb.empty() || !add.neigh.empty()) {
    CNM_TRY(vx_->add_entries(n.device, add));
    log("{}: added {} FDB and {} neighbour entries", n.device, add.fdb.size(), add.neigh.size());
  }
  programmed_[n.name] = std::move(remotes);
  synced_at_[n.name] = peers.revision;
  return peers.revision;
}

cnm::Result<int64_t> Watcher::resync() {
  CNM_TRY(refresh_local());
  dirty_ = false;
  int64_t least = 0;
  std::set<std::string> ids;
  for (const auto& [name, n] : local_) {
    auto rev = sync_network(n);
    if (!rev) {
      log("sync of network {}: {}", name, rev.error().message);
      return std::unexpected(rev.error());
    }
    least = least == 0 ? *rev : std::min(least, *rev);
    ids.insert(n.id);
  }
  if (least == 0) least = CNM_VALUE(state_.list_networks()).revision;
  need_sync_ = false;
  shared_.set_synced(std::move(ids));
  return least;
}

bool Watcher::on_event(const cnm::cluster::PeerEvent& e) {
  using Kind = cnm::cluster::PeerEvent::Kind;
  if (e.kind == Kind::kInvalid) {
    log("skipped {}: {}", e.invalid.key, e.invalid.reason);
    return true;
  }
  auto it = local_.find(e.network);
  if (it == local_.end() &&
      std::chrono::steady_clock::now() - last_refresh_ > std::chrono::milliseconds(50)) {
    if (auto st = refresh_local(); !st) log("read the store: {}", st.error().message);
    it = local_.find(e.network);
  }
  if (it == local_.end()) return true;  // not used here
  // A change the last full sync of the network already read.
  if (auto at = synced_at_.find(e.network); at != synced_at_.end() && e.revision <= at->second)
    return true;
  const std::string& dev = it->second.device;
  Remotes& done = programmed_[e.network];
  if (e.kind == Kind::kRemoved) {
    auto p = done.find(e.ip);
    if (p == done.end()) return true;  // this host's own, or never programmed
    if (auto st = vx_->remove_entries(dev, entries_of(p->second)); !st) {
      log("{}: remove {}: {}", dev, e.ip.str(), st.error().message);
      dirty_ = true;
      return true;
    }
    log("{}: removed {} {} via {}", dev, e.ip.str(), p->second.mac, p->second.vtep.str());
    done.erase(p);
    return true;
  }
  const cnm::cluster::PeerRecord& p = *e.peer;
  if (p.host_id == host_) return true;
  RemoteEndpoint r{p.ip, p.mac, p.vtep};
  if (auto st = vx_->add_entries(dev, entries_of(r)); !st) {
    // A device not made yet is synced in full once it is there.
    if (st.error().code != Code::kNotFound)
      log("{}: add {}: {}", dev, p.ip.str(), st.error().message);
    dirty_ = true;
    return true;
  }
  done[p.ip] = r;  // another VTEP for the MAC replaced the old one
  log("{}: added {} {} via {} (host {})", dev, p.ip.str(), p.mac, p.vtep.str(), p.host_id);
  return true;
}

}  // namespace overlay

// The watch thread: one watch on every peer record, open for as long as nothing goes wrong. etcd
// serves a watch that starts at a past revision (as a re-created one nearly always does: other
// hosts' acks move the revision) from a loop that runs every 100 ms, so each re-creation would
// delay the changes put meanwhile by up to 100 ms, and the commands waiting for their acks with
// them. Full syncs are therefore made inside the stream, after a batch; the watch is re-created
// only after an error, a compaction, or an interrupt from the main thread.
#include <thread>

#include "plugins/overlay/agent.h"
#include "plugins/overlay/log.h"

namespace overlay {
namespace {

using cnm::Code;

// The longest one watch lasts without an error or an interrupt: a backstop only (a member that
// goes silent is found by TCP keepalive, EtcdClient::watch_prefix).
constexpr std::chrono::minutes kWatchBackstop(10);

}  // namespace

Watcher::Watcher(const AgentOptions& o, cnm::Runtime& rt,
                 std::unique_ptr<cnm::kernel::Vxlans> vxlans, std::string host_id, Shared& shared)
    : rt_(rt),
      vx_(std::move(vxlans)),
      host_(std::move(host_id)),
      shared_(shared),
      etcd_(cnm::cluster::EtcdOptions{o.urls}),
      state_(etcd_) {}

void Watcher::run() {
  int failures = 0;
  for (;;) {
    auto st = cycle();
    if (st) {
      failures = 0;
      continue;
    }
    // etcd unreachable: keep trying, slower each time, and sync in full once it answers.
    log("{}", st.error().message);
    need_sync_ = true;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min(1000, 100 << std::min(failures++, 4))));
  }
}

cnm::Status Watcher::cycle() {
  // Cleared before the resync request is read: a request made after this ends the next watch.
  shared_.interrupt = false;
  if (shared_.resync.exchange(false)) need_sync_ = true;
  if (need_sync_ || dirty_) {
    int64_t rev = CNM_VALUE(resync());
    if (next_ == 0) next_ = rev + 1;
    ack(rev);
  }
  log("watching every peer from revision {}", next_);  // once, unless something went wrong
  auto on_ev = [this](const cnm::cluster::PeerEvent& e) { return on_event(e); };
  auto on_b = [this](int64_t rev) { return on_batch(rev); };
  auto next = state_.watch_peers("", next_, on_ev, kWatchBackstop, on_b, &shared_.interrupt);
  if (next) {
    next_ = *next;
    return {};
  }
  if (next.error().code != Code::kConflict) return std::unexpected(next.error());
  log("watch from revision {}: history compacted, reading every peer again", next_);
  next_ = 0;
  need_sync_ = true;
  return {};
}

bool Watcher::on_batch(int64_t revision) {
  if (shared_.resync.exchange(false)) need_sync_ = true;
  if (need_sync_ || dirty_) {
    // In the stream: the watch stays open, and the changes the sync read already are skipped
    // when they arrive (on_event).
    auto rev = resync();
    if (!rev) {
      log("full sync: {}", rev.error().message);
      need_sync_ = true;
      return false;  // the loop syncs again (or waits for etcd), then watches from here
    }
    revision = std::max(revision, *rev);
  }
  ack(revision);
  return true;
}

void Watcher::ack(int64_t revision) {
  // A change that could not be applied is not acknowledged: the next batch syncs in full first.
  const int64_t lease = shared_.lease.load();
  if (lease != acked_lease_) acked_ = 0, acked_lease_ = lease;  // the old lease's ack went with it
  if (dirty_ || revision <= acked_) return;
  auto st = state_.put_ack(host_, revision, lease);
  if (st)
    acked_ = revision;
  else  // a lost lease: the main thread registers again and asks for a resync, acked then
    log("ack of revision {}: {}", revision, st.error().message);
}

}  // namespace overlay

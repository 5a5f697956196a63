// Acknowledgements: each host's agent says up to which revision it has programmed its kernel, so
// that a command which published a peer can wait until every live host reaches it.
#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "cnm/cluster/overlay_state.h"

namespace cnm::cluster {

Status OverlayState::put_ack(std::string_view host_id, int64_t revision, int64_t lease) {
  CNM_TRY(check_host_id(host_id));
  if (revision < 1) return fail(Code::kInvalid, "ack of host {}: revision {}", host_id, revision);
  // Written only while the host's record is under this lease, and bound to it: an ack never
  // outlives its host.
  const std::string hk = keys_.host(host_id);
  Txn t{{TxnCompare::lease_is(hk, lease)},
        {TxnOp::put(keys_.ack(host_id), encode_ack({std::string(host_id), revision}), lease)},
        {}};
  if (CNM_VALUE(run(t)).succeeded) return {};
  return fail(Code::kNotFound, "host {} is not registered under lease {:x}", host_id, lease);
}

// Reads the hosts and their acks again and again (1 ms apart at first, then up to 16 ms) rather
// than watching acks/: etcd serves a watch that starts at a past revision (which it nearly always
// is here: other hosts write acks) from a loop that runs every 100 ms, so a watch waits up to 100
// ms for acks that a read sees after one round trip (tests/bench/overlay.sh).
Result<std::vector<std::string>> OverlayState::wait_acks(int64_t revision, std::string_view self,
                                                         std::chrono::milliseconds max_wait) {
  const std::string hp = keys_.hosts(), ap = keys_.acks();
  const auto end = std::chrono::steady_clock::now() + max_wait;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    ++calls_;
    auto r = CNM_VALUE(run(Txn{{}, {TxnOp::keys_prefix(hp), TxnOp::get_prefix(ap)}, {}}));
    std::set<std::string> pending;
    for (const auto& kv : r.results[0].range.kvs) {
      std::string host = kv.key.substr(hp.size());
      if (host != self && check_host_id(host)) pending.insert(host);
    }
    for (const auto& kv : r.results[1].range.kvs) {
      auto a = decode_ack(kv.value);
      if (a && a->revision >= revision && kv.key == keys_.ack(a->host_id))
        pending.erase(a->host_id);
    }
    if (pending.empty() || std::chrono::steady_clock::now() + pause > end)
      return std::vector<std::string>(pending.begin(), pending.end());
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(16));
  }
}

}  // namespace cnm::cluster

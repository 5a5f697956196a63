// netctl-overlay: the per-host agent of overlay networks (issue 27). It holds this host's lease in
// etcd, keeps the peer records of the host's overlay endpoints published under it, watches every
// host's peer records and programs the VXLAN devices of the overlay networks this host uses, and
// acknowledges each change it applied. One per state root; it leaves when the root has no overlay
// endpoint any more (plugins/overlay/README.md).
//
// Two threads, each with its own etcd client and store handle: the main thread (Agent) holds the
// lease (registration, keepalive, re-registration), decides to leave and handles SIGTERM; the
// watch thread (Watcher) keeps one watch on the peer records open and programs the kernel.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cnm/cluster/etcd.h"
#include "cnm/cluster/overlay_state.h"
#include "cnm/kernel/vxlan.h"
#include "cnm/runtime.h"

namespace overlay {

struct AgentOptions {
  std::string root;               // the state root (absolute)
  std::vector<std::string> urls;  // the etcd members, "http://H:P"
  cnm::IpAddr advertise;          // this host's VTEP address
  int ttl = 10;                   // seconds, the host's lease
  int lock_fd = -1;               // holds ROOT/overlay/agent.lock; released before "err"
  int ready_fd = -1;              // told "ok LEASE", "busy" or "err MESSAGE" once, then closed
};

// An overlay network this host has endpoints on, as its local record says.
struct LocalNet {
  std::string id;
  std::string name;
  std::string device;  // overlay_vxlan_name(id)
  std::vector<cnm::Endpoint> endpoints;
};

// The local overlay networks by name, from the store of `rt`.
cnm::Result<std::map<std::string, LocalNet>> read_local(cnm::Runtime& rt);

// What the two threads share.
struct Shared {
  std::atomic<int64_t> lease{0};       // the host's lease: acks are written under it
  std::atomic<bool> resync{false};     // the watch thread syncs in full at its next peer event
  std::atomic<bool> interrupt{false};  // ends the watch (a resync asked without an event to come)

  // The ids of the networks the watch thread has synced in full.
  void set_synced(std::set<std::string> ids) {
    std::lock_guard g(mu_);
    synced_ = std::move(ids);
  }
  bool synced(const std::string& id) {
    std::lock_guard g(mu_);
    return synced_.contains(id);
  }

 private:
  std::mutex mu_;
  std::set<std::string> synced_;
};

// The watch thread: one watch on every peer record, kept open; each change applied to the
// kernel and acknowledged. Re-created only after an error, a compaction or an interrupt.
class Watcher {
 public:
  Watcher(const AgentOptions& o, cnm::Runtime& rt, std::unique_ptr<cnm::kernel::Vxlans> vxlans,
          std::string host_id, Shared& shared);
  // Never returns: the process ends from the main thread.
  [[noreturn]] void run();

 private:
  using Remotes = std::map<cnm::IpAddr, cnm::kernel::RemoteEndpoint>;

  cnm::Status refresh_local();
  // Makes every local network's device hold exactly its remote peers; returns the revision the
  // state was read at (the least over the networks).
  cnm::Result<int64_t> resync();
  // Syncs one network's device with its peers in etcd; returns the revision read.
  cnm::Result<int64_t> sync_network(const LocalNet& n);
  // A full sync if one is due, then one watch until an error, a compaction or an interrupt.
  cnm::Status cycle();
  // Applies one watched change to the kernel.
  bool on_event(const cnm::cluster::PeerEvent& e);
  // After a batch of peer changes: a full sync if one is due, then the ack.
  bool on_batch(int64_t revision);
  void ack(int64_t revision);

  cnm::Runtime& rt_;
  std::unique_ptr<cnm::kernel::Vxlans> vx_;
  std::string host_;
  Shared& shared_;
  cnm::cluster::EtcdClient etcd_;
  cnm::cluster::OverlayState state_;
  int64_t next_ = 0;   // the revision the watch resumes from (0: after the next sync)
  int64_t acked_ = 0;  // the last revision acknowledged under acked_lease_
  int64_t acked_lease_ = 0;
  bool need_sync_ = true;  // a full sync before the next change (start, error, compaction)
  bool dirty_ = false;     // a kernel change failed, or a network is new here: sync in full
  std::map<std::string, LocalNet> local_;
  std::map<std::string, Remotes> programmed_;  // by network name: what is on the devices
  std::map<std::string, int64_t> synced_at_;   // by network name: the revision of its last sync
  std::chrono::steady_clock::time_point last_refresh_{};
};

// The main thread: registration, keepalive, re-registration, leaving, SIGTERM.
class Agent {
 public:
  // `rt` serves this thread, `watch_rt` the watch thread (a store handle each).
  Agent(AgentOptions o, cnm::Runtime& rt, cnm::Runtime& watch_rt,
        std::unique_ptr<cnm::kernel::Vxlans> vxlans, std::string host_id);
  // Registers, starts the watch thread, then keeps the lease until the root has no overlay
  // endpoint or SIGTERM; returns the exit status (end the process then: the watch thread runs
  // on). The caller holds ROOT/overlay/agent.lock.
  int run();

 private:
  // Registers the host, writes ROOT/overlay/lease and publishes every local endpoint's record.
  cnm::Status register_host();
  // Keepalive, re-registration of a lost lease, a full sync for networks new here.
  cnm::Status round();
  // Whether an overlay endpoint is left (a failed read counts as one); asks the watch thread for
  // a full sync when a local network is not synced yet.
  bool busy();
  // Leaves if the root has no overlay endpoint: true once it has unregistered (exit then).
  bool leave_if_idle(bool force);
  void ask_resync();
  void ready(const std::string& line);

  AgentOptions o_;
  cnm::Runtime& rt_;
  std::string host_;
  cnm::cluster::EtcdClient etcd_;
  cnm::cluster::OverlayState state_;
  Shared shared_;
  Watcher watcher_;
  int64_t lease_ = 0;
  bool lost_ = false;         // the lease is gone: register again
  bool interrupted_ = false;  // the watch was interrupted for the pending resync request
  std::chrono::steady_clock::time_point resync_asked_{};
};

}  // namespace overlay

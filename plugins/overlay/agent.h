// netctl-overlay: the per-host agent of overlay networks (issue 27). It holds this host's lease in
// etcd, keeps the peer records of the host's overlay endpoints published under it, watches every
// host's peer records and programs the VXLAN devices of the overlay networks this host uses, and
// acknowledges each change it applied. One per state root; it leaves when the root has no overlay
// endpoint any more (plugins/overlay/README.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
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

class Agent {
 public:
  Agent(AgentOptions o, cnm::Runtime& rt, std::unique_ptr<cnm::kernel::Vxlans> vxlans,
        std::string host_id);
  // Registers, syncs, then watches until the root has no overlay endpoint or SIGTERM; returns the
  // exit status. The caller holds ROOT/overlay/agent.lock.
  int run();

 private:
  using Remotes = std::map<cnm::IpAddr, cnm::kernel::RemoteEndpoint>;

  // The local overlay networks by name, from the store.
  cnm::Result<std::map<std::string, LocalNet>> read_local();
  cnm::Status refresh_local();
  // Registers the host, writes ROOT/overlay/lease and publishes every local endpoint's record.
  cnm::Status register_host();
  // Makes every local network's device hold exactly its remote peers; returns the revision the
  // state was read at (the least over the networks).
  cnm::Result<int64_t> resync();
  // Syncs one network's device with its peers in etcd; returns the revision read.
  cnm::Result<int64_t> sync_network(const LocalNet& n);
  // Applies one watched change to the kernel.
  bool on_event(const cnm::cluster::PeerEvent& e);
  bool on_batch(int64_t revision);
  // One round: watch until a batch of changes or the round's time is over, then keepalive.
  cnm::Status round();
  // Leaves if the root has no overlay endpoint: true once it has unregistered (exit then).
  bool leave_if_idle(bool force);
  void ready(const std::string& line);

  AgentOptions o_;
  cnm::Runtime& rt_;
  std::unique_ptr<cnm::kernel::Vxlans> vx_;
  std::string host_;
  cnm::cluster::EtcdClient etcd_;
  cnm::cluster::OverlayState state_;
  int64_t lease_ = 0;
  int64_t next_ = 0;    // the revision the watch resumes from
  int64_t acked_ = 0;   // the last revision acknowledged
  bool lost_ = false;   // the lease is gone: register again
  bool dirty_ = false;  // a kernel change failed: resync
  std::map<std::string, LocalNet> local_;
  std::map<std::string, Remotes> programmed_;  // by network name: what the agent put on devices
  std::chrono::steady_clock::time_point last_refresh_{}, last_keepalive_{};
};

}  // namespace overlay

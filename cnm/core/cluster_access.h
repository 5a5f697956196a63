// What the services and global-scope drivers (overlay) need of the cluster store: network
// definitions, global IPAM and peer records in etcd (cnm/cluster/overlay_state.h), and this host's
// agent (netctl-overlay, cnm/core/overlay_control.h), which holds the host's lease. One interface,
// so the services and drivers stay free of etcd and unit tests can put a fake in its place.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/core/config.h"
#include "cnm/kernel/vxlan.h"
#include "cnm/model/error.h"
#include "cnm/model/model.h"

namespace cnm {
namespace kernel {
struct FaultPlan;
}  // namespace kernel

class ClusterAccess {
 public:
  virtual ~ClusterAccess() = default;

  // This host: its id in the cluster (the root id) and its VTEP (cluster-advertise).
  virtual const std::string& host_id() const = 0;
  virtual const IpAddr& vtep() const = 0;

  // Claims `n` (name, id, pools[0], options["vni"] when given, mtu) for the cluster; sets
  // options["vni"] to the VNI it got. kConflict: the name or the VNI is taken.
  virtual Status claim(Network& n) = 0;
  // Every network of the cluster, as records of driver "overlay" (no kernel objects named).
  virtual Result<std::vector<Network>> networks() = 0;
  // nullopt if the cluster has no network of that name.
  virtual Result<std::optional<Network>> network(std::string_view name) = 0;
  // Removes the definition; kConflict while any host holds an address or a peer record on it.
  virtual Status remove(std::string_view name) = 0;

  // A free address of n's subnet for this host (random), or exactly `want`.
  virtual Result<IpAddr> allocate(const Network& n, std::optional<IpAddr> want) = 0;
  // Frees `ip` if this host holds it; one nobody holds counts as freed.
  virtual Status release(const Network& n, const IpAddr& ip) = 0;
  // The addresses of `network` this host holds (recovery and gc compare them with the records).
  virtual Result<std::vector<IpAddr>> held(std::string_view network) = 0;

  // Publishes `ep` (its first address, its MAC, this VTEP) bound to the host's lease; starts the
  // agent when none runs. Returns the revision of the write.
  virtual Result<int64_t> publish(const Network& n, const Endpoint& ep) = 0;
  // Withdraws the peer record of `ip` (gone counts as withdrawn).
  virtual Status withdraw(const Network& n, const IpAddr& ip) = 0;
  // The endpoints of `n` on other hosts, as the VXLAN device needs them.
  virtual Result<std::vector<kernel::RemoteEndpoint>> remotes(const Network& n) = 0;
  // Waits until every live host's agent has seen `revision`, at most `max_wait`; returns the
  // hosts that had not.
  virtual Result<std::vector<std::string>> await(int64_t revision,
                                                 std::chrono::milliseconds max_wait) = 0;
  // gc: frees the addresses of hosts dead longer than the grace period (cnm/core/cluster_gc.h);
  // one line per address freed.
  virtual Result<std::vector<std::string>> free_dead_hosts() = 0;
  // Requests sent to the cluster store by this process (NETCTL_CLUSTER_STATS, the benchmark).
  virtual long requests() const = 0;
};

// The cluster of `config` for the state root `root` with id `root_id`, over etcd; null when no
// cluster-store is configured. Nothing is connected before the first call.
std::unique_ptr<ClusterAccess> make_etcd_cluster(const Config& config, const std::string& root,
                                                 const std::string& root_id);

// NETCTL_FAIL_AT: every write to the cluster store counts as one step (cnm/kernel/fault.h).
std::unique_ptr<ClusterAccess> with_faults(std::unique_ptr<ClusterAccess> inner,
                                           kernel::FaultPlan* plan);

// The VNI of a global network record (options["vni"]); kFailed if absent or bad.
Result<uint32_t> network_vni(const Network& n);

}  // namespace cnm

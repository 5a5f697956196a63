// The addresses of dead hosts (cnm/core/cluster_access.h, ClusterAccess::free_dead_hosts): a host
// whose record expired with its lease keeps its addresses for a grace period (it may be restarting
// its agent); after that, `netctl gc` on any host frees them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cnm/cluster/etcd.h"
#include "cnm/cluster/overlay_records.h"
#include "cnm/model/error.h"

namespace cnm {

inline constexpr const char* kOverlayGraceEnv = "NETCTL_OVERLAY_GRACE";
inline constexpr std::chrono::seconds kOverlayGraceDefault{300};

// $NETCTL_OVERLAY_GRACE (seconds, 1-86400; unset: 300), Code::kInvalid naming it if bad.
Result<std::chrono::seconds> overlay_grace(const char* value);

// Marks each host that holds addresses but has no record as dead since now (PREFIX dead/HOST,
// created once), and frees the addresses of those dead for longer than `grace`, each in a
// transaction that requires the host still unregistered and the address unchanged. A host that
// registered again loses its mark. Returns one line per address freed.
Result<std::vector<std::string>> free_dead_hosts(cluster::EtcdClient& client,
                                                 const cluster::OverlayKeys& keys,
                                                 std::chrono::seconds grace);

}  // namespace cnm

// The cluster settings of multi-host networks: `cluster-store: etcd://H:P[,H:P...]` (the etcd
// members' client URLs) and `cluster-advertise: IP` (this host's address on the underlay), from the
// config file or the environment (NETCTL_CLUSTER_STORE, NETCTL_CLUSTER_ADVERTISE win).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/model/error.h"

namespace cnm::cluster {

struct StoreEndpoint {
  std::string host;  // an IPv4 or IPv6 literal (without brackets) or a DNS name
  uint16_t port = 0;
  bool operator==(const StoreEndpoint&) const = default;
  // "http://host:port", IPv6 literals in brackets: what the client connects to.
  std::string url() const;
};

struct ClusterConfig {
  std::vector<StoreEndpoint> store;  // empty: no cluster store
  std::string advertise;             // empty: not set
  bool enabled() const { return !store.empty(); }
  std::vector<std::string> urls() const;
};

// At most this many members in cluster-store.
inline constexpr size_t kMaxStoreEndpoints = 16;

// "etcd://H:P[,H:P...]": H an IPv4 literal, [IPv6] or a DNS name, P 1-65535, no duplicates.
Result<std::vector<StoreEndpoint>> parse_cluster_store(std::string_view value);
// An IPv4 or IPv6 unicast literal, neither unspecified, loopback nor multicast.
Result<std::string> parse_cluster_advertise(std::string_view value);

using EnvLookup = std::function<const char*(const char*)>;
// The settings from the config file's raw values (nullopt: key absent), each replaced by its
// environment variable when that is set and not empty. Bad values are Code::kInvalid naming the
// key or variable they came from.
Result<ClusterConfig> cluster_config(std::optional<std::string_view> store,
                                     std::optional<std::string_view> advertise,
                                     const EnvLookup& env);
// The error a multi-host command gives when the settings are missing: kInvalid, one line.
Status require_cluster(const ClusterConfig& c);

}  // namespace cnm::cluster

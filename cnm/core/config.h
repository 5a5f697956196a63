// The YAML configuration file (default /etc/netctl/config.yaml; a missing file is fine).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cnm/cluster/cluster_config.h"
#include "cnm/model/error.h"
#include "cnm/model/ipam.h"

namespace cnm {

inline constexpr const char* kDefaultConfigPath = "/etc/netctl/config.yaml";
inline constexpr const char* kDefaultRoot = "/var/lib/netctl";

struct Config {
  std::string root;                       // state root; "" = not set in the file
  std::vector<AddressPoolBase> pools_v4;  // default-address-pools with IPv4 bases
  std::vector<AddressPoolBase> pools_v6;  // ... with IPv6 bases
  unsigned mtu = 1500;                    // default MTU of new networks
  std::string netns_dir = "/run/netns";   // where sandboxes are bind-mounted
  std::string cgroup_parent;              // containers' cgroup parent; "" = env or "netctl"
  // firewall-backend: "nftables", "iptables" or "auto" (cnm/core/firewall_backend.h); the
  // environment variable NETCTL_FIREWALL_BACKEND overrides it.
  std::string firewall_backend = "auto";
  // cluster-store and cluster-advertise (cnm/cluster/cluster_config.h), each replaced by
  // NETCTL_CLUSTER_STORE / NETCTL_CLUSTER_ADVERTISE when set: what overlay networks need.
  cluster::ClusterConfig cluster;
};

// Loads `path`. With `required`, a missing file is Code::kInvalid; otherwise it yields the
// defaults. Malformed YAML, unknown keys or bad values are Code::kInvalid naming the file and line.
Result<Config> load_config(const std::string& path, bool required);
// Parses config text; `name` stands for the file in error messages (load_config's parser).
Result<Config> parse_config(std::string_view text, const std::string& name);

}  // namespace cnm

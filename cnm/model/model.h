// The CNM objects as stored: Network, Endpoint, Sandbox. Bodies are JSON in the store.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/model/ipam.h"
#include "cnm/model/ports.h"

namespace cnm {

struct Network {
  std::string id;  // 64 hex characters
  std::string name;
  std::string driver = "bridge";
  std::string created;  // RFC 3339, UTC
  bool ipv6 = false;
  bool internal = false;
  unsigned mtu = 0;                            // 0: driver default
  std::vector<Pool> pools;                     // IPv4 first, then IPv6
  std::map<std::string, std::string> options;  // driver options as given (-o)
  std::map<std::string, std::string> labels;
  std::string bridge;  // kernel device name (bridge driver), "" otherwise
  // True while every endpoint that ever joined used the MAC derived from its IPv4 address (Docker's
  // 02:42:<IPv4>) and no IPv6 address: an address handed out again then comes back with the same
  // MAC, no neighbour can hold another one for it, and attach sends no announcement. A record
  // without this field reads as false (always announce), the safe answer when its history is
  // unknown.
  bool derived_macs_only = false;
  // Set when the bridge existed before the network (-o com.docker.network.bridge.name naming a
  // bridge netctl did not make): netctl never deletes it, and on removal takes back only what it
  // added: the gateway addresses the bridge lacked, and route_localnet if it turned that on.
  struct Adopted {
    std::vector<Prefix> addresses;
    bool route_localnet = false;
  };
  std::optional<Adopted> adopted;

  bool has_family(bool v6) const {
    return std::ranges::any_of(pools, [v6](const Pool& p) { return p.subnet.is_v6() == v6; });
  }
  // The gateways of its pools of one family (IPv6 or IPv4), in pool order.
  std::vector<IpAddr> gateways(bool v6) const {
    std::vector<IpAddr> out;
    for (const auto& p : pools)
      if (p.subnet.is_v6() == v6) out.push_back(p.gateway);
    return out;
  }
};

// A veth pair joining a network to a namespace. `target` is what the user named, normalised:
// "sandbox:<id>", "container:<id>", "pid:<N>" or a namespace path.
struct Endpoint {
  std::string id;
  std::string network_id;
  std::string target;
  std::string sandbox_id;  // the sandbox or container id, "" for pid/path targets
  std::string netns_path;  // how the namespace was reached at connect time
  std::string netns_key;   // "<dev>:<ino>" of the namespace
  std::string ifname;      // inside the namespace
  std::string host_ifname;
  std::string mac;
  std::vector<Prefix> addresses;  // address/len
  // The names the DNS server (cnm/dns) answers for it, each also as NAME.NETWORK: `dns_name` (the
  // container's or sandbox's name, CNI's K8S_POD_NAME; "" for pid and path targets) and `aliases`
  // (--alias, --network-alias, runtimeConfig.aliases). Both are DNS labels (validate_dns_label).
  std::string dns_name;
  std::vector<std::string> aliases;
  // The default routes it gives its namespace, one holder per family as in Docker 27: a sandbox on
  // an IPv4-only network and then on a dual-stack one takes its IPv6 default from the second.
  bool default_route = false;   // IPv4, via its network's IPv4 gateway
  bool default_route6 = false;  // IPv6, via its network's IPv6 gateway
  std::string created;
  std::vector<PortSpec> ports;    // published, with host ports chosen
  std::string container_id = {};  // the runtime's container ID (CNI_CONTAINERID), "" otherwise
  // The peer was made in netctl's own namespace as `ifname`, with its MAC but no addresses or
  // routes, for another manager to move into its container and configure (Docker's remote driver:
  // dockerd moves and renames it). netns_path and netns_key are then "".
  bool handoff = false;

  bool& routes(bool v6) { return v6 ? default_route6 : default_route; }
  bool routes(bool v6) const { return v6 ? default_route6 : default_route; }
};

// The network option that turns its DNS service off ("false" or "0"; anything else means on).
inline constexpr const char* kDnsOption = "netctl.dns";
// Whether netctl's DNS server serves `n`: a bridge network (Network::bridge set) with an IPv4 pool
// whose -o netctl.dns is not "false" or "0".
bool dns_enabled(const Network& n);

// The gateways of `n` in the families `e` holds the default route for, in pool order.
std::vector<IpAddr> routed_gateways(const Network& n, const Endpoint& e);

// Docker's rule: 02:42 followed by the IPv4 address, unique while addresses are.
std::string mac_from(const IpAddr& v4);
// Whether `e` has an IPv4 address, no IPv6 one, and the MAC derived from the former.
bool uses_derived_mac(const Endpoint& e);
// Whether attaching `e` to `n` must announce its addresses (gratuitous ARP / unsolicited NA): some
// neighbour may hold another MAC for one of them.
bool needs_announcement(const Network& n, const Endpoint& e);

// A named network namespace bind-mounted at `netns_path` (/run/netns/<name>).
struct Sandbox {
  std::string id;
  std::string name;
  std::string netns_path;
  std::string netns_key;
  std::string created;
};

// `netctl run` as given by the user (cnm/containers/run.cc validates every field).
struct RunRequest {
  std::string name;
  std::vector<std::string> networks;         // empty: the default network netctl0
  std::vector<std::string> network_aliases;  // --network-alias: on every network it joins
  std::string ip;
  std::vector<std::string> publish;  // -p specs, on the first network
  std::string hostname, rootfs, memory, cpus, workdir, user;
  int64_t pids_limit = 0;
  std::vector<std::string> env;  // K=V
  bool detach = false;
  bool auto_remove = false;
  std::vector<std::string> cap_add, cap_drop;  // capability names, "ALL" allowed
  std::vector<std::string> security_opt;       // seccomp=unconfined | seccomp=FILE
  std::vector<std::string> log_opt;            // max-size=SIZE, max-file=N (detached only)
  std::vector<std::string> cmd;
};

// `netctl exec`: a process in a running container, as the container's user, in its working
// directory, with its environment, capabilities and seccomp profile unless overridden.
struct ExecRequest {
  std::string container;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // K=V, over the container's
  std::string user, workdir;     // "": the container's
};

// A container's lifecycle. Its text ("created", "running", "exited") is what the record stores
// (the "Status" field and the store's ref column) and what ps/inspect show; nothing else compares
// text.
enum class ContainerStatus { kCreated, kRunning, kExited };

std::string_view container_status_name(ContainerStatus s);
// The status named `name`, or nullopt for any other text.
std::optional<ContainerStatus> parse_container_status(std::string_view name);

// A workload started by `netctl run`; its endpoints have target "container:<id>".
struct Container {
  std::string id;
  std::string name;
  std::string created;
  std::vector<std::string> cmd, env;
  std::string hostname, rootfs, workdir, user;
  std::vector<std::string> networks;  // network ids
  std::vector<std::string> publish;
  std::string ip;
  int64_t memory = 0, pids_limit = 0;  // 0: unlimited
  double cpus = 0;
  bool detach = false, auto_remove = false;
  std::vector<std::string> cap_add, cap_drop;
  std::string seccomp;       // "": the default profile; "unconfined"; else a Docker JSON profile
  int64_t log_max_size = 0;  // bytes per log file before rotation; 0: the default
  int log_max_file = 0;      // log files kept, the live one included; 0: the default
  std::string dir;  // <root>/containers/<id>: overlay upper/work, /etc files, log, exit status
  std::string cgroup_parent, cgroup_version;
  // Its cgroup leaf is `<cgroup_prefix>-<id>` under the parent: the id of the state root that made
  // it ("": a bare `<id>`, as recorded before roots had ids).
  std::string cgroup_prefix;
  ContainerStatus status = ContainerStatus::kCreated;
  int pid = 0;             // the workload (PID 1 inside), on the host
  uint64_t pid_start = 0;  // its start time (/proc/N/stat), so a reused pid is not it
  int supervisor = 0;      // the process that waits for it
  uint64_t supervisor_start = 0;
  int exit_code = 0;
  bool oom_killed = false;
  std::string started, finished;
};

void to_json(nlohmann::json& j, const Container& c);
void from_json(const nlohmann::json& j, Container& c);

void to_json(nlohmann::json& j, const Pool& p);
void from_json(const nlohmann::json& j, Pool& p);
void to_json(nlohmann::json& j, const Network& n);
void from_json(const nlohmann::json& j, Network& n);
void to_json(nlohmann::json& j, const Endpoint& e);
void from_json(const nlohmann::json& j, Endpoint& e);
void to_json(nlohmann::json& j, const Sandbox& s);
void from_json(const nlohmann::json& j, Sandbox& s);

// A fresh random 64-hex id.
std::string new_id();
// `at` as RFC 3339 with nanoseconds, UTC ("2026-11-28T18:24:14.000000001Z").
std::string rfc3339(std::chrono::system_clock::time_point at);
// The current time, as rfc3339().
std::string now_rfc3339();

}  // namespace cnm

// The controller: every command's validate -> lock -> plan -> apply -> commit (docs/architecture.md
// sections 3, 4). Front ends (CLI, CNI plugin) call only this.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cnm/config.h"
#include "cnm/driver.h"
#include "cnm/ipam.h"
#include "cnm/model.h"
#include "cnm/store/store.h"

namespace cnm {
class Txn;
struct ContainerIntent;
namespace launcher {
class Plan;
struct Pipes;
}  // namespace launcher
namespace kernel {
struct FirewallChange;
struct NetnsId;
}  // namespace kernel
}  // namespace cnm

namespace cnm {

// `netctl network create` as given by the user; the controller parses and validates every field.
struct NetworkCreateRequest {
  std::string name;
  std::string driver = "bridge";
  std::vector<std::string> subnets, gateways, ip_ranges;
  std::vector<std::string> aux;  // NAME=IP
  bool ipv6 = false;
  bool internal = false;
  unsigned mtu = 0;  // 0: from -o, the config, or 1500
  std::map<std::string, std::string> options, labels;
};

// `netctl network connect` as given by the user.
struct ConnectRequest {
  std::string network;
  std::string target;  // sandbox or container name or id, pid:N[@start], or a namespace path
  std::string ip, ip6, mac, ifname;
  std::vector<std::string> aliases;
  std::vector<std::string> publish;  // -p specs
};

// One attach of connect, run (through connect) and CNI ADD: what differs between them.
struct AttachRequest {
  const ConnectRequest& req;
  // The record's target key instead of the resolved one ("cni:<id>" for CNI), or "".
  std::string key{};
  // CNI: the container the attachment belongs to; one attachment per (network, id, ifname).
  std::string container_id{};
  // Names the transaction ("cni add c1"); "" for "network connect <network>".
  std::string txn_label{};
  // Prefixed to, and marks as Subject::kNetns, a target refused as Code::kInvalid ("CNI_NETNS").
  std::string target_context{};
};

// A target resolved to a namespace. `key` identifies it in endpoint records.
struct Target {
  // "sandbox:<id>", "container:<id>", "pid:<N>@<start time>" (a reused pid is another key), or
  // the path.
  std::string key{};
  std::string sandbox_id;  // for sandboxes
  std::string path;        // the namespace's path
  std::string netns_key;   // "<dev>:<ino>", "" when the namespace is gone
  // For disconnect, records of this target under other keys: "pid:<N>" (written before the start
  // time was part of the key), and with `key_prefix` "pid:<N>@" every record of a pid that no
  // process has now (all of them are gone).
  std::vector<std::string> other_keys;
  std::string key_prefix;
  // The namespace held open from resolution until the attach is done (kernel::HeldNetns).
  std::shared_ptr<void> hold;
};

// The "<dev>:<ino>" key of a namespace in sandbox and endpoint records.
std::string netns_key(const kernel::NetnsId& id);

// What `doctor` found: differences between the kernel and the store.
struct Drift {
  std::vector<std::string> missing_rules, foreign_rules;  // iptables-save lines
  std::vector<std::string> missing_links, foreign_links;  // device names
  // Sandboxes whose namespace is gone ("name (path)"), endpoints whose host veth is gone
  // ("<network> <target> <veth>"), IPAM rows whose owner record is gone ("pool addr owner").
  std::vector<std::string> missing_netns, dead_endpoints, orphan_addresses;
  std::vector<std::string> containers;  // gc: containers, cgroups, directories repaired
  size_t size() const {
    return missing_rules.size() + foreign_rules.size() + missing_links.size() +
           foreign_links.size() + missing_netns.size() + dead_endpoints.size() +
           orphan_addresses.size() + containers.size();
  }
  bool empty() const { return size() == 0; }
};

class Controller {
 public:
  // Neither `store`, `ipam` nor the kernel adapters are owned.
  Controller(Config config, store::Store& store, const Ipam& ipam, KernelContext kernel,
             Registry registry);

  Result<Network> create_network(const NetworkCreateRequest& req);
  // Removes every named network or none: all must exist (else Code::kNotFound) and have no
  // endpoints (else Code::kConflict). Kernel objects go in one batch.
  Status remove_networks(const std::vector<std::string>& names);
  // Removes every network without endpoints; returns their names.
  Result<std::vector<std::string>> prune_networks();

  Result<std::vector<Network>> list_networks();
  // Code::kNotFound if no network has this name, id, or id prefix.
  Result<Network> network(const std::string& name_or_id);

  // Joins a network to a namespace: veth pair, addresses, routes. All or nothing.
  Result<Endpoint> connect(const ConnectRequest& req);
  // Removes the endpoint of `network` in `target`. Succeeds when there is none (idempotent) and
  // when the namespace or its process is gone; an unknown network is Code::kNotFound.
  Status disconnect(const std::string& network, const std::string& target);
  // Endpoints matching `f` (parent = network id, name = target key, ref = netns key).
  Result<std::vector<Endpoint>> endpoints(const store::Filter& f);

  Result<Sandbox> create_sandbox(const std::string& name);
  // Removes sandboxes (all must exist); one with endpoints is Code::kConflict unless `force`,
  // which disconnects them first.
  Status remove_sandboxes(const std::vector<std::string>& names, bool force);
  Result<std::vector<Sandbox>> list_sandboxes();
  Result<Sandbox> sandbox(const std::string& name_or_id);

  // Compares the kernel with the store; changes nothing.
  Result<Drift> doctor();
  // Repairs drift: removes netctl links and rules the store does not know, puts back missing
  // rules. Returns what it found.
  Result<Drift> gc();
  // doctor and gc for sandboxes, endpoints and IPAM rows (cnm/reconcile_objects.cc): finds
  // drift, and repairs it by dropping what lost its kernel object (with its rules and addresses)
  // and releasing rows without an owner.
  Status doctor_objects(Drift& d);
  Status gc_objects(const store::WriteLock& lock, const Drift& d);

  // Finishes or undoes what a crashed command left in the intent journal, then finishes containers
  // whose supervisor died (reap_containers). Called by every write command under `lock`; returns
  // how many intents and containers were handled.
  Result<int> recover(const store::WriteLock& lock);
  // The intent part of recover(); gc reaps (and reports) dead containers itself.
  Result<int> recover_intents(const store::WriteLock& lock);

  // --- CNI plugin operations (cnm/cni_ops.cc) ---
  // CNI attachments are endpoints with target "cni:<container id>" (container_id set), one per
  // (network, container id, ifname); they are found by that key even when the namespace is gone.

  // The network a CNI configuration names: the existing one called `req.name`, else (with
  // `create`) one made from `req`. Concurrent callers that race to create it all get the one made.
  Result<Network> cni_network(const NetworkCreateRequest& req, bool create);
  // ADD: joins the namespace at req.target (a path) as interface req.ifname. An attachment that
  // exists already is Code::kConflict; a namespace that is gone is Code::kNotFound; a req.target
  // that cannot be attached (not a namespace, netctl's own) is Code::kInvalid "CNI_NETNS: ...".
  Result<Endpoint> cni_add(const ConnectRequest& req, const std::string& container_id);
  // DEL: removes the attachment, its address and its rules. Succeeds when there is none, when the
  // network is unknown and when the namespace is gone.
  Status cni_del(const std::string& network, const std::string& container_id,
                 const std::string& ifname);
  // CHECK: the attachment's record, IPAM entries, host end on the bridge, the interface inside
  // `netns` with its MAC, addresses and default routes, and the firewall rules of the network and
  // of its published ports. Returns the endpoint (for the caller's prevResult comparison).
  Result<Endpoint> cni_check(const std::string& network, const std::string& container_id,
                             const std::string& ifname, const std::string& netns);
  // GC: removes every CNI attachment of `network` whose (container id, ifname) is not in `valid`
  // (ifname "" matches any). Returns the removed endpoints.
  Result<std::vector<Endpoint>> cni_gc(
      const std::string& network, const std::vector<std::pair<std::string, std::string>>& valid);
  // STATUS: the store takes a write and the kernel adapters answer. Code::kFailed names the cause.
  Status cni_status();

  // --- containers: `netctl run` and friends (cnm/container_ops.cc) ---

  // Runs a workload (cnm/container_run.cc): its namespaces, cgroups, rootfs and endpoints are
  // ready before exec. Foreground: waits and returns its exit code (128+N for signal N); detached
  // (`-d`): prints nothing, returns 0 once it runs and the supervisor waits for it. `started`
  // is called with the container once it runs (the CLI prints the id for -d).
  Result<int> run(const RunRequest& req, const std::function<void(const Container&)>& started);
  // Code::kNotFound if no container has this name, id or id prefix.
  Result<Container> container(const std::string& name_or_id);
  Result<std::vector<Container>> list_containers();
  // Called by the supervisor (`netctl container-exited ID`) once the workload exited: records the
  // exit status it wrote, tears down endpoints and port rules; --rm removes everything.
  Status container_exited(const std::string& id);
  // TERM (or `sig`), then KILL after `timeout_s`; returns once the teardown finished.
  Status stop_container(const std::string& name, int timeout_s);
  Status kill_container(const std::string& name, int sig);
  // A running container is Code::kConflict unless `force` (which kills it first).
  Status remove_containers(const std::vector<std::string>& names, bool force);
  // Runs `cmd` inside a running container's namespaces and cgroups; returns its exit code.
  Result<int> exec_container(const ExecRequest& r);
  // Containers not exited whose supervisor (the shim, or the netctl process
  // running them in the foreground or setting them up) is gone get their cgroup killed and are
  // finished like an exit (endpoints and port rules removed; --rm ones removed). Returns them.
  Result<std::vector<std::string>> reap_containers(const store::WriteLock& lock);
  // From gc: reap_containers, then removes cgroups and container
  // directories no record knows. Returns what it repaired.
  Result<std::vector<std::string>> gc_containers(const store::WriteLock& lock);
  // What gc_containers would repair, changing nothing (for doctor).
  Result<std::vector<std::string>> container_drift();
  // Removes what a crashed `run` declared (intent kind "container").
  Status recover_container(const ContainerIntent& object);

  store::Store& store() { return store_; }
  const Config& config() const { return config_; }
  // The drivers networks may name (netctl info lists them).
  const Registry& registry() const { return registry_; }

 private:
  Result<std::vector<Pool>> plan_pools(const NetworkCreateRequest& req, const Network& n,
                                       std::span<const Network> existing);
  // Removes networks already checked removable, in one transaction.
  Status remove_checked_networks(const store::WriteLock& lock, std::vector<Network> nets);
  // Removes what a crashed command's intent names: firewall rules, links, namespaces.
  Status recover_objects(const std::vector<std::string>& links,
                         const std::vector<std::string>& netns, kernel::FirewallChange& fw,
                         const std::vector<std::string>& dropped);
  // Resolves a target of connect, run and CNI ADD (`attach`) or of disconnect. For an attach, a
  // namespace that is gone is Code::kNotFound, a container that is not running Code::kConflict,
  // and netctl's own namespace (its bridges': /proc/self/ns/net, pid:1 on most hosts, ...)
  // Code::kInvalid. A pid or a container's workload is bound to its process start time, so a
  // reused pid never resolves to another process's namespace. Disconnect refuses none of these,
  // so records can always be removed.
  Result<Target> resolve_target(const std::string& target, bool attach);
  // The endpoints of network `network_id` that disconnecting `t` removes: those recorded under its
  // keys, else those in its namespace.
  Result<std::vector<Endpoint>> target_endpoints(const Target& t, const std::string& network_id);
  // Declares, removes and drops `eps` within `tx` (which the caller commits).
  Status remove_endpoints(Txn& tx, const std::vector<Endpoint>& eps);
  // Docker's gateway rule after `removed` left, per family: a namespace that lost the endpoint
  // holding its IPv4 (IPv6) default route gets one again through the longest-connected endpoint it
  // keeps on a bridge network with that family that is not internal (record updated in `b`). CNI
  // attachments are their runtime's: they never get the route this way, but one that held it and
  // left hands it to a CLI endpoint. A namespace or interface that is gone needs no route; another
  // failure is returned. Every namespace is tried; the first failure is returned.
  Status reelect_gateways(store::Batch& b, const std::vector<Endpoint>& removed);
  // One namespace and the families it lost (lost[0] IPv4, lost[1] IPv6): for each, the oldest
  // candidate whose namespace and interface are still there.
  Status elect_gateway(store::Batch& b, const std::string& netns_key, std::array<bool, 2> lost,
                       const std::function<bool(const Endpoint&)>& gone);
  // (pool, next address): allocation hints for store::Batch::set_hints.
  using Hints = std::vector<std::pair<std::string, std::string>>;
  // The attach path shared by connect and cni_add (req validated): lock, recover, network,
  // driver, target, endpoint and ports planned, driver join, record and commit.
  Result<Endpoint> attach(const AttachRequest& a);
  // Chooses the endpoint's addresses (and their pools' new hints), MAC, names and interface.
  Result<Endpoint> plan_endpoint(const ConnectRequest& req, const Network& n, const Target& t,
                                 Hints& hints);
  // An address of `pool` (store key `key`): `want`, or the lowest free one (cnm/addresses.cc).
  Result<IpAddr> allocate_address(const Pool& pool, const std::string& key,
                                  const std::optional<IpAddr>& want, Hints& hints);
  // Lowers the allocation hints of n's pools to the lowest address `eps` (leaving n) release.
  void lower_hints(Txn& tx, const Network& n, const std::vector<Endpoint>& eps);
  // Puts an attached endpoint into tx's batch: its record, its address, MAC and host port rows
  // (port_rows get it as owner), the allocation hints, and the network's record when this
  // endpoint ends its derived_macs_only.
  void record_endpoint(Txn& tx, const Network& n, const Endpoint& ep,
                       std::vector<store::Batch::Addr> port_rows, Hints hints);
  // Chooses and checks the host ports of req.publish; appends their store rows (owner unset).
  Result<std::vector<PortSpec>> plan_ports(const ConnectRequest& req, const Network& n,
                                           std::vector<store::Batch::Addr>& rows);
  // The firewall state the store asks for: every bridge network and every published port.
  Result<kernel::FirewallChange> desired_firewall();
  Result<std::string> port_taken(const PortSpec& p, uint32_t port,
                                 const std::vector<PortSpec>& chosen);

  // --- CNI plugin helpers (cnm/cni_ops.cc) ---
  // The CNI attachments of network `n` for `container_id` (all of them when "") and `ifname`
  // (any when "").
  Result<std::vector<Endpoint>> cni_find(const Network& n, const std::string& container_id,
                                         const std::string& ifname);
  // What is wrong with attachment `ep` in the kernel and the store, as one message; "" if nothing.
  Result<std::string> cni_verify(const Network& n, const Endpoint& ep, const std::string& netns);

  // --- container helpers (cnm/container_ops.cc) ---
  // run -d: the read end of the workload's output pipe and the log file, for the supervisor.
  std::pair<int, int> log_fds_{-1, -1};
  Result<Container> create_container(const RunRequest& req);
  // Records the exit, removes endpoints (and with auto_remove everything).
  Status finish_container(const store::WriteLock& lock, Container c, int wait_status, bool known);
  Status put_container(const Container& c);
  // Removes cgroups, directory and record of an exited container within `tx`.
  Status remove_container(Txn& tx, const Container& c);
  // Moves the held workload into its cgroups, records it running, connects its networks and
  // writes its /etc files.
  Status attach_workload(Container& c, int supervisor, int pid, const RunRequest& r);
  // The ids of the networks a run joins; none named: netctl0, created on first use.
  Result<std::vector<std::string>> run_networks(std::vector<std::string> names);
  // Clones the held workload: as our child, or for -d as the child of a forked supervisor.
  Status start_workload(const Container& c, const launcher::Plan& plan, launcher::Pipes& pipes,
                        int& supervisor, int& pid);
  // Kills what a failed run started and removes the container; returns `e`.
  Result<int> abort_run(const Container& c, int supervisor, int pid, Error e);

  Config config_;
  store::Store& store_;
  const Ipam& ipam_;
  KernelContext kernel_;
  Registry registry_;
};

// Checks an object name against ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ (Code::kInvalid otherwise).
Status validate_name(std::string_view kind, std::string_view name);

}  // namespace cnm

// Endpoints and sandboxes: the one attach path of `network connect`, `run` and CNI ADD, detach,
// the gateway election, and sandbox create/remove (docs/architecture.md section 3).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cnm/core/service.h"
#include "cnm/model/requests.h"

namespace cnm {
class Txn;
namespace kernel {
struct NetnsId;
}  // namespace kernel

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
  // The endpoint's DNS name (CNI: K8S_POD_NAME, validated); "": the target's name, if it is a DNS
  // label (a sandbox's or container's; none for pid and path targets).
  std::string dns_name{};
  // Whether the attach itself makes sure the DNS server serves a DNS network it committed on
  // (Service::ensure_dns); false: the caller does, once for several attaches (`run`).
  bool ensure_dns = true;
  // The target is not resolved: the peer is made in netctl's own namespace as req.ifname (which
  // must be given), unconfigured, for another manager to move (Endpoint::handoff); `key` names the
  // record's target and must be given.
  bool handoff = false;
};

// A target resolved to a namespace. `key` identifies it in endpoint records.
struct Target {
  // "sandbox:<id>", "container:<id>", "pid:<N>@<start time>" (a reused pid is another key), or
  // the path.
  std::string key{};
  std::string sandbox_id;  // for sandboxes
  std::string name;        // the sandbox's or container's name, "" for pid and path targets
  std::string path;        // the namespace's path
  std::string netns_key;   // "<dev>:<ino>", "" when the namespace is gone
  // For disconnect, records of this target under other keys: "pid:<N>" (the key form without the
  // start time, which older records carry), and with `key_prefix` "pid:<N>@" every record of a pid
  // that no process has now (all of them are gone).
  std::vector<std::string> other_keys;
  std::string key_prefix;
  // The namespace held open from resolution until the attach is done (kernel::HeldNetns).
  std::shared_ptr<void> hold;
  // Attach: the endpoint records of this namespace (`here`), and `stale` ones of an ended
  // namespace the kernel gave the same "<dev>:<ino>" (nsfs reuses a freed inode number), which
  // the attach drops in its own transaction.
  std::vector<Endpoint> here, stale;
};

// The "<dev>:<ino>" key of a namespace in sandbox and endpoint records.
std::string netns_key(const kernel::NetnsId& id);

// The target key of a CNI attachment: "cni:<container id>".
inline std::string cni_key(const std::string& container_id) { return "cni:" + container_id; }

class EndpointService : public Service {
 public:
  using Service::Service;

  // Joins a network to a namespace: veth pair, addresses, routes. All or nothing. With
  // `ensure_dns` false the caller makes sure of the DNS server afterwards (AttachRequest).
  Result<Endpoint> connect(const ConnectRequest& req, bool ensure_dns = true);
  // Removes the endpoint of `network` in `target`. Succeeds when there is none (idempotent) and
  // when the namespace or its process is gone; an unknown network is Code::kNotFound.
  Status disconnect(const std::string& network, const std::string& target);
  // The attach path shared by connect and CNI ADD (req validated): lock, recover, network,
  // driver, target, endpoint and ports planned, driver join, record and commit; then, with the
  // lock released, the DNS server when the network serves DNS (a failure there only warns).
  Result<Endpoint> attach(const AttachRequest& a);
  // connect() for a handoff endpoint (AttachRequest::handoff) recorded under target `key`: `req`
  // validated as connect's (its target is ignored), DNS left to the endpoint's manager.
  Result<Endpoint> attach_handoff(const ConnectRequest& req, const std::string& key);
  // Removes the endpoints of `network` recorded under target key `key` (handoff endpoints, whose
  // target is not a namespace). Succeeds when there are none; an unknown network is
  // Code::kNotFound.
  Status detach_key(const std::string& network, const std::string& key);
  // Declares, removes and drops `eps` within `tx` (which the caller commits).
  Status remove_endpoints(Txn& tx, const std::vector<Endpoint>& eps);
  // Docker's gateway rule after `removed` left, per family: a namespace that lost the endpoint
  // holding its IPv4 (IPv6) default route gets one again through the longest-connected endpoint it
  // keeps on a bridge network with that family that is not internal (record updated in `b`). CNI
  // attachments are their runtime's: they never get the route this way, but one that held it and
  // left hands it to a CLI endpoint. A family the namespace has a default route for out of another
  // interface (another tool's) is left alone. A namespace or interface that is gone needs no route;
  // another failure is returned. Every namespace is tried; the first failure is returned.
  Status reelect_gateways(store::Batch& b, const std::vector<Endpoint>& removed);
  // The CNI attachments of network `n` for `container_id` (all of them when "") and `ifname`
  // (any when "").
  Result<std::vector<Endpoint>> cni_find(const Network& n, const std::string& container_id,
                                         const std::string& ifname);

  Result<Sandbox> create_sandbox(const std::string& name);
  // Removes sandboxes (all must exist); one with endpoints is Code::kConflict unless `force`,
  // which disconnects them first.
  Status remove_sandboxes(const std::vector<std::string>& names, bool force);

 private:
  // (pool, next address): allocation hints for store::Batch::set_hints.
  using Hints = std::vector<std::pair<std::string, std::string>>;
  // Resolves a target of connect, run and CNI ADD (`attach`) or of disconnect. For an attach, a
  // namespace that is gone is Code::kNotFound, a container that is not running Code::kConflict,
  // and netctl's own namespace (its bridges': /proc/self/ns/net, pid:1 on most hosts, ...)
  // Code::kInvalid. A pid or a container's workload is bound to its process start time, so a
  // reused pid never resolves to another process's namespace. Disconnect refuses none of these,
  // so records can always be removed.
  Result<Target> resolve_target(const std::string& target, bool attach);
  // The endpoints of network `network_id` that disconnecting `t` removes: those recorded under its
  // keys, else the live ones in its namespace (records_in).
  Result<std::vector<Endpoint>> target_endpoints(const Target& t, const std::string& network_id);
  // Whether endpoint record `e` belongs to a namespace that exists: its host link is there (a veth
  // pair ends with its namespace), or, without one, its path still names its namespace.
  Result<bool> endpoint_alive(const Endpoint& e);
  // The endpoint records under namespace key `netns_key`: those of the namespace that has it now
  // (`live`) and those of an ended one that had it (`stale`).
  struct KeyRecords {
    std::vector<Endpoint> live, stale;
  };
  Result<KeyRecords> records_in(const std::string& netns_key);
  // Removes `stale` records (Target::stale) within `tx`, with their IPAM rows and kernel objects;
  // their default routes ended with their namespace and are not handed on.
  Status drop_stale(Txn& tx, std::vector<Endpoint> stale);
  // One namespace and the families it lost (lost[0] IPv4, lost[1] IPv6): for each, the oldest
  // candidate whose namespace and interface are still there.
  Status elect_gateway(store::Batch& b, const std::string& netns_key, std::array<bool, 2> lost,
                       const std::function<bool(const Endpoint&)>& gone);
  // The target of a handoff attach (AttachRequest::handoff): no namespace; its key not in use.
  Result<Target> handoff_target(const AttachRequest& a);
  // attach() up to its commit, under the store's lock; `dns`: whether the network serves DNS.
  // `dns`: the network's IPv4 gateway when it serves DNS, else empty.
  // `published`: the cluster store's revision of a global network's peer record, else 0.
  Result<Endpoint> attach_locked(const AttachRequest& a, std::vector<IpAddr>& dns,
                                 int64_t& published);
  // Global-scope networks (cnm/endpoint/global.cc). The network an attach names: this root's, or
  // else the cluster's (`fresh`: none here yet; checked against this root's networks).
  Result<Network> attach_network(const std::string& name, bool& fresh);
  // Before the endpoint is planned: the overlay intent, the network's kernel objects when `fresh`,
  // and an address from the cluster (req.ip given: exactly that one), written into req.ip.
  Status join_global(Txn& tx, Network& n, bool fresh, Driver& driver, ConnectRequest& req);
  // After the join: the peer record, withdrawn on rollback; returns its revision.
  Result<int64_t> publish_global(Txn& tx, const Network& n, const Endpoint& ep);
  // Whether `name` is a network of the cluster of which this root has no record (so no endpoint).
  Result<bool> cluster_only(const std::string& name);
  // Puts network `n`'s record into tx's batch.
  static void put_network(Txn& tx, const Network& n);
  // After the commit: waits (up to 1 s) until every live host's agent saw the peer record; one
  // that did not is a warning on stderr.
  void await_peers(int64_t revision);
  // Within remove_endpoints: the cluster's side of `eps` leaving global network `n` (their peer
  // records and addresses), and n's local record and kernel objects when no endpoint stays here.
  Status plan_leave_global(Txn& tx, const Network& n, const std::vector<Endpoint>& eps,
                           Driver& driver, bool& last);
  // `going`: the networks this removal takes away here (n among them when `last`), left out of
  // the isolation that stays.
  Status leave_global(Txn& tx, const Network& n, const std::vector<Endpoint>& eps, Driver& driver,
                      bool last, const std::vector<std::string>& going);
  // Chooses the endpoint's addresses (and their pools' new hints), MAC, names and interface.
  Result<Endpoint> plan_endpoint(const ConnectRequest& req, const Network& n, const Target& t,
                                 Hints& hints);
  // The default routes `ep` gives its namespace, from plan_endpoint's and what the kernel has
  // there (cnm/endpoint/routes.cc): a family the namespace already has a default route for, from
  // any tool, is left alone; req.default_route takes every family of the network and refuses
  // (Code::kConflict) a namespace that has one already, Code::kInvalid a network that gives none.
  Status plan_routes(const ConnectRequest& req, const Network& n, const Target& t, Endpoint& ep);
  // Whether e's namespace has a default route of that family out of another interface than e's
  // (Code::kNotFound: the namespace is gone).
  Result<bool> routed_elsewhere(const Endpoint& e, bool v6);
  // An address of `pool` (store key `key`): `want`, or the lowest free one; with `mac_key` (a
  // network's MAC rows) the lowest free one whose derived MAC (mac_from) is free there too, so a
  // --mac taken by another endpoint only moves the choice on (cnm/endpoint/addresses.cc).
  Result<IpAddr> allocate_address(const Pool& pool, const std::string& key,
                                  const std::optional<IpAddr>& want, Hints& hints,
                                  const std::string& mac_key = {});
  // Lowers the allocation hints of n's pools to the lowest address `eps` (leaving n) release: their
  // addresses, and the IPv4 addresses whose derived MAC they held.
  void lower_hints(Txn& tx, const Network& n, const std::vector<Endpoint>& eps);
  // Puts an attached endpoint into tx's batch: its record, its address, MAC and host port rows
  // (port_rows get it as owner), the allocation hints, and the network's record when this
  // endpoint ends its derived_macs_only.
  void record_endpoint(Txn& tx, const Network& n, const Endpoint& ep,
                       std::vector<store::Batch::Addr> port_rows, Hints hints);
  // Chooses and checks the host ports of req.publish on `n` (whose driver is `driver`); appends
  // their store rows (owner unset).
  Result<std::vector<PortSpec>> plan_ports(const ConnectRequest& req, const Network& n,
                                           const Driver& driver,
                                           std::vector<store::Batch::Addr>& rows);
  Result<std::string> port_taken(const PortSpec& p, uint32_t port,
                                 const std::vector<PortSpec>& chosen);
};

}  // namespace cnm

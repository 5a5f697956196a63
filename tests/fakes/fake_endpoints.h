// Recording fakes of Namespaces and Endpoints for unit tests, sharing FakeLinks' StepCounter so a
// fail-at-step-k sweep covers them too. They mirror the Linux implementations' contracts and
// messages (conflicts, missing namespaces, rollback).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cnm/kernel/endpoints.h"
#include "tests/fakes/fake_links.h"

namespace cnm::kernel {

// In-memory network namespaces by path. Kernel steps (each ticks the counter): create(), and
// remove() of a namespace that exists. A failing step returns Code::kFailed
// "injected failure at step N" and changes nothing.
//
// As in the kernel, a namespace lives while anything refers to it: a path (a bind mount, or a
// process's /proc/N/ns/net: removing that path is the process exiting), or the `hold` of a
// HeldNetns (an open nsfs file, or a process a test lets run in it). remove() takes only the path
// away; the namespace, its interfaces and their veth pairs stay while another path with the same
// id or a hold remains. Without another path it is then listed as "net:[<ino>]" (what
// /proc/N/ns/net reads for it) until the last hold goes.
class FakeNamespaces : public Namespaces {
 public:
  explicit FakeNamespaces(StepCounter* steps = nullptr);
  FakeNamespaces(const FakeNamespaces&) = delete;  // holds point at this object
  FakeNamespaces& operator=(const FakeNamespaces&) = delete;

  // Path -> names of the interfaces inside; create() adds {"lo"}. Tests may preload namespaces
  // made by others (a container's /proc/N/ns/net).
  std::map<std::string, std::set<std::string>> netns;
  // Path -> identity. create() and identify() assign fresh ones; tests may make two paths alias
  // one namespace by giving them the same id.
  std::map<std::string, NetnsId> ids;
  // "create /run/netns/x", "remove /run/netns/x"; a call that failed ends in " -> <message>".
  std::vector<std::string> log;
  // Called with the path of every namespace that ends: remove() of its last reference, or the
  // release of the last hold of one without a path ("net:[<ino>]").
  std::function<void(const std::string&)> on_remove;
  // Called with (old path, new path) when remove() takes away a path of a namespace that lives
  // on: its interfaces are now listed under the new path.
  std::function<void(const std::string&, const std::string&)> on_move;
  // Pid -> start time for hold_process() (a pid not in it: any start); its namespace is the one at
  // /proc/<pid>/ns/net. own() is `own_id`: tests alias a path to it through `ids`.
  std::map<int, uint64_t> starts;
  NetnsId own_id{.dev = 4, .ino = 1};
  // Called by hold() (and hold_process()) with the path, after it was resolved: tests change what
  // is at the path between resolution and use.
  std::function<void(const std::string&)> after_hold;

  Status create(const std::string& path) override;
  Status remove(const std::string& path) override;
  Result<NetnsId> identify(const std::string& path) override;
  Result<HeldNetns> hold(const std::string& path) override;
  Result<HeldNetns> hold_process(int pid, uint64_t start) override;
  Result<NetnsId> own() override;
  // "lo" first, then the others by name (the kernel lists by ifindex; lo is always 1).
  Result<std::vector<std::string>> interfaces(const std::string& path) override;

 private:
  Status record(std::string line, Status st);
  // Where the namespace at `path` lives on once `path` is gone ("": it ends).
  std::string survivor(const std::string& path) const;
  std::shared_ptr<void> pin(NetnsId id);
  void unpin(NetnsId id);

  std::map<NetnsId, int> pins_;  // live holds by namespace
  std::shared_ptr<FakeNamespaces*> self_ = std::make_shared<FakeNamespaces*>(this);
  uint64_t next_ino_ = 4026532000;  // nsfs inode numbers look like this
  StepCounter own_steps_;
  StepCounter* steps_;
};

// A default route in a namespace: out of `ifname` via `via`.
struct FakeRoute {
  std::string ifname;
  IpAddr via;
  bool operator==(const FakeRoute&) const = default;
};

// In-memory endpoints over a FakeLinks (the host ends) and a FakeNamespaces (the peers). Kernel
// steps of attach(), in the Linux order: creating the pair, the peer up, each address, each
// default route. On success the host end is in links.links (kind "veth", the bridge's index as
// master, up) and the peer's name in ns.netns[netns_path]; a failure after the pair exists removes
// both again. Deleting the host end through links.delete_links() removes the peer and the routes
// through it, and the end of the namespace removes the host end, as the kernel does.
//
// Default routes are kept per namespace, at most one per family: attach() with a gateway of a
// family the namespace already routes fails Code::kConflict "...: File exists" (the kernel's
// EEXIST), while add_default_routes() counts such a route as added, as the Linux adapter does.
class FakeEndpoints : public Endpoints {
 public:
  FakeEndpoints(FakeLinks& links, FakeNamespaces& ns, StepCounter* steps = nullptr);
  FakeEndpoints(const FakeEndpoints&) = delete;  // the fakes' hooks point at this object
  FakeEndpoints& operator=(const FakeEndpoints&) = delete;
  ~FakeEndpoints() override;

  // Host end -> (namespace path, peer name) of every pair that exists.
  std::map<std::string, std::pair<std::string, std::string>> peers;
  // Host end -> the peer's addresses (a gateway must be on one of their subnets).
  std::map<std::string, std::vector<Prefix>> addresses;
  // Namespace path -> family (true: IPv6) -> its default route. Tests may preload the route of a
  // namespace made by someone else.
  std::map<std::string, std::map<bool, FakeRoute>> routes;
  // "attach nv1 nc-x /run/netns/a eth0 mac=02:42:0a:00:00:02 mtu=1500 10.0.0.2/24 via 10.0.0.1";
  // a call that failed ends in " -> <message>".
  std::vector<std::string> log;

  Status attach(const EndpointSpec& spec) override;
  // One kernel step; logs "route /run/netns/a eth1 via 10.0.0.1 [via fd00::1]".
  Status add_default_routes(const std::string& netns_path, const std::string& ifname,
                            std::span<const IpAddr> gateways) override;
  // Not a step: the routes of `routes[netns_path]`, IPv4 first.
  Result<std::vector<DefaultRouteView>> default_routes(const std::string& netns_path,
                                                       const std::string& netns_key) override;

 private:
  Status create_pair(const EndpointSpec& spec);
  Status configure(const EndpointSpec& spec);
  void remove_pair(const std::string& host_ifname);
  void forget_peer(const std::string& host_ifname);
  // Fails like the kernel's RTM_NEWROUTE with NLM_F_EXCL; adds the route on success.
  Status add_route(const std::string& path, const std::string& host_ifname, const IpAddr& gw,
                   const std::string& doing);

  FakeLinks& links_;
  FakeNamespaces& ns_;
  std::function<void(const std::string&)> prev_on_delete_, prev_on_remove_;
  std::function<void(const std::string&, const std::string&)> prev_on_move_;
  StepCounter own_steps_;
  StepCounter* steps_;
};

}  // namespace cnm::kernel

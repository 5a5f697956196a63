// Network namespaces and endpoint plumbing across namespaces (docs/architecture.md section 5). The
// real implementation never switches the calling thread: it opens a netlink socket inside a target
// namespace on a short-lived thread and talks to that namespace through it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cnm/kernel/netns_view.h"
#include "cnm/model/error.h"
#include "cnm/model/net.h"

namespace cnm::kernel {

// Identity of a network namespace: the (st_dev, st_ino) of its nsfs inode.
struct NetnsId {
  uint64_t dev = 0;
  uint64_t ino = 0;
  auto operator<=>(const NetnsId&) const = default;
};

// A namespace resolved for an attach, held open: while `hold` lives the namespace cannot be freed,
// so no other namespace can take its identity (nsfs reuses a freed namespace's inode number).
struct HeldNetns {
  NetnsId id;
  uint64_t start = 0;          // hold_process(): the process's start time
  std::shared_ptr<void> hold;  // Linux: the open nsfs file; fakes: nothing
};

class Namespaces {
 public:
  virtual ~Namespaces() = default;
  // Creates a new network namespace bind-mounted at `path` (its directory is created if missing)
  // with loopback up. An existing `path` is Code::kConflict. On failure nothing is left.
  virtual Status create(const std::string& path) = 0;
  // Unmounts (lazily) and unlinks `path`; a path that does not exist counts as removed, and so does
  // one holding a namespace this root did not make (lo not in its group): that is left alone.
  virtual Status remove(const std::string& path) = 0;
  // The namespace at `path` (a bind mount, /proc/N/ns/net, ...): Code::kNotFound if there is none.
  virtual Result<NetnsId> identify(const std::string& path) = 0;
  // identify(), with the namespace held open (HeldNetns).
  virtual Result<HeldNetns> hold(const std::string& path) = 0;
  // The network namespace of process `pid`, held open, if that process is the one that started at
  // `start` (field 22 of /proc/N/stat; 0: whichever has the pid now); HeldNetns::start is its start
  // time. A process that is gone, a zombie, or a pid now used by another process is
  // Code::kNotFound: a reused pid never yields another process's namespace.
  virtual Result<HeldNetns> hold_process(int pid, uint64_t start) = 0;
  // The namespace netctl itself runs in, where its bridges are (/proc/self/ns/net).
  virtual Result<NetnsId> own() = 0;
  // Names of the network interfaces inside the namespace at `path`.
  virtual Result<std::vector<std::string>> interfaces(const std::string& path) = 0;
};

// One endpoint's kernel objects: a veth pair, host end on a bridge, peer inside a namespace.
struct EndpointSpec {
  std::string host_ifname;  // in the current namespace: enslaved to `bridge` and up
  std::string bridge;
  std::string netns_path;         // the namespace the peer is created in
  std::string netns_key;          // "<dev>:<ino>" it must still have ("": any), else kNotFound
  std::string ifname;             // the peer's name there
  std::string mac;                // the peer's MAC, "02:42:0a:58:00:02"
  unsigned mtu = 1500;            // both ends
  std::vector<Prefix> addresses;  // address/len on the peer
  std::vector<IpAddr> gateways;   // a default route via each (at most one per family)
  bool hairpin = false;           // hairpin mode on the host end's bridge port
  bool announce = true;           // arp_notify and the gratuitous ARP / unsolicited NA
};

class Endpoints {
 public:
  virtual ~Endpoints() = default;
  // Creates the pair with the peer made directly inside the namespace (no move) with its MAC and
  // MTU, host end on the bridge and up; then inside: up, arp_notify, the addresses (IPv6 without
  // DAD), a gratuitous ARP once the bridge port forwards (so a reused IP meets no stale neighbour
  // entry; only with `announce`: it floods every port of the bridge), the default routes. On
  // failure the pair is deleted again and nothing is left. An `ifname` already present inside or a
  // `host_ifname` already present here is Code::kConflict; a namespace that is gone is
  // Code::kNotFound; a bad name or MAC is Code::kInvalid.
  virtual Status attach(const EndpointSpec& spec) = 0;
  // Adds a default route via each of `gateways` out of `ifname` inside the namespace at
  // `netns_path`, as attach() does; a default route the namespace already has for that family
  // counts as added. A namespace or interface that is gone is Code::kNotFound.
  virtual Status add_default_routes(const std::string& netns_path, const std::string& ifname,
                                    std::span<const IpAddr> gateways) = 0;
  // The default routes (main table, any metric or type) inside the namespace at `netns_path`,
  // which must still be the namespace `netns_key` ("" any); one that is gone is Code::kNotFound.
  // Changes nothing.
  virtual Result<std::vector<DefaultRouteView>> default_routes(const std::string& netns_path,
                                                               const std::string& netns_key) = 0;
};

// `mark`: owner_group() of the state root, the group of lo in the namespaces it makes.
std::unique_ptr<Namespaces> make_linux_namespaces(uint32_t mark);
// `mark`: owner_group() of the state root (cnm/kernel/links.h), the host end's group.
std::unique_ptr<Endpoints> make_linux_endpoints(uint32_t mark);

}  // namespace cnm::kernel

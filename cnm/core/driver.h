// The network driver interface and the registry of drivers by name (docs/architecture.md section
// 6).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/model/error.h"
#include "cnm/model/model.h"

namespace cnm {

class Txn;
class FirewallBackends;
namespace kernel {
class Links;
class Sysctl;
class Namespaces;
class Endpoints;
class Firewall;
class HostPorts;
class Conntrack;
class Vxlans;
struct FirewallChange;
}  // namespace kernel
class ClusterAccess;

// The kernel adapters a driver may use; real ones in production, fakes in unit tests.
struct KernelContext {
  kernel::Links* links = nullptr;
  kernel::Sysctl* sysctl = nullptr;
  kernel::Namespaces* namespaces = nullptr;
  kernel::Endpoints* endpoints = nullptr;
  kernel::Firewall* firewall = nullptr;
  kernel::HostPorts* hostports = nullptr;
  kernel::Conntrack* conntrack = nullptr;  // unset: stale flows are not forgotten (unit tests)
  // The backend `firewall` is and the other one (cnm/core/firewall_backend.h), for migration and
  // doctor; unset: one backend, nothing recorded (unit tests).
  FirewallBackends* backends = nullptr;
  // Global-scope drivers (overlay): VXLAN devices and the cluster store
  // (cnm/core/cluster_access.h); unset when no cluster-store is configured.
  kernel::Vxlans* vxlans = nullptr;
  ClusterAccess* cluster = nullptr;
};

struct AdoptIntent;
// Takes back what netctl added to a bridge it adopted (Network::adopted): those addresses, and
// route_localnet if netctl turned it on. The bridge stays. For the driver's removal and rollback
// and for recovery, which replays the same intent.
Status give_back(const KernelContext& k, const AdoptIntent& a);

// Settings from the config file that drivers honour.
struct DriverDefaults {
  unsigned mtu = 1500;
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual std::string_view name() const = 0;
  // False for drivers without addressing (host, null): they take no subnet.
  virtual bool uses_ipam() const = 0;

  // What the controller asks instead of comparing driver names (scripts/check-layout.sh):
  // Whether each network has a Linux bridge of its own (Network::bridge) with firewall chains
  // keyed by its id and a place in the isolation between bridges: doctor expects the link and the
  // rules, gc puts missing rules back, recovery of a removal deletes them with the record.
  virtual bool has_bridge() const = 0;
  // Whether endpoints may publish ports (-p): DNAT rules from host ports to their addresses.
  virtual bool can_publish() const = 0;
  // Whether an endpoint can hold its namespace's default route via the network's gateways (unless
  // the network is internal), so it may take the route over when the endpoint holding it leaves.
  virtual bool routes_default() const = 0;
  // Whether its networks are defined cluster-wide (in the cluster store, on every host) rather
  // than in this root alone: created and removed there, listed from there, made on a host (record
  // and kernel objects) with its first local endpoint and removed with its last, addresses given
  // by the cluster (docs/architecture.md, "Multi-host overlay").
  virtual bool global_scope() const { return false; }
  // Checks `n.options` (an unknown key is Code::kInvalid) and fills driver fields of `n` (device
  // name, MTU). `existing` are the other networks. Touches nothing.
  virtual Status prepare(Network& n, std::span<const Network> existing,
                         const DriverDefaults& defaults) const = 0;
  // Creates the network's kernel objects. Each is first declared with tx.intend() and its undo
  // registered with tx.on_undo(object, undo). `others` are the other networks (for isolation
  // between them). May record in `n` what it found (a bridge that existed: Network::adopted).
  virtual Status create(Txn& tx, Network& n, std::span<const Network> others) = 0;
  // Declares (tx.intend) the kernel objects of `nets`, so a crash mid-removal is finished later.
  virtual Status plan_remove(Txn& tx, std::span<const Network> nets) = 0;
  // Removes the kernel objects of several networks in as few kernel requests as possible. Keeps
  // going on errors; objects already gone count as removed.
  // `remaining` are the networks that stay.
  virtual Status remove(std::span<const Network> nets, std::span<const Network> remaining) = 0;

  // Creates endpoint `ep`'s kernel objects on network `n` (each declared with tx.intend, its undo
  // registered), with default routes via `gateways` (routed_gateways: the families ep holds the
  // default route for). Code::kInvalid if the driver takes no endpoints.
  virtual Status join(Txn& tx, const Network& n, const Endpoint& ep,
                      std::span<const IpAddr> gateways) = 0;
  // Declares (tx.intend) the kernel objects of `eps`, endpoints of `n`, before they are removed.
  virtual Status plan_leave(Txn& tx, const Network& n, std::span<const Endpoint> eps) = 0;
  // Removes the kernel objects of `eps` (endpoints of `n`) in as few requests as possible; gone
  // counts as removed.
  virtual Status leave(const Network& n, std::span<const Endpoint> eps) = 0;

  // The host address `n` publishes ports on when -p names none (a driver option); unset: every
  // address. A bad stored value is Code::kInvalid naming the option.
  virtual Result<std::optional<IpAddr>> default_host_ip(const Network& /*n*/) const {
    return std::nullopt;
  }

  // The driver's kernel objects. It alone names them and says which belong to a record, so that
  // doctor, gc and recovery (cnm/recovery) ask instead of knowing. The defaults: none.
  // The host-side link of endpoint `endpoint_id` ("" when the driver makes none).
  virtual std::string endpoint_link(const std::string& /*endpoint_id*/) const { return {}; }
  // Whether a link called `name` is named the way this driver names its links: doctor reports
  // such a link that no record knows.
  virtual bool names_link(std::string_view /*name*/) const { return false; }
  // What network `n` with endpoints `eps` should have in the kernel: appends its links and adds
  // its firewall state to `want` (rules, published ports, its bridge in the isolation lists, which
  // the caller has set).
  virtual void desired(const Network& /*n*/, std::span<const Endpoint> /*eps*/,
                       std::vector<std::string>& /*links*/,
                       kernel::FirewallChange& /*want*/) const {}
  // What is wrong with endpoint `ep` of `n` on the host side (its links, its firewall state), as
  // one message; "" if nothing (CNI CHECK).
  virtual Result<std::string> check_endpoint(const Network& /*n*/, const Endpoint& /*ep*/) {
    return std::string();
  }
  // What removing the record of network `n` (with `ep`: of its endpoint `ep`) removes from the
  // kernel: appends its links and adds its firewall removals to `fw`.
  virtual void removal(const Network& /*n*/, const Endpoint* /*ep*/,
                       std::vector<std::string>& /*links*/, kernel::FirewallChange& /*fw*/) const {}
};

// Makes a driver over `k`. It must not use the kernel yet: Registry::ask makes one over an empty
// context to ask it a question.
using DriverFactory = std::function<std::unique_ptr<Driver>(const KernelContext&)>;

class Registry {
 public:
  void add_driver(std::string name, DriverFactory f) { drivers_[std::move(name)] = std::move(f); }
  bool has_driver(const std::string& name) const { return drivers_.contains(name); }
  // Code::kInvalid naming the known drivers if `name` is not registered.
  Result<std::unique_ptr<Driver>> driver(const std::string& name, const KernelContext& k) const;
  std::vector<std::string> driver_names() const;
  // Asks driver `name` one of the questions above, e.g. ask(n.driver, &Driver::has_bridge). A
  // name not registered (a record from another version) answers false: its networks are taken to
  // own no kernel objects and to offer nothing.
  bool ask(const std::string& name, bool (Driver::*question)() const) const;
  // Driver `name` over an empty kernel context, to ask its const questions above; null if `name`
  // is not registered.
  std::unique_ptr<Driver> describe(const std::string& name) const;
  // Whether any registered driver names its links like `link`.
  bool names_link(std::string_view link) const;

 private:
  std::map<std::string, DriverFactory> drivers_;
};

}  // namespace cnm

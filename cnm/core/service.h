// What every service shares (docs/architecture.md section 2): the configuration, the store, IPAM,
// the kernel adapters and the drivers, and the write context: a command that changes state takes
// the store's lock and first finishes what a crashed command left.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cnm/core/config.h"
#include "cnm/core/driver.h"
#include "cnm/model/ipam.h"
#include "cnm/model/model.h"
#include "cnm/store/store.h"

namespace cnm {
class DnsControl;

// The dependencies of the services; neither `store`, `ipam` nor `dns` is owned.
struct Context {
  Config config;
  store::Store& store;
  const Ipam& ipam;
  KernelContext kernel;
  Registry registry;
  // The root's DNS server (cnm/core/dns_control.h), started or synced after an attach commits on a
  // network that serves DNS; null: none (tests that do not ask for one).
  DnsControl* dns = nullptr;
  // Finishes or undoes what crashed commands left and reaps dead containers; returns how many it
  // handled. Set by the facade (cnm/controller.cc), the one place that knows every service.
  std::function<Result<int>(const store::WriteLock&)> recover;
};

// The base of every service: the shared context under short names, the store's lookups, and the
// write context.
class Service {
 public:
  explicit Service(Context& ctx);

  Result<std::vector<Network>> list_networks();
  // Code::kNotFound if no network has this name, id, or id prefix.
  Result<Network> network(const std::string& name_or_id);
  // Endpoints matching `f` (parent = network id, name = target key, ref = netns key).
  Result<std::vector<Endpoint>> endpoints(const store::Filter& f);
  Result<std::vector<Sandbox>> list_sandboxes();
  Result<Sandbox> sandbox(const std::string& name_or_id);
  Result<std::vector<Container>> list_containers();
  // Code::kNotFound if no container has this name, id or id prefix.
  Result<Container> container(const std::string& name_or_id);

 protected:
  // The store's write lock, after recovery ran under it: how every write command begins.
  Result<store::WriteLock> write();
  Result<int> recover(const store::WriteLock& lock) { return ctx_.recover(lock); }
  // After an attach on a DNS network committed (and the store's lock is released): makes sure the
  // root's DNS server runs and serves it. A failure leaves the attach as it is: it is written to
  // stderr as "netctl: warning: dns: ..." and doctor reports the server missing.
  void ensure_dns(std::span<const IpAddr> gateways = {});

  Context& ctx_;
  const Config& config_;
  store::Store& store_;
  const Ipam& ipam_;
  const KernelContext& kernel_;
  const Registry& registry_;
};

}  // namespace cnm

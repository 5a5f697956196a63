// NetworkService::remove_networks and prune_networks: check all, then remove in one batch.
#include <map>

#include "cnm/cluster/cluster_config.h"
#include "cnm/core/cluster_access.h"
#include "cnm/core/txn.h"
#include "cnm/network/network_service.h"

namespace cnm {

Status NetworkService::remove_checked_networks(const store::WriteLock& lock,
                                               std::vector<Network> nets) {
  if (nets.empty()) return {};
  auto all = CNM_VALUE(list_networks());
  std::vector<Network> remaining;
  for (auto& n : all) {
    bool going = false;
    for (const auto& g : nets) going |= g.id == n.id;
    if (!going) remaining.push_back(std::move(n));
  }
  for (const auto& n : nets) {
    auto eps = CNM_VALUE(store_.list(store::kEndpoints, {.parent = n.id}));
    if (!eps.empty())
      return fail(Code::kConflict, "network {} has {} active endpoint(s)", n.name, eps.size());
  }
  std::map<std::string, std::vector<Network>> by_driver;
  for (auto& n : nets) by_driver[n.driver].push_back(n);
  std::vector<std::pair<std::unique_ptr<Driver>, std::vector<Network>*>> drivers;
  for (auto& [name, group] : by_driver) {
    auto d = CNM_VALUE(registry_.driver(name, kernel_));
    drivers.emplace_back(std::move(d), &group);
  }
  // Removal rolls forward: once declared, a crash leaves it to the next command to finish.
  Txn tx(store_, lock, "network rm");
  for (const auto& n : nets) CNM_TRY(tx.intend_drop(store::kNetworks, n.id));
  for (auto& [d, group] : drivers) CNM_TRY(d->plan_remove(tx, *group));
  Status first_error;
  for (auto& [d, group] : drivers)
    if (auto r = d->remove(*group, remaining); !r && first_error) first_error = r;
  // The records stay until the kernel objects are gone: the intent is kept and the next command's
  // recovery retries the removal.
  if (!first_error)
    return context("remove networks (the next netctl command retries)", first_error.error());
  for (const auto& n : nets) tx.batch().drops.push_back({store::kNetworks, n.id});
  return tx.commit();
}

Status NetworkService::remove_networks(const std::vector<std::string>& names) {
  if (names.empty()) return fail(Code::kInvalid, "network rm: name at least one network");
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  std::vector<Network> nets;
  std::vector<std::string> global;  // removed from the cluster store first
  for (const auto& name : names) {
    auto n = network(name);
    if (!n && n.error().code == Code::kNotFound && kernel_.cluster != nullptr)
      if (auto g = CNM_VALUE(kernel_.cluster->network(name))) {
        global.push_back(g->name);
        continue;
      }
    if (!n) return std::unexpected(n.error());
    bool dup = false;
    for (const auto& seen : nets) dup |= seen.id == n->id;
    if (dup) continue;
    if (registry_.ask(n->driver, &Driver::global_scope)) {
      // Its local record stands for the endpoints this host has on it: refused while there are.
      auto eps = CNM_VALUE(store_.list(store::kEndpoints, {.parent = n->id}));
      if (!eps.empty())
        return fail(Code::kConflict, "network {} has {} active endpoint(s)", n->name, eps.size());
      global.push_back(n->name);
    }
    nets.push_back(std::move(*n));
  }
  for (const auto& name : global) {
    if (kernel_.cluster == nullptr) return cluster::require_cluster({});
    CNM_TRY(kernel_.cluster->remove(name));
  }
  return remove_checked_networks(lock, std::move(nets));
}

Result<std::vector<std::string>> NetworkService::prune_networks() {
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  auto all = CNM_VALUE(list_networks());
  std::vector<Network> unused;
  std::vector<std::string> names;
  for (auto& n : all) {
    auto eps = CNM_VALUE(store_.list(store::kEndpoints, {.parent = n.id}));
    if (eps.empty()) {
      names.push_back(n.name);
      unused.push_back(std::move(n));
    }
  }
  CNM_TRY(remove_checked_networks(lock, std::move(unused)));
  return names;
}

}  // namespace cnm

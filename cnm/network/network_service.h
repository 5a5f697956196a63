// Networks: create (driver, pools, gateways, the bridge and its firewall chains), remove, prune
// (docs/architecture.md section 3).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "cnm/core/service.h"
#include "cnm/model/requests.h"

namespace cnm {

class NetworkService : public Service {
 public:
  using Service::Service;

  Result<Network> create_network(const NetworkCreateRequest& req);
  // Removes every named network or none: all must exist (else Code::kNotFound) and have no
  // endpoints (else Code::kConflict). Kernel objects go in one batch.
  Status remove_networks(const std::vector<std::string>& names);
  // Removes every network without endpoints; returns their names.
  Result<std::vector<std::string>> prune_networks();
  // A subnet of the default address pools that `network create` without --subnet could take now:
  // overlapping no network, no host address or route and none of `also_taken` (subnets promised
  // but not yet networks: a front end's pending choices). Nothing is reserved.
  Result<Prefix> free_subnet(bool v6, std::span<const Prefix> also_taken);
  // This root's networks and the cluster's (global-scope) networks it has no record of; a cluster
  // store that does not answer is a warning on stderr, and the local ones are listed.
  Result<std::vector<Network>> list_all_networks();
  // network(), then the cluster's network of that name.
  Result<Network> find_network(const std::string& name_or_id);

 private:
  Result<std::vector<Pool>> plan_pools(const NetworkCreateRequest& req, const Network& n,
                                       std::span<const Network> existing);
  // A global-scope network: checked here, then claimed in the cluster; nothing local is made
  // (cnm/network/global.cc).
  Result<Network> create_global(const NetworkCreateRequest& req, Network n, Driver& driver);
  // Removes networks already checked removable, in one transaction.
  Status remove_checked_networks(const store::WriteLock& lock, std::vector<Network> nets);
};

}  // namespace cnm

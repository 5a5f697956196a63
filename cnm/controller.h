// The controller: every command's validate -> lock -> plan -> apply -> commit (DESIGN section 4).
// Front ends (CLI, CNI plugin) call only this.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnm/config.h"
#include "cnm/driver.h"
#include "cnm/ipam.h"
#include "cnm/model.h"
#include "cnm/store/store.h"

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

  // Finishes or undoes what a crashed command left in the intent journal. Called by every write
  // command under the lock; returns how many intents were handled.
  Result<int> recover();

  store::Store& store() { return store_; }
  const Config& config() const { return config_; }

 private:
  Result<std::vector<Pool>> plan_pools(const NetworkCreateRequest& req, const Network& n,
                                       std::span<const Network> existing);
  Status remove_locked(std::vector<Network> nets);

  Config config_;
  store::Store& store_;
  const Ipam& ipam_;
  KernelContext kernel_;
  Registry registry_;
};

// Checks an object name against ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ (Code::kInvalid otherwise).
Status validate_name(std::string_view kind, std::string_view name);

}  // namespace cnm

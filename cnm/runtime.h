// The real-kernel assembly every front end (CLI, CNI plugin, supervisor) shares: the store at a
// state root, the Linux adapters, the built-in drivers and IPAM, and a controller over them.
#pragma once

#include <memory>
#include <string>

#include "cnm/controller.h"

namespace cnm {

// The state root: `flag` if given, else $NETCTL_ROOT, else the config's, else kDefaultRoot.
std::string resolve_root(const std::string& flag, const Config& config);

class Runtime {
 public:
  // Opens the store under `root` (absolute, else Code::kInvalid) and wires the adapters.
  static Result<std::unique_ptr<Runtime>> open(const Config& config, const std::string& root);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  Controller& controller() { return *controller_; }
  const std::string& root() const { return root_; }

 private:
  Runtime() = default;
  struct Parts;
  std::string root_;
  std::unique_ptr<Parts> parts_;
  std::unique_ptr<Controller> controller_;
};

}  // namespace cnm

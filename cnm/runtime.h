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
  // The store's end of work (store::Store::finish), for a process about to end_process().
  void finish();

 private:
  Runtime() = default;
  struct Parts;
  std::string root_;
  std::unique_ptr<Parts> parts_;
  std::unique_ptr<Controller> controller_;
};

// Ends a front end's process once its work is done and its output written: runs what must run
// (`rt`'s finish(), if any), flushes stdio and _exits, skipping destructors that only free memory
// and close descriptors, which the kernel reclaims at exit anyway (a tenth of a connect's
// instructions). With AddressSanitizer it returns `code` instead, so leak checks still see all.
int end_process(Runtime* rt, int code);

}  // namespace cnm

// What every command needs: global flags, the config, and the controller over the real kernel.
#pragma once

#include <memory>
#include <string>

#include "cnm/controller.h"
#include "cnm/runtime.h"

namespace cli {

struct Globals {
  std::string root;    // --root, else NETCTL_ROOT, else the config's, else /var/lib/netctl
  std::string config;  // --config
  std::string format = "table";
  bool debug = false;
};

class Context {
 public:
  // `g` is filled by the parser; commands run after parsing, so they see its final values.
  explicit Context(const Globals& g) : globals_(g) {}
  const Globals& globals() const { return globals_; }
  bool json() const { return globals_.format == "json"; }
  // A command's own exit code on success (`run` and `exec` return the workload's).
  int exit_code = 0;

  // Loads the config and opens the store on first use.
  cnm::Result<cnm::Controller*> controller();
  cnm::Result<cnm::Config> config();
  // The state root the flags, environment and config resolve to.
  cnm::Result<std::string> root();
  // Ends the process with `code` (cnm::end_process): the store, if opened, finishes first.
  int end(int code) { return cnm::end_process(runtime_.get(), code); }

 private:
  const Globals& globals_;
  std::unique_ptr<cnm::Runtime> runtime_;
};

}  // namespace cli

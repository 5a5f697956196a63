// What every command needs: global flags, the config, and the controller over the real kernel.
#pragma once

#include <memory>
#include <string>

#include "cnm/controller.h"
#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/firewall.h"
#include "cnm/kernel/hostports.h"
#include "cnm/kernel/links.h"

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

  // Loads the config and opens the store on first use.
  cnm::Result<cnm::Controller*> controller();
  cnm::Result<cnm::Config> config();
  // The state root the flags, environment and config resolve to.
  cnm::Result<std::string> root();

 private:
  const Globals& globals_;
  std::unique_ptr<cnm::store::Store> store_;
  std::unique_ptr<cnm::kernel::Links> links_;
  std::unique_ptr<cnm::kernel::Sysctl> sysctl_;
  std::unique_ptr<cnm::kernel::Namespaces> namespaces_;
  std::unique_ptr<cnm::kernel::Endpoints> endpoints_;
  std::unique_ptr<cnm::kernel::Firewall> firewall_;
  std::unique_ptr<cnm::kernel::HostPorts> hostports_;
  std::unique_ptr<cnm::Ipam> ipam_;
  std::unique_ptr<cnm::Controller> controller_;
};

}  // namespace cli

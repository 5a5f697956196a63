#include "cli/context.h"

#include <cstdlib>

#include "drivers/builtin.h"
#include "ipam/default_ipam.h"

namespace cli {

cnm::Result<cnm::Config> Context::config() {
  bool given = !globals_.config.empty();
  return cnm::load_config(given ? globals_.config : cnm::kDefaultConfigPath, given);
}

cnm::Result<std::string> Context::root() {
  if (!globals_.root.empty()) return globals_.root;
  if (const char* env = std::getenv("NETCTL_ROOT"); env && *env) return std::string(env);
  auto c = config();
  if (!c) return std::unexpected(c.error());
  return c->root.empty() ? std::string(cnm::kDefaultRoot) : c->root;
}

cnm::Result<cnm::Controller*> Context::controller() {
  if (controller_) return controller_.get();
  auto c = config();
  if (!c) return std::unexpected(c.error());
  auto r = root();
  if (!r) return std::unexpected(r.error());
  if (r->empty() || (*r)[0] != '/')
    return cnm::fail(cnm::Code::kInvalid, "state root '{}' must be an absolute path", *r);
  auto s = cnm::store::Store::open(*r);
  if (!s) return std::unexpected(s.error());
  store_ = std::move(*s);
  links_ = cnm::kernel::make_linux_links();
  sysctl_ = cnm::kernel::make_linux_sysctl();
  namespaces_ = cnm::kernel::make_linux_namespaces();
  endpoints_ = cnm::kernel::make_linux_endpoints();
  firewall_ = cnm::kernel::make_iptc_firewall();
  hostports_ = cnm::kernel::make_linux_host_ports();
  ipam_ = std::make_unique<ipam::DefaultIpam>(c->pools_v4, c->pools_v6);
  controller_ = std::make_unique<cnm::Controller>(
      *c, *store_, *ipam_,
      cnm::KernelContext{links_.get(), sysctl_.get(), namespaces_.get(), endpoints_.get(),
                         firewall_.get(), hostports_.get()},
      drivers::builtin_registry());
  return controller_.get();
}

}  // namespace cli

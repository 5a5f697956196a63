// Recovery::doctor_dns and gc_dns: the root's DNS server runs while networks that serve DNS have
// endpoints (cnm/dns); one killed or crashed is reported, and gc starts it again.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cnm/core/dns_control.h"
#include "cnm/recovery/recovery.h"

namespace cnm {
namespace {

// The names of the networks that serve DNS and have endpoints.
Result<std::vector<std::string>> dns_networks_in_use(Service& s) {
  std::vector<std::string> out;
  auto nets = CNM_VALUE(s.list_networks());
  for (const auto& n : nets) {
    if (!dns_enabled(n)) continue;
    auto eps = CNM_VALUE(s.endpoints({.parent = n.id}));
    if (!eps.empty()) out.push_back(n.name);
  }
  return out;
}

}  // namespace

Status Recovery::doctor_dns(Drift& d) {
  if (ctx_.dns == nullptr) return {};
  auto in_use = CNM_VALUE(dns_networks_in_use(*this));
  if (in_use.empty()) return {};
  auto running = ctx_.dns->running();
  if (!running) return context("dns server", running.error());
  if (!*running)
    d.dns_server.push_back(
        fmt::format("not running (networks with endpoints: {})", fmt::join(in_use, ", ")));
  return {};
}

Status Recovery::gc_dns(const Drift& d) {
  if (ctx_.dns == nullptr || d.dns_server.empty()) return {};
  // gc may have dropped the endpoints that needed it.
  auto in_use = CNM_VALUE(dns_networks_in_use(*this));
  if (in_use.empty()) return {};
  if (auto st = ctx_.dns->ensure(); !st) return context("gc: start the dns server", st.error());
  return {};
}

}  // namespace cnm

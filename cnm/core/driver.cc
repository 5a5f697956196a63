#include "cnm/core/driver.h"

#include <fmt/ranges.h>

#include "cnm/core/intent.h"
#include "cnm/kernel/links.h"

namespace cnm {

Status give_back(const KernelContext& k, const AdoptIntent& a) {
  CNM_TRY(k.links->remove_addresses(a.bridge, a.addresses));
  if (!a.route_localnet) return {};
  auto link = CNM_VALUE(k.links->get(a.bridge));
  if (!link) return {};
  return k.sysctl->set("net/ipv4/conf/" + a.bridge + "/route_localnet", "0");
}

Result<std::unique_ptr<Driver>> Registry::driver(const std::string& name,
                                                 const KernelContext& k) const {
  auto it = drivers_.find(name);
  if (it == drivers_.end())
    return fail(Code::kInvalid, "unknown driver '{}' (known: {})", name,
                fmt::join(driver_names(), ", "));
  return it->second(k);
}

std::vector<std::string> Registry::driver_names() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : drivers_) out.push_back(name);
  return out;
}

bool Registry::ask(const std::string& name, bool (Driver::*question)() const) const {
  auto it = drivers_.find(name);
  if (it == drivers_.end()) return false;
  auto d = it->second(KernelContext{});
  return d && ((*d).*question)();
}

std::unique_ptr<Driver> Registry::describe(const std::string& name) const {
  auto it = drivers_.find(name);
  return it == drivers_.end() ? nullptr : it->second(KernelContext{});
}

bool Registry::names_link(std::string_view link) const {
  for (const auto& [name, make] : drivers_)
    if (auto d = make(KernelContext{}); d && d->names_link(link)) return true;
  return false;
}

}  // namespace cnm

// Recovery's part in the firewall backends (cnm/core/firewall_backend.h): the store records which
// backend holds this root's rules; a root whose selected backend differs is moved over by the next
// write command or gc, and doctor reports what is left in the backend not in use.
#include "cnm/core/firewall_backend.h"
#include "cnm/kernel/firewall.h"
#include "cnm/recovery/recovery.h"

namespace cnm {
namespace {

struct Holding {
  std::string recorded;  // the store's record, "" = none
  std::string holding;   // the backend holding this root's rules, "" = none
};

// The backend holding this root's rules: the recorded one; with none recorded, iptables when the
// store has networks (a root made before backends were recorded), else none.
Result<Holding> holding_backend(store::Store& store, Service& s) {
  auto recorded = CNM_VALUE(store.firewall_backend());
  if (!recorded.empty()) {
    if (recorded != kIptables && recorded != kNftables)
      return fail(Code::kFailed, "store {} records firewall backend '{}', unknown to this version",
                  store.root(), recorded);
    return Holding{recorded, recorded};
  }
  auto nets = CNM_VALUE(s.list_networks());
  return Holding{"", nets.empty() ? "" : kIptables};
}

std::string other_backend(const std::string& name) {
  return name == kNftables ? kIptables : kNftables;
}

}  // namespace

Status Recovery::doctor_backend(Drift& d) {
  FirewallBackends* b = kernel_.backends;
  if (b == nullptr) return {};
  auto holding = CNM_VALUE(holding_backend(store_, *this)).holding;
  if (!holding.empty() && holding != b->active())
    d.backend.push_back(fmt::format(
        "the store records {}, {} is selected: the next write command or gc moves the rules",
        holding, b->active()));
  auto other = other_backend(b->active());
  auto left = CNM_VALUE(b->leftovers(other));
  for (const auto& l : left) d.backend.push_back(fmt::format("{} leftover: {}", other, l));
  auto nets = CNM_VALUE(list_networks());
  std::vector<std::string> bridges;
  for (const auto& n : nets)
    if (registry_.ask(n.driver, &Driver::has_bridge)) bridges.push_back(n.bridge);
  auto warnings = CNM_VALUE(b->warnings(bridges));
  d.warnings.insert(d.warnings.end(), warnings.begin(), warnings.end());
  return {};
}

Status Recovery::migrate_backend(const store::WriteLock& lock) {
  FirewallBackends* b = kernel_.backends;
  if (b == nullptr) return {};
  auto [recorded, holding] = CNM_VALUE(holding_backend(store_, *this));
  if (recorded == b->active()) return {};  // every command but the first after a switch
  if (holding == b->active()) return store_.set_firewall_backend(lock, holding);
  if (!holding.empty()) {
    // The new backend first, then the old one emptied: traffic never meets neither.
    auto moved = [&]() -> Status {
      CNM_TRY(b->removable(holding));  // before anything is written
      CNM_TRY(apply_desired_firewall());
      return b->remove(holding);
    }();
    if (!moved)
      return fail(moved.error().code,
                  "switch the firewall from {} to {} (the next write command or `netctl gc` tries "
                  "again): {}",
                  holding, b->active(), moved.error().message);
  }
  return store_.set_firewall_backend(lock, b->active());
}

Status Recovery::gc_backend(const store::WriteLock& lock, const Drift& d) {
  FirewallBackends* b = kernel_.backends;
  if (b == nullptr) return {};
  auto other = other_backend(b->active());
  std::string leftover = other + " leftover: ";
  for (const auto& l : d.backend)
    if (l.starts_with(leftover)) {
      CNM_TRY(b->remove(other));
      break;
    }
  auto recorded = CNM_VALUE(store_.firewall_backend());
  if (recorded == b->active()) return {};
  return store_.set_firewall_backend(lock, b->active());
}

}  // namespace cnm

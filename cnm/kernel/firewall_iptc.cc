// Firewall over libiptc (legacy iptables tables; IPv4 here, IPv6 through libip6tc in
// firewall_iptc6.cc). One apply: take the xtables lock, open a handle per table the change
// concerns (IPv6 ones only when it has IPv6 in it), build the whole change into the handles
// (firewall_engine.cc), then commit the tables that changed. Any failure before the commits frees
// the handles: nothing changed. If a commit fails after other tables were committed, those are
// put back as they were. A host without IPv6 tables (ipv6.disable=1, no ip6tables) holds no IPv6
// rules: removals and dumps skip those tables, a change that adds IPv6 rules fails.
#include <libiptc/libiptc.h>

#include <optional>
#include <string>
#include <utility>

#include "cnm/kernel/firewall.h"
#include "cnm/kernel/firewall_iptc_table.h"
#include "cnm/kernel/firewall_lock.h"
#include "cnm/kernel/firewall_plan.h"

namespace cnm::kernel {
namespace {

using fw::Family;
using fw::Table;

struct Api4 {
  using EntryT = ipt_entry;
  static constexpr Family kFamily = Family::kV4;
  // The addresses, interfaces, protocol and flags of an entry, without the padding after them.
  static constexpr size_t kIpBytes = offsetof(ipt_entry, ip) + offsetof(ipt_ip, invflags) + 1;
  static constexpr auto init = &iptc_init;
  static constexpr auto free = &iptc_free;
  static constexpr auto strerror = &iptc_strerror;
  static constexpr auto first_chain = &iptc_first_chain;
  static constexpr auto next_chain = &iptc_next_chain;
  static constexpr auto is_chain = &iptc_is_chain;
  static constexpr auto first_rule = &iptc_first_rule;
  static constexpr auto next_rule = &iptc_next_rule;
  static constexpr auto get_target = &iptc_get_target;
  static constexpr auto get_references = &iptc_get_references;
  static constexpr auto create_chain = &iptc_create_chain;
  static constexpr auto delete_chain = &iptc_delete_chain;
  static constexpr auto flush_entries = &iptc_flush_entries;
  static constexpr auto insert_entry = &iptc_insert_entry;
  static constexpr auto append_entry = &iptc_append_entry;
  static constexpr auto delete_num_entry = &iptc_delete_num_entry;
  static constexpr auto check_entry = &iptc_check_entry;
  static constexpr auto delete_entry = &iptc_delete_entry;
  static constexpr auto commit = &iptc_commit;
  static fw::Entry encode(const fw::Rule& r) { return fw::encode(r); }
  static const ipt_entry* entry(fw::Entry& e) { return e.get(); }
  static fw::Rule decode(const ipt_entry* e, const char* target) { return fw::decode(e, target); }
};

// Every table slot but raw6, which netctl never uses.
std::array<bool, fw::kTableSlots> every_table() {
  std::array<bool, fw::kTableSlots> all{};
  all.fill(true);
  all[fw::slot(Family::kV6, Table::kRaw)] = false;
  return all;
}

// The tables `which` selects (each one read costs a copy of the whole table). A host without
// IPv6 or without ip6tables has no IPv6 tables: their slots stay null, `v6_missing` says why.
struct Opened {
  std::array<std::unique_ptr<IptcTable>, fw::kTableSlots> slots;
  std::optional<Error> v6_missing;
};

Result<Opened> open_tables(std::array<bool, fw::kTableSlots> which) {
  Opened out;
  for (Family f : fw::kFamilies) {
    for (Table t : fw::kTables) {
      if (!which[fw::slot(f, t)]) continue;
      auto table = open_table(f, t);
      if (!table && table.error().code == Code::kNotFound) {
        if (!out.v6_missing) out.v6_missing = table.error();
        continue;
      }
      if (!table) return std::unexpected(table.error());
      out.slots[fw::slot(f, t)] = std::move(*table);
    }
  }
  return out;
}

// True when `c` would put anything into the IPv6 tables: a dual-stack network, IPv6 port rules
// or IPv6 isolation between dual-stack bridges. Removals are not: an absent table holds nothing.
bool adds_ipv6(const FirewallChange& c) {
  FirewallChange v6 = fw::project(c, Family::kV6);
  return !v6.add_networks.empty() || !v6.add_ports.empty() || (v6.bridges && !v6.bridges->empty());
}

// `c` without its IPv6 part (nothing of it adds), for a host that has no IPv6 tables.
FirewallChange without_ipv6(const FirewallChange& c) {
  FirewallChange out = c;
  out.ipv6 = false;
  out.bridges6.reset();
  std::vector<EndpointPorts> removals;
  for (EndpointPorts e : c.remove_ports) {
    e.container_ip6.reset();
    std::erase_if(e.ports, [](const PortMapping& m) { return m.host_ip && m.host_ip->is_v6(); });
    if (!e.ports.empty()) removals.push_back(std::move(e));
  }
  out.remove_ports = std::move(removals);
  return out;
}

fw::AllTables editors(const Opened& o) {
  fw::AllTables out{};
  for (size_t i = 0; i < o.slots.size(); ++i) out[i] = o.slots[i].get();
  return out;
}

// Puts a committed table back to `before` (a handle opened before the commit).
Status put_back(IptcTable& before) {
  auto now = CNM_VALUE(open_table(before.family(), before.table()));
  CNM_TRY(fw::restore(*now, before));
  return now->commit();
}

// Commits the changed tables in order. The kernel replaces one table at a time, so before the
// first commit each changed table but the last is read again as it is (we hold the lock: no
// iptables run changed it), to put it back should a later commit fail.
Status commit_all(Opened& tables) {
  std::vector<IptcTable*> changed;
  for (auto& t : tables.slots) {
    if (t && t->changed()) changed.push_back(t.get());
  }
  std::vector<std::unique_ptr<IptcTable>> before;
  for (size_t i = 0; i + 1 < changed.size(); ++i) {
    auto copy = CNM_VALUE(open_table(changed[i]->family(), changed[i]->table()));
    before.push_back(std::move(copy));
  }
  for (size_t i = 0; i < changed.size(); ++i) {
    Status st = changed[i]->commit();
    if (st) continue;
    for (size_t j = i; j-- > 0;) {
      if (Status undo = put_back(*before[j]); !undo)
        st.error().message += fmt::format("; then putting back: {}", undo.error().message);
    }
    return st;
  }
  return {};
}

class IptcFirewall final : public Firewall {
 public:
  explicit IptcFirewall(std::string root_id) : root_id_(std::move(root_id)) {}
  const std::string& root_id() const override { return root_id_; }

  Status apply(const FirewallChange& c) override {
    CNM_TRY(fw::check_root_id(root_id_));
    CNM_TRY(fw::validate(c));
    auto lock = CNM_VALUE(XtablesLock::take());
    auto tables = CNM_VALUE(open_tables(fw::tables_for(c)));
    if (!tables.v6_missing) {
      CNM_TRY(fw::build(c, root_id_, editors(tables)));
    } else if (adds_ipv6(c)) {
      return fail(Code::kFailed, "this host has no IPv6 firewall: {}", tables.v6_missing->message);
    } else {
      CNM_TRY(fw::build(without_ipv6(c), root_id_, editors(tables)));
    }
    return commit_all(tables);
  }

  Result<std::vector<std::string>> dump() override {
    CNM_TRY(fw::check_root_id(root_id_));
    auto tables = CNM_VALUE(open_tables(every_table()));
    return fw::dump(editors(tables));
  }

 private:
  std::string root_id_;
};

}  // namespace

Result<std::unique_ptr<IptcTable>> open_table(Family f, Table t) {
  if (f == Family::kV6) return open_table6(t);
  return IptcTableOf<Api4>::open(t);
}

std::unique_ptr<Firewall> make_iptc_firewall(const std::string& root_id) {
  return std::make_unique<IptcFirewall>(root_id);
}

}  // namespace cnm::kernel

// The IPv6 tables through libip6tc (legacy ip6tables): the ip6tc_* calls for IptcTableOf.
// libip6tc.h, unlike libiptc.h, does not declare its functions extern "C" itself.
extern "C" {
#include <libiptc/libip6tc.h>
}

#include "cnm/kernel/firewall_iptc_table.h"

namespace cnm::kernel {
namespace {

struct Api6 {
  using EntryT = ip6t_entry;
  static constexpr fw::Family kFamily = fw::Family::kV6;
  // The addresses, interfaces, protocol and flags of an entry, without the padding after them.
  static constexpr size_t kIpBytes = offsetof(ip6t_entry, ipv6) + offsetof(ip6t_ip6, invflags) + 1;
  static constexpr auto init = &ip6tc_init;
  static constexpr auto free = &ip6tc_free;
  static constexpr auto strerror = &ip6tc_strerror;
  static constexpr auto first_chain = &ip6tc_first_chain;
  static constexpr auto next_chain = &ip6tc_next_chain;
  static constexpr auto is_chain = &ip6tc_is_chain;
  static constexpr auto first_rule = &ip6tc_first_rule;
  static constexpr auto next_rule = &ip6tc_next_rule;
  static constexpr auto get_target = &ip6tc_get_target;
  static constexpr auto get_references = &ip6tc_get_references;
  static constexpr auto create_chain = &ip6tc_create_chain;
  static constexpr auto delete_chain = &ip6tc_delete_chain;
  static constexpr auto flush_entries = &ip6tc_flush_entries;
  static constexpr auto insert_entry = &ip6tc_insert_entry;
  static constexpr auto append_entry = &ip6tc_append_entry;
  static constexpr auto delete_num_entry = &ip6tc_delete_num_entry;
  static constexpr auto check_entry = &ip6tc_check_entry;
  static constexpr auto delete_entry = &ip6tc_delete_entry;
  static constexpr auto commit = &ip6tc_commit;
  static fw::Entry encode(const fw::Rule& r) { return fw::encode6(r); }
  static const ip6t_entry* entry(fw::Entry& e) { return e.get6(); }
  static fw::Rule decode(const ip6t_entry* e, const char* target) { return fw::decode6(e, target); }
};

}  // namespace

Result<std::unique_ptr<IptcTable>> open_table6(fw::Table t) { return IptcTableOf<Api6>::open(t); }

}  // namespace cnm::kernel

// Private to cnm/kernel: the rules netctl writes, as plain values shared by the libiptc firewall
// (which encodes them into ipt_entry blobs and decodes the kernel's back) and the in-memory one
// (firewall_memory.cc). Both render them like `iptables-save`, so their dumps compare equal.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "cnm/kernel/firewall.h"
#include "cnm/model/net.h"

namespace cnm::kernel::fw {

enum class Table { kFilter, kNat, kRaw };
inline constexpr std::array<Table, 3> kTables{Table::kFilter, Table::kNat, Table::kRaw};
// "filter", "nat", "raw".
const char* table_name(Table t);

// iptables (IPv4) or ip6tables (IPv6). The same Rule model serves both: addresses say which.
enum class Family { kV4, kV6 };
inline constexpr std::array<Family, 2> kFamilies{Family::kV4, Family::kV6};
// A (family, table) pair as one index: filter, nat, raw, filter6, nat6, raw6.
inline constexpr size_t kTableSlots = 6;
inline constexpr size_t slot(Family f, Table t) {
  return (f == Family::kV6 ? 3 : 0) + static_cast<size_t>(t);
}
// "filter" ... for IPv4, "filter6" ... for IPv6: the dump's table headers.
std::string table_label(Family f, Table t);

// States of `-m conntrack --ctstate`, the ones netctl uses.
enum CtState : uint8_t { kCtRelated = 1, kCtEstablished = 2, kCtDnat = 4 };

// One rule: `[-s] [-d] [[!] -i] [[!] -o] [-p] [-m addrtype] [-m conntrack] [-m tcp|udp|sctp]
// -j target`, in the order iptables-save prints them. Decoded rules are canonical (a prefix /0 is
// unset, a single port has dport_hi == dport_lo), so == compares what the kernel would do.
struct Rule {
  std::optional<Prefix> src, dst;  // of the rule's family, host bits zero
  std::string in, out;             // interface names, "" for any
  bool not_in = false, not_out = false;
  std::optional<Proto> proto;
  bool dst_local = false;  // -m addrtype --dst-type LOCAL
  uint8_t ctstate = 0;     // CtState bits; 0: no conntrack match
  uint16_t dport_lo = 0;   // -m <proto> --dport lo[:hi]; 0: no port match
  uint16_t dport_hi = 0;
  // ACCEPT, DROP, RETURN, MASQUERADE, DNAT or a chain name.
  std::string target;
  // DNAT --to-destination to_addr:to_lo[-to_hi][/to_base] (to_base 0: no offset).
  IpAddr to_addr;
  uint16_t to_lo = 0, to_hi = 0, to_base = 0;
  // What the decoder could not express with the fields above, rendered verbatim before the
  // target; never set on rules netctl builds, so such a rule never equals a wanted one.
  std::string other;

  bool operator==(const Rule&) const = default;
};

// The rule as iptables-save prints it, without "-A <chain> ".
std::string render(const Rule& r);
const char* proto_name(Proto p);

}  // namespace cnm::kernel::fw

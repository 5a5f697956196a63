// Private to cnm/kernel: fw::Rule <-> ipt_entry, byte for byte what iptables 1.8.9 builds for the
// same rule (addrtype rev 1, conntrack rev 3, tcp/udp/sctp rev 0, MASQUERADE rev 0 and DNAT rev 2,
// the revisions iptables picks on this kernel), so iptables-legacy-save prints our rules exactly
// as it prints its own. IPv6 (firewall_entry6.cc): the same matches and targets (MASQUERADE's
// payload is nf_nat_range there) behind an ip6t_entry, as ip6tables 1.8.9 builds them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cnm/kernel/firewall_rules.h"

struct ipt_entry;
struct ip6t_entry;

namespace cnm::kernel::fw {

// One ipt_entry with its matches and target, 8-byte aligned as the kernel and libiptc expect.
class Entry {
 public:
  explicit Entry(size_t size) : words_((size + 7) / 8) {}
  ipt_entry* get() { return reinterpret_cast<ipt_entry*>(words_.data()); }
  const ipt_entry* get() const { return reinterpret_cast<const ipt_entry*>(words_.data()); }
  unsigned char* bytes() { return reinterpret_cast<unsigned char*>(words_.data()); }
  ip6t_entry* get6() { return reinterpret_cast<ip6t_entry*>(words_.data()); }

 private:
  std::vector<uint64_t> words_;
};

// Encodes IPv4 rule `r`. ACCEPT, DROP, RETURN and chain names go in as a standard target carrying
// the name, which libiptc turns into a verdict or a jump.
Entry encode(const Rule& r);

// Decodes an entry read through libiptc; `target` is what iptc_get_target() says about it.
// Anything outside the Rule model ends up in Rule::other.
Rule decode(const ipt_entry* e, const char* target);

// IPv6 rule `r` as an ip6t_entry, and back (firewall_entry6.cc).
Entry encode6(const Rule& r);
Rule decode6(const ip6t_entry* e, const char* target);

// Shared by both families: the matches and the target of `r`, each 8-byte aligned.
struct Body {
  std::vector<unsigned char> matches, target;
};
Body encode_body(const Rule& r, Family f);
// The entry: the family's header (ipt_entry or ip6t_entry, offsets filled in here), then the body.
template <class E>
Entry assemble(const E& header, const Body& b) {
  size_t offset = sizeof(E) + b.matches.size();
  Entry entry(offset + b.target.size());
  E* e = reinterpret_cast<E*>(entry.bytes());
  *e = header;
  e->target_offset = static_cast<uint16_t>(offset);
  e->next_offset = static_cast<uint16_t>(offset + b.target.size());
  std::copy(b.matches.begin(), b.matches.end(), entry.bytes() + sizeof(E));
  std::copy(b.target.begin(), b.target.end(), entry.bytes() + offset);
  return entry;
}
// Decodes the matches between `first` and `target_offset` of the entry at `base` and its target
// (`target` as libiptc names it) into `r`; what the model cannot say is added to `other`.
// Helpers for both families' headers: the protocol number, and an interface name with the mask
// iptables gives it.
uint8_t ip_proto(Proto p);
void set_iface(char* name, unsigned char* mask, const std::string& iface);

void decode_body(const unsigned char* base, size_t first, size_t target_offset, const char* target,
                 Family f, Rule& r, std::string& other);

}  // namespace cnm::kernel::fw

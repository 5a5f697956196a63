// Private to cnm/kernel: fw::Rule <-> ipt_entry, byte for byte what iptables 1.8.9 builds for the
// same rule (addrtype rev 1, conntrack rev 3, tcp/udp/sctp rev 0, MASQUERADE rev 0 and DNAT rev 2,
// the revisions iptables picks on this kernel), so iptables-legacy-save prints our rules exactly
// as it prints its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cnm/kernel/firewall_rules.h"

struct ipt_entry;

namespace cnm::kernel::fw {

// One ipt_entry with its matches and target, 8-byte aligned as the kernel and libiptc expect.
class Entry {
 public:
  explicit Entry(size_t size) : words_((size + 7) / 8) {}
  ipt_entry* get() { return reinterpret_cast<ipt_entry*>(words_.data()); }
  const ipt_entry* get() const { return reinterpret_cast<const ipt_entry*>(words_.data()); }
  unsigned char* bytes() { return reinterpret_cast<unsigned char*>(words_.data()); }

 private:
  std::vector<uint64_t> words_;
};

// Encodes IPv4 rule `r`. ACCEPT, DROP, RETURN and chain names go in as a standard target carrying
// the name, which libiptc turns into a verdict or a jump.
Entry encode(const Rule& r);

// Decodes an entry read through libiptc; `target` is what iptc_get_target() says about it.
// Anything outside the Rule model ends up in Rule::other.
Rule decode(const ipt_entry* e, const char* target);

}  // namespace cnm::kernel::fw

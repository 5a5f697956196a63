// Private to cnm/kernel: prefixes that exist in every network namespace and that subnet choice and
// link listings leave out. Shared by the Linux implementation and the fakes (tests/fakes) so both
// agree.
#pragma once

#include "cnm/model/net.h"

namespace cnm::kernel {

// fe80::/10: present on every IPv6 link, never something a user configured.
inline bool is_link_local(const IpAddr& a) { return a.is_v6() && (a.value() >> 118) == 0x3fa; }

// IPv6 link-local (fe80::/10) and multicast (ff00::/8), loopback (127.0.0.0/8, ::1) and default
// routes (length 0).
inline bool is_ambient(const Prefix& p) {
  if (p.len() == 0) return true;
  if (!p.is_v6()) return (p.addr().value() >> 24) == 127;
  u128 v = p.addr().value();
  return is_link_local(p.addr()) || (v >> 120) == 0xff || (v == 1 && p.len() == 128);
}

}  // namespace cnm::kernel

// libFuzzer target: IP addresses and CIDR prefixes (cnm/model/net.h). What parses formats back to
// text that parses to the same value; a strict prefix has no host bits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cnm/model/net.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto a = cnm::IpAddr::parse(text)) {
    auto again = cnm::IpAddr::parse(a->str());
    if (!again || *again != *a) std::abort();
  }
  for (bool strict : {true, false}) {
    auto p = cnm::Prefix::parse(text, strict);
    if (!p) continue;
    if (p->len() < 0 || p->len() > p->addr().bits()) std::abort();
    if (strict && p->network() != p->addr()) std::abort();
    auto again = cnm::Prefix::parse(p->str(), strict);
    if (!again || again->addr() != p->addr() || again->len() != p->len()) std::abort();
    if (!p->contains(p->addr()) || !p->contains(p->last()) || !p->overlaps(*p)) std::abort();
    (void)p->size();
  }
  return 0;
}

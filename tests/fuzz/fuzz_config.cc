// libFuzzer target: the YAML config (cnm/core/config.h parse_config). Any input yields a Config or
// Code::kInvalid; an accepted config holds only values the rest of netctl can use.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cnm/core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = cnm::parse_config(text, "fuzz.yaml");
  if (!c) {
    if (c.error().code != cnm::Code::kInvalid || c.error().message.empty()) std::abort();
    return 0;
  }
  if (c->mtu < 68 || c->mtu > 65535) std::abort();
  if (!c->root.empty() && c->root[0] != '/') std::abort();
  for (const auto* pools : {&c->pools_v4, &c->pools_v6})
    for (const auto& p : *pools)
      if (p.size < p.base.len() || p.size > p.base.addr().bits()) std::abort();
  return 0;
}

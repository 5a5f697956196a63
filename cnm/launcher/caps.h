// Capability names and the container's capability set (`--cap-add` / `--cap-drop`), with Docker's
// semantics: the set starts from kDefaultCaps (spawn.h); "ALL" in --cap-add gives every capability
// this build knows (CAP_LAST_CAP) minus the dropped ones; "ALL" in --cap-drop gives exactly the
// added ones; otherwise the drops are removed first and the adds put back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/model/error.h"

namespace cnm::launcher {

// Every capability this build knows: bits 0..CAP_LAST_CAP.
uint64_t all_caps();

// "CAP_SYS_ADMIN" for 21; "" past the table.
std::string_view cap_name(int cap);

// The number of a capability named with or without "CAP_", any case ("net_admin",
// "CAP_NET_ADMIN"); nullopt for an unknown name (and for "ALL").
std::optional<int> cap_number(std::string_view name);

// The container's set: kDefaultCaps tweaked by `add` and `drop` as Docker does. An unknown name is
// Code::kInvalid "unknown capability 'X'".
Result<uint64_t> capability_set(const std::vector<std::string>& add,
                                const std::vector<std::string>& drop);

// "CAP_CHOWN,CAP_KILL" for a mask (for messages and `inspect`).
std::string cap_list(uint64_t caps);

}  // namespace cnm::launcher

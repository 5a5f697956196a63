// A recording fake of Conntrack for tests: no table, every call is written down.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cnm/kernel/conntrack.h"

namespace cnm::kernel {

// Records calls as "udp 198.51.100.1:5353+1" ("*" for every address).
class FakeConntrack : public Conntrack {
 public:
  std::vector<std::string> calls;
  Result<int> forget(cnm::Proto proto, const std::optional<IpAddr>& ip, uint16_t first,
                     uint16_t count) override {
    calls.push_back(
        fmt::format("{} {}:{}+{}", proto_name(proto), ip ? ip->str() : "*", first, count));
    return 0;
  }
};

}  // namespace cnm::kernel

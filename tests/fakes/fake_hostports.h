// A fake of HostPorts for tests: no probing, the holders and the ephemeral range are set by hand.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "cnm/kernel/hostports.h"

namespace cnm::kernel {

// `held` maps "proto/port" ("tcp/8080") to a holder; every other port is free.
class FakeHostPorts : public HostPorts {
 public:
  std::map<std::string, std::string> held;
  std::pair<uint16_t, uint16_t> range{32768, 60999};
  Result<std::string> holder(cnm::Proto proto, const std::optional<IpAddr>&,
                             uint16_t port) override {
    auto it = held.find(fmt::format("{}/{}", proto_name(proto), port));
    return it == held.end() ? std::string() : it->second;
  }
  Result<std::pair<uint16_t, uint16_t>> ephemeral_range() override { return range; }
};

}  // namespace cnm::kernel

// A recording fake of DnsControl for tests: no server, every call is written down, and either
// call can be made to fail.
#pragma once

#include <string>
#include <vector>

#include "cnm/core/dns_control.h"

namespace cnm {

// `calls` holds "ensure" and "running" in call order. ensure() fails with Code::kFailed
// "injected dns failure" while `fail_ensure`; a successful ensure() makes running() true, and
// `stop()` (the server killed) makes it false again.
class FakeDns : public DnsControl {
 public:
  std::vector<std::string> calls;
  bool fail_ensure = false;
  bool up = false;

  Status ensure(std::span<const IpAddr> = {}) override {
    calls.push_back("ensure");
    if (fail_ensure) return fail(Code::kFailed, "injected dns failure");
    up = true;
    return {};
  }
  Result<bool> running() override {
    calls.push_back("running");
    return up;
  }
  void stop() { up = false; }
  size_t ensures() const {
    size_t n = 0;
    for (const auto& c : calls) n += c == "ensure";
    return n;
  }
};

}  // namespace cnm

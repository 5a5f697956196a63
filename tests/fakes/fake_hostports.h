// A fake of HostPorts for tests: no probing, the holders and the ephemeral range are set by hand.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "cnm/kernel/hostports.h"
#include "tests/fakes/fake_links.h"

namespace cnm::kernel {

// `held` maps "proto/port" ("tcp/8080") to a holder; every other port is free. As the kernel's
// bind(), a host address that is not local is Code::kInvalid (the Linux adapter's EADDRNOTAVAIL):
// local are 127.0.0.0/8, ::1, the addresses in `local` and those of the links of `links`.
class FakeHostPorts : public HostPorts {
 public:
  explicit FakeHostPorts(const FakeLinks* links = nullptr) : links_(links) {}

  std::map<std::string, std::string> held;
  std::set<IpAddr> local;
  std::pair<uint16_t, uint16_t> range{32768, 60999};

  Result<std::string> holder(cnm::Proto proto, const std::optional<IpAddr>& ip,
                             uint16_t port) override {
    if (ip && !is_local(*ip))
      return fail(Code::kInvalid, "host address {} is not an address of this host", ip->str());
    auto it = held.find(fmt::format("{}/{}", proto_name(proto), port));
    return it == held.end() ? std::string() : it->second;
  }
  Result<std::pair<uint16_t, uint16_t>> ephemeral_range() override { return range; }

  bool is_local(const IpAddr& ip) const {
    if (ip.value() == 0 || local.contains(ip)) return true;  // the wildcard, ::
    if (ip.is_v6() ? ip.value() == 1 : (ip.value() >> 24) == 127) return true;
    if (links_ == nullptr) return false;
    return std::any_of(links_->links.begin(), links_->links.end(), [&](const auto& l) {
      const auto& addrs = l.second.addresses;
      return std::any_of(addrs.begin(), addrs.end(),
                         [&](const Prefix& p) { return p.addr() == ip; });
    });
  }

 private:
  const FakeLinks* links_;
};

}  // namespace cnm::kernel

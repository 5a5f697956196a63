// A host without IPv6 (booted with ipv6.disable=1, or IPv6 disabled by sysctl): --ipv6 is refused
// before anything is touched, and IPv4-only networks never ask for IPv6.
#include <doctest/doctest.h>

#include "tests/unit/controller_fixture.h"

namespace {

constexpr const char* kNoV6DefaultKey = "net/ipv6/conf/default/disable_ipv6";

cnm::NetworkCreateRequest nov6_request(std::string name, std::vector<std::string> subnets,
                                       bool ipv6) {
  cnm::NetworkCreateRequest r;
  r.name = std::move(name);
  r.subnets = std::move(subnets);
  r.ipv6 = ipv6;
  return r;
}

// --ipv6 fails with kInvalid and a one-line message holding `says`; nothing was done.
void nov6_refused(ControllerFixture& f, const std::string& says) {
  auto n = f.ctl->create_network(nov6_request("dual", {"10.91.0.0/24", "fd00:91::/64"}, true));
  REQUIRE_FALSE(n);
  CHECK(n.error().code == cnm::Code::kInvalid);
  CHECK(n.error().message.find(says) != std::string::npos);
  CHECK(n.error().message.find('\n') == std::string::npos);
  CHECK(f.network_count() == 0);
  CHECK(f.intent_count() == 0);
  CHECK(f.links.log.empty());
  CHECK(f.sysctl.log.empty());
  CHECK(f.firewall.opened.empty());
}

}  // namespace

TEST_CASE("--ipv6 on a host with IPv6 disabled is refused before anything is done") {
  ControllerFixture f;
  f.sysctl.values[kNoV6DefaultKey] = "1";
  nov6_refused(f, "IPv6 is disabled on this host (net.ipv6.conf.default.disable_ipv6=1)");
}

TEST_CASE("--ipv6 on a kernel without IPv6 is refused before anything is done") {
  ControllerFixture f;
  f.sysctl.values.erase(kNoV6DefaultKey);
  nov6_refused(f, "--ipv6: this host has no IPv6");
}

TEST_CASE("IPv4-only networks need nothing of IPv6") {
  ControllerFixture f;
  f.sysctl.values.erase(kNoV6DefaultKey);
  auto n = f.ctl->create_network(nov6_request("v4", {"10.92.0.0/24"}, false));
  REQUIRE(n);
  for (const auto& line : f.sysctl.log) CHECK(line.find("ipv6") == std::string::npos);
  REQUIRE(f.ctl->remove_networks({"v4"}));
}

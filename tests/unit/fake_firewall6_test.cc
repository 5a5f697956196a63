// The IPv6 half of the layout over the fake (tests/priv/firewall6_test.cc checks it against the
// kernel): what dual-stack networks and ports render, and which tables a change reads.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/fakes/fake_firewall.h"
#include "tests/firewall_literals.h"

namespace cnm::kernel {
namespace {

using testing::contains;
using testing::ip;
using testing::net;

PortMapping port(std::optional<IpAddr> host, uint16_t hp, uint16_t cp) {
  return PortMapping{host, hp, cp, 1, Proto::kTcp};
}

// The lines of the dump under table header `table` ("filter6", ...).
std::vector<std::string> table(FakeFirewall& fw, const std::string& name) {
  auto d = fw.dump();
  REQUIRE(d);
  std::vector<std::string> out;
  bool on = false;
  for (const std::string& l : *d) {
    if (l.starts_with("*")) {
      on = l == "*" + name;
      continue;
    }
    if (on) out.push_back(l);
  }
  return out;
}

using Slots = std::array<bool, 6>;  // filter, nat, raw, filter6, nat6, raw6

TEST_CASE("a dual-stack network and its ports render in the IPv6 tables") {
  FakeFirewall fw;
  EndpointPorts e{"e1", "nc-a", ip("10.1.0.2"), {}};
  e.container_ip6 = ip("fd00:1::2");
  e.ports = {port(std::nullopt, 8080, 80), port(ip("198.51.100.1"), 5353, 53),
             port(ip("2001:db8:100::1"), 8443, 443), port(ip("::"), 9090, 90)};
  REQUIRE(fw.apply(FirewallChange{.add_networks = {net("a", "nc-a", "10.1.0.0/24", "fd00:1::/64")},
                                  .add_ports = {e},
                                  .bridges = std::vector<std::string>{"nc-a"},
                                  .bridges6 = std::vector<std::string>{"nc-a"}}));
  auto nat6 = table(fw, "nat6");
  CHECK(contains(nat6, "-A NETCTL-M-a -s fd00:1::/64 ! -o nc-a -j MASQUERADE"));
  CHECK(contains(nat6,
                 "-A NETCTL-M-a -s fd00:1::/64 -o nc-a -m conntrack --ctstate DNAT -j MASQUERADE"));
  CHECK(contains(nat6,
                 "-A NETCTL-D-0a1b2c3d -p tcp -m tcp --dport 8080 -j DNAT --to-destination "
                 "[fd00:1::2]:80"));
  CHECK(contains(nat6,
                 "-A NETCTL-D-0a1b2c3d -d 2001:db8:100::1/128 -p tcp -m tcp --dport 8443 -j DNAT "
                 "--to-destination [fd00:1::2]:443"));
  CHECK(contains(nat6,
                 "-A NETCTL-D-0a1b2c3d -p tcp -m tcp --dport 9090 -j DNAT --to-destination "
                 "[fd00:1::2]:90"));
  CHECK(contains(nat6, "-A PREROUTING -m addrtype --dst-type LOCAL -j NETCTL-DNAT"));
  CHECK(std::none_of(nat6.begin(), nat6.end(),
                     [](const std::string& l) { return l.find("5353") != std::string::npos; }));
  CHECK(std::none_of(nat6.begin(), nat6.end(),
                     [](const std::string& l) { return l.find("127.0.0") != std::string::npos; }));
  auto nat = table(fw, "nat");
  CHECK(contains(nat,
                 "-A NETCTL-D-0a1b2c3d -d 198.51.100.1/32 -p tcp -m tcp --dport 5353 -j DNAT "
                 "--to-destination 10.1.0.2:53"));
  CHECK(std::none_of(nat.begin(), nat.end(), [](const std::string& l) {
    return l.find("8443") != std::string::npos || l.find("9090") != std::string::npos;
  }));
  auto filter6 = table(fw, "filter6");
  CHECK(contains(filter6, "-A FORWARD -j NETCTL-USER"));
  CHECK(contains(filter6, "-A NETCTL-F-0a1b2c3d -j NETCTL-N-a"));
  CHECK(contains(filter6, "-A NETCTL-S-0a1b2c3d -i nc-a ! -o nc-a -j NETCTL-T-0a1b2c3d"));
  CHECK(contains(filter6, "-A NETCTL-I-a ! -i nc-a -o nc-a -j DROP"));
  // Everything IPv6 goes away with the network and the endpoint.
  REQUIRE(fw.apply(FirewallChange{.remove_networks = {"a"},
                                  .remove_ports = {e},
                                  .bridges = std::vector<std::string>{},
                                  .bridges6 = std::vector<std::string>{},
                                  .ipv6 = true}));
  for (const char* t : {"filter6", "nat6"})
    for (const std::string& l : table(fw, t)) CHECK_MESSAGE(l.find("-a") == std::string::npos, l);
}

TEST_CASE("IPv4-only changes never read the IPv6 tables; IPv6 ones read only what they concern") {
  FakeFirewall fw;
  EndpointPorts v4{"e1", "nc-a", ip("10.1.0.2"), {port(std::nullopt, 8080, 80)}};
  EndpointPorts v6 = v4;
  v6.id12 = "e2";
  v6.container_ip6 = ip("fd00:1::3");
  v6.ports = {port(std::nullopt, 8081, 80)};
  EndpointPorts v6only = v6;
  v6only.id12 = "e3";
  v6only.ports = {port(ip("2001:db8::1"), 8082, 80)};
  REQUIRE(fw.apply(FirewallChange{.add_networks = {net("a", "nc-a", "10.1.0.0/24")},
                                  .bridges = std::vector<std::string>{"nc-a"}}));
  REQUIRE(fw.apply(FirewallChange{.add_ports = {v4}}));
  REQUIRE(fw.apply(FirewallChange{.remove_ports = {v4}}));
  REQUIRE(fw.apply(FirewallChange{.remove_networks = {"a"}}));
  REQUIRE(fw.apply(FirewallChange{.add_ports = {v6}}));
  REQUIRE(fw.apply(FirewallChange{.add_ports = {v6only}}));
  REQUIRE(fw.apply(FirewallChange{.add_networks = {net("b", "nc-b", "10.2.0.0/24", "fd00:2::/64")},
                                  .bridges6 = std::vector<std::string>{"nc-b"}}));
  REQUIRE(fw.apply(FirewallChange{.remove_networks = {"b"}, .ipv6 = true}));
  std::vector<Slots> want = {
      {true, true, true, false, false, false},    // IPv4 network
      {false, true, false, false, false, false},  // IPv4 ports: nat only
      {false, true, false, false, false, false},
      {true, true, true, false, false, false},    // removal without ipv6
      {false, true, false, false, true, false},   // ports with an IPv6 address: both nats
      {false, false, false, false, true, false},  // an IPv6 host address: nat6 only
      {true, true, true, true, true, false},      // dual-stack network
      {true, true, true, true, true, false},      // its removal
  };
  CHECK(fw.opened == want);
  CHECK(table(fw, "filter6").empty() == false);
  CHECK(fw.log[7] == "apply -net b ipv6");
}

TEST_CASE("IPv6 input is checked before anything changes") {
  FakeFirewall fw;
  EndpointPorts e{"e", "nc-a", ip("10.1.0.2"), {port(ip("2001:db8::1"), 8080, 80)}};
  NetworkRules bad6 = net("a", "nc-a", "10.1.0.0/24");
  bad6.subnet6 = testing::cidr("10.2.0.0/24");
  EndpointPorts wrong = e;
  wrong.container_ip6 = ip("10.1.0.3");
  std::vector<FirewallChange> bad = {
      {.add_ports = {e}},  // an IPv6 host address, no IPv6 container address
      {.add_ports = {wrong}},
      {.add_networks = {bad6}},
      {.bridges6 = std::vector<std::string>{"nc-a", "nc-a"}},
  };
  for (const FirewallChange& c : bad) {
    auto st = fw.apply(c);
    REQUIRE_FALSE(st);
    CHECK_MESSAGE(st.error().code == Code::kInvalid, st.error().message);
  }
  CHECK(fw.opened.empty());
}

}  // namespace
}  // namespace cnm::kernel

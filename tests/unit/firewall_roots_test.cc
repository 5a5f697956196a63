// Two state roots on one host's tables (in memory; tests/priv/firewall_roots_test.cc does the same
// over libiptc): each root writes only its own chains and one jump per shared chain, and neither
// a root's gc (exact_ports, foreign networks, the bridge list) nor its drift touches the other's.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "cnm/kernel/firewall.h"
#include "tests/firewall_literals.h"

namespace cnm::kernel {
namespace {

using testing::contains;
using testing::ip;
using testing::net;

constexpr const char* kRootA = "0a1b2c3d";
constexpr const char* kRootB = "9f8e7d6c";

// Root `root`'s whole desired state: network `id` on bridge nc-<id> (dual stack), one published
// port, the bridge lists set (what doctor and gc compare with and apply).
FirewallChange roots_want(const char* id, const char* v4, const char* v6, const char* addr,
                          const char* addr6, uint16_t host_port) {
  std::string bridge = std::string("nc-") + id;
  EndpointPorts e{std::string("e") + id, bridge, ip(addr), {}};
  e.container_ip6 = ip(addr6);
  e.ports = {PortMapping{std::nullopt, host_port, 80, 1, Proto::kTcp}};
  FirewallChange c;
  c.add_networks = {net(id, bridge.c_str(), v4, v6)};
  c.add_ports = {e};
  c.bridges = std::vector<std::string>{bridge};
  c.bridges6 = std::vector<std::string>{bridge};
  return c;
}

std::vector<std::string> roots_dump(Firewall& fw) {
  auto d = fw.dump();
  REQUIRE(d);
  return *d;
}

// The table headers and every line naming root `root` or network `id` (its chains, its jumps, its
// DNAT and isolation rules), in order.
std::vector<std::string> roots_lines_of(Firewall& fw, const std::string& root,
                                        const std::string& id) {
  std::vector<std::string> out;
  for (const std::string& l : roots_dump(fw)) {
    if (l.starts_with("*") || l.find(root) != std::string::npos ||
        l.find("-" + id + " ") != std::string::npos || l.ends_with("-" + id) ||
        l.find("nc-" + id) != std::string::npos)
      out.push_back(l);
  }
  return out;
}

bool roots_mentions(const std::vector<std::string>& lines, const std::string& part) {
  for (const std::string& l : lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

TEST_CASE("two roots on the same tables never touch each other's chains") {
  auto a = make_memory_firewall(kRootA);
  auto b = memory_firewall_sharing(*a, kRootB);
  REQUIRE(b);
  FirewallChange want_a =
      roots_want("aa", "10.1.0.0/24", "fd00:1::/64", "10.1.0.2", "fd00:1::2", 8080);
  FirewallChange want_b =
      roots_want("bb", "10.2.0.0/24", "fd00:2::/64", "10.2.0.2", "fd00:2::2", 9090);
  REQUIRE(b->apply(want_b));
  REQUIRE(a->apply(want_a));
  auto d = roots_dump(*a);
  // One jump per root in each shared chain; each root's rules behind its own.
  for (const char* shared :
       {"NETCTL-ISOLATION", "NETCTL-FORWARD", "NETCTL-DNAT", "NETCTL-POSTROUTING"}) {
    std::string kind = std::string(shared) == "NETCTL-ISOLATION" ? "S"
                       : std::string(shared) == "NETCTL-FORWARD" ? "F"
                       : std::string(shared) == "NETCTL-DNAT"    ? "D"
                                                                 : "P";
    for (const char* root : {kRootA, kRootB})
      CHECK_MESSAGE(contains(d, fmt::format("-A {} -j NETCTL-{}-{}", shared, kind, root)), shared);
  }
  CHECK(contains(d,
                 "-A NETCTL-D-0a1b2c3d -p tcp -m tcp --dport 8080 -j DNAT --to-destination "
                 "10.1.0.2:80"));
  CHECK(contains(d,
                 "-A NETCTL-D-9f8e7d6c -p tcp -m tcp --dport 9090 -j DNAT --to-destination "
                 "10.2.0.2:80"));
  CHECK(contains(d, "-A NETCTL-S-9f8e7d6c -i nc-bb ! -o nc-bb -j NETCTL-T-9f8e7d6c"));
  CHECK(contains(d, "-A NETCTL-F-9f8e7d6c -j NETCTL-N-bb"));
  CHECK(contains(d, "-A NETCTL-P-0a1b2c3d -j NETCTL-M-aa"));

  const auto b_before = roots_lines_of(*a, kRootB, "bb");
  REQUIRE(roots_mentions(b_before, "fd00:2::2"));  // B's IPv6 DNAT is among them

  // A's doctor sees nothing of B's; a network of A's that A's store no longer knows is A's drift.
  auto drift = a->drift(want_a);
  REQUIRE(drift);
  CHECK(drift->missing.empty());
  CHECK(drift->foreign.empty());
  CHECK(drift->foreign_networks.empty());
  REQUIRE(a->apply(FirewallChange{.add_networks = {net("cc", "nc-cc", "10.3.0.0/24")}}));
  drift = a->drift(want_a);
  REQUIRE(drift);
  CHECK(drift->foreign_networks == std::vector<std::string>{"cc"});
  for (const std::string& l : drift->foreign) {
    CHECK_MESSAGE(l.find(kRootB) == std::string::npos, l);
    CHECK_MESSAGE(l.find("-bb") == std::string::npos, l);
  }

  // A's gc: its whole desired state with exact_ports, its foreign networks removed, both bridge
  // lists set, the IPv6 tables too.
  FirewallChange gc = want_a;
  gc.remove_networks = drift->foreign_networks;
  gc.exact_ports = true;
  gc.ipv6 = true;
  REQUIRE(a->apply(gc));
  CHECK(roots_lines_of(*a, kRootB, "bb") == b_before);
  CHECK_FALSE(roots_mentions(roots_dump(*a), "NETCTL-N-cc"));
  drift = a->drift(want_a);
  REQUIRE(drift);
  CHECK(drift->missing.empty());
  CHECK(drift->foreign.empty());

  // A removes its last network, port and bridge: its chains and jumps go, B's stay as they were.
  FirewallChange rm{.remove_networks = {"aa"},
                    .remove_ports = want_a.add_ports,
                    .bridges = std::vector<std::string>{},
                    .bridges6 = std::vector<std::string>{},
                    .ipv6 = true};
  REQUIRE(a->apply(rm));
  auto after = roots_dump(*a);
  CHECK_FALSE(roots_mentions(after, kRootA));
  CHECK_FALSE(roots_mentions(after, "-aa"));
  CHECK(roots_lines_of(*a, kRootB, "bb") == b_before);
  CHECK(contains(after, "-N NETCTL-DNAT"));  // the top-level chains stay
  auto drift_b = b->drift(want_b);
  REQUIRE(drift_b);
  CHECK(drift_b->missing.empty());
  CHECK(drift_b->foreign.empty());
}

TEST_CASE("a root does not remove a network chain another root's chain jumps to") {
  auto a = make_memory_firewall(kRootA);
  auto b = memory_firewall_sharing(*a, kRootB);
  REQUIRE(b->apply(FirewallChange{.add_networks = {net("bb", "nc-bb", "10.2.0.0/24")}}));
  auto before = roots_dump(*a);
  REQUIRE(a->apply(FirewallChange{.remove_networks = {"bb"}}));
  auto after = roots_dump(*a);
  CHECK(contains(after, "-A NETCTL-F-9f8e7d6c -j NETCTL-N-bb"));
  CHECK(contains(after, "-A NETCTL-P-9f8e7d6c -j NETCTL-M-bb"));
  CHECK_FALSE(roots_mentions(after, kRootA));
}

TEST_CASE("a firewall with a bad root id fails and changes nothing") {
  for (const char* bad : {"", "0A1B2C3D", "0a1b2c3", "0a1b2c3d0", "0a1b2c3g", "../x"}) {
    auto fw = make_memory_firewall(bad);
    auto st = fw->apply(FirewallChange{.add_networks = {net("aa", "nc-aa", "10.1.0.0/24")}});
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Code::kInvalid);
    auto d = fw->dump();
    REQUIRE_FALSE(d);
    CHECK(d.error().code == Code::kInvalid);
  }
}

}  // namespace
}  // namespace cnm::kernel

// Two state roots on one host (the test's own fresh netns), over libiptc: each root's applies,
// gc and drift leave the other root's chains, jumps, DNAT and isolation rules byte for byte as
// they were, and the other root's published port keeps working.
#include <doctest/doctest.h>

#include "tests/priv/firewall_world.h"

namespace cnm::kernel {
namespace {

constexpr const char* kOtherRoot = "9f8e7d6c";

// Root A: aaa111 on nc-fw1; root B (kOtherRoot): bbb222 on nc-fw2. Dual stack, one published port
// each, the bridge lists set: each root's whole desired state.
FirewallChange root_state(const char* id, const char* bridge, int n, uint16_t host_port) {
  EndpointPorts e{fmt::format("e{}", n),
                  bridge,
                  ip(fmt::format("10.77.{}.2", n).c_str()),
                  {tcp(host_port, 80)}};
  e.container_ip6 = ip(fmt::format("fd00:77:{}::2", n).c_str());
  FirewallChange c;
  c.add_networks = {net(id, bridge, fmt::format("10.77.{}.0/24", n).c_str(),
                        fmt::format("fd00:77:{}::/64", n).c_str())};
  c.add_ports = {e};
  c.bridges = c.bridges6 = std::vector<std::string>{bridge};
  return c;
}

bool of_root_b(const std::string& chain, const std::string& target) {
  return has(chain, kOtherRoot) || has(chain, "bbb222") || has(target, kOtherRoot);
}

// An entry of entries() with the verdict of a jump zeroed: it is the target chain's offset in the
// table, which moves when chains before it come or go; the target's name stays after the '|'.
std::string without_jump_offset(std::string entry) {
  std::string target = entry.substr(entry.rfind('|') + 1);
  if (!target.starts_with("NETCTL-")) return entry;
  ipt_entry e;
  std::memcpy(&e, entry.data(), sizeof e);
  size_t verdict = e.target_offset + sizeof(xt_entry_target);
  REQUIRE(verdict + sizeof(int) <= entry.size());
  std::memset(entry.data() + verdict, 0, sizeof(int));
  return entry;
}

// Root B's entries in the IPv4 tables, as bytes (its chains whole, its jumps in the shared
// chains), and its lines in the IPv6 tables.
std::string root_b_state() {
  std::string out;
  for (const char* t : {"filter", "nat"}) {
    for (const auto& [chain, rules] : entries(t)) {
      for (const std::string& r : rules) {
        if (of_root_b(chain, r.substr(r.rfind('|') + 1)))
          out += chain + ":" + without_jump_offset(r) + "\n";
      }
    }
  }
  for (const char* t : {"filter", "nat"}) {
    std::string lines = sh(std::string("ip6tables-legacy -t ") + t + " -S");
    for (size_t at = 0; at < lines.size();) {
      size_t end = lines.find('\n', at);
      std::string l = lines.substr(at, end - at);
      if (has(l, kOtherRoot) || has(l, "bbb222") || has(l, "fd00:77:2:")) out += l + "\n";
      at = end == std::string::npos ? lines.size() : end + 1;
    }
  }
  return out;
}

TEST_CASE("two roots on one host: one root's gc, drift and removal leave the other's rules") {
  priv::FreshNetns ns;
  World w;
  w.two_networks();
  auto a = make_iptc_firewall(kRootId);
  auto b = make_iptc_firewall(kOtherRoot);
  FirewallChange want_a = root_state("aaa111", "nc-fw1", 1, 8080);
  FirewallChange want_b = root_state("bbb222", "nc-fw2", 2, 9090);
  apply(*b, want_b);
  apply(*a, want_a);
  CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "c1 80 198.51.100.2");
  CHECK(w.ask("nb", "tcp", "198.51.100.1", 9090) == "c2 80 198.51.100.2");
  // Someone else's rules in the shared chains: neither root's to touch or report.
  REQUIRE(sh_rc("iptables-legacy -A NETCTL-FORWARD -s 203.0.113.7/32 -j DROP") == 0);
  REQUIRE(sh_rc("iptables-legacy -t nat -A NETCTL-DNAT -p tcp --dport 7777 -j DNAT "
                "--to-destination 10.77.2.2:80") == 0);
  const std::string b_before = root_b_state();
  REQUIRE(has(b_before, "fd00:77:2::2"));  // B's IPv6 DNAT is among them
  std::string s = save();
  CHECK(has(s, "-A NETCTL-ISOLATION -j NETCTL-S-9f8e7d6c"));
  CHECK(has(s, "-A NETCTL-S-0a1b2c3d -i nc-fw1 ! -o nc-fw1 -j NETCTL-T-0a1b2c3d"));
  CHECK(has(s, "-A NETCTL-D-9f8e7d6c -p tcp -m tcp --dport 9090 -j DNAT"));

  // A's doctor: nothing of B's, nor the other rules in the shared chains.
  auto drift = a->drift(want_a);
  REQUIRE(drift);
  CHECK(drift->missing.empty());
  CHECK(drift->foreign.empty());
  CHECK(drift->foreign_networks.empty());
  // A's gc with a network A no longer wants: that one goes, B's rules stay byte for byte.
  apply(*a, FirewallChange{.add_networks = {net("ccc333", "nc-fw3", "10.77.3.0/24")}});
  drift = a->drift(want_a);
  REQUIRE(drift);
  CHECK(drift->foreign_networks == std::vector<std::string>{"ccc333"});
  FirewallChange gc = want_a;
  gc.remove_networks = drift->foreign_networks;
  gc.exact_ports = true;
  gc.ipv6 = true;
  apply(*a, gc);
  CHECK(root_b_state() == b_before);
  s = save();
  CHECK_FALSE(has(s, "ccc333"));
  CHECK(has(s, "-A NETCTL-FORWARD -s 203.0.113.7/32 -j DROP"));
  CHECK(has(s, "--dport 7777 -j DNAT --to-destination 10.77.2.2:80"));
  CHECK(w.ask("nb", "tcp", "198.51.100.1", 9090) == "c2 80 198.51.100.2");
  drift = a->drift(want_a);
  REQUIRE(drift);
  CHECK(drift->foreign.empty());

  // A removes its last network: its chains and jumps go, B keeps working.
  apply(*a, FirewallChange{.remove_networks = {"aaa111"},
                           .remove_ports = want_a.add_ports,
                           .bridges = std::vector<std::string>{},
                           .bridges6 = std::vector<std::string>{},
                           .ipv6 = true});
  CHECK(root_b_state() == b_before);
  s = save() + sh("ip6tables-legacy-save");
  CHECK_FALSE(has(s, kRootId));
  CHECK_FALSE(has(s, "aaa111"));
  CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "");
  CHECK(w.ask("nb", "tcp", "198.51.100.1", 9090) == "c2 80 198.51.100.2");
  auto drift_b = b->drift(want_b);
  REQUIRE(drift_b);
  CHECK(drift_b->missing.empty());
  CHECK(drift_b->foreign.empty());
}

}  // namespace
}  // namespace cnm::kernel

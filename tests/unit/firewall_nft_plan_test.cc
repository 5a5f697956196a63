// The nftables backend's table as data (cnm/kernel/firewall_nft_plan.h): map elements per host
// port and family, the per-network chains, the order of forward's jumps, isolation tags.
#include "cnm/kernel/firewall_nft_plan.h"

#include <doctest/doctest.h>

#include "tests/firewall_literals.h"

namespace cnm::kernel {
namespace {

using testing::ip;
using testing::net;

std::vector<std::string> nftplan_rendered(const EndpointPorts& e) {
  std::vector<std::string> out;
  for (const nft::Element& el : nft::elements(e)) out.push_back(nft::render(el));
  return out;
}

TEST_CASE("nft plan: one element per host port, in the maps of the host address's family") {
  EndpointPorts e{"e1", "nc-fw1", ip("10.77.1.2"), {}};
  e.ports = {PortMapping{std::nullopt, 9000, 90, 3, Proto::kTcp},
             PortMapping{ip("0.0.0.0"), 53, 5353, 1, Proto::kUdp},
             PortMapping{ip("198.51.100.1"), 3868, 3868, 1, Proto::kSctp}};
  CHECK(
      nftplan_rendered(e) ==
      std::vector<std::string>{"ports4 tcp 9000 -> 10.77.1.2 90", "ports4 tcp 9001 -> 10.77.1.2 91",
                               "ports4 tcp 9002 -> 10.77.1.2 92", "ports4 udp 53 -> 10.77.1.2 5353",
                               "ports4h 198.51.100.1 sctp 3868 -> 10.77.1.2 3868"});
  // With an IPv6 address: unset host addresses map in both families, IPv6 ones in IPv6 only.
  e.container_ip6 = ip("fd00::2");
  e.ports = {PortMapping{std::nullopt, 8080, 80, 1, Proto::kTcp},
             PortMapping{ip("2001:db8::1"), 8443, 443, 1, Proto::kTcp},
             PortMapping{ip("::"), 8444, 444, 1, Proto::kTcp}};
  CHECK(nftplan_rendered(e) ==
        std::vector<std::string>{"ports4 tcp 8080 -> 10.77.1.2 80", "ports6 tcp 8080 -> fd00::2 80",
                                 "ports6h 2001:db8::1 tcp 8443 -> fd00::2 443",
                                 "ports6 tcp 8444 -> fd00::2 444"});
  // Keys and data are the kernel's 4-byte aligned concatenations.
  for (const nft::Element& el : nft::elements(e)) {
    nft::MapType t = nft::map_type(el.map);
    CHECK(el.key.size() == t.key_len);
    CHECK(el.data.size() == t.data_len);
  }
}

TEST_CASE("nft plan: per-network chains, forward's jump order and isolation tags") {
  NetworkRules v4 = net("aaa111", "nc-fw1", "10.77.1.0/24");
  v4.icc = false;
  auto chains = nft::network_chains(v4, "0a1b2c3d");
  REQUIRE(chains.size() == 3);  // N, M, I (behind NAT and icc off)
  CHECK(chains[0].name == "N-aaa111");
  CHECK(chains[2].name == "I-aaa111");
  CHECK(chains[2].rules.size() == 2);
  for (const nft::Rule& r : chains[0].rules) CHECK(r.family == nft::L3::kV4);  // IPv4 only
  NetworkRules inner = net("bbb222", "nc-fw2", "10.77.2.0/24", "fd00:2::/64");
  inner.internal = true;
  auto dual = nft::network_chains(inner, "0a1b2c3d");
  REQUIRE(dual.size() == 2);  // internal with icc on: nothing for an I chain
  for (const nft::Rule& r : dual[0].rules) CHECK(r.family == nft::L3::kAny);
  for (const nft::Rule& r : dual[1].rules) CHECK(r.verdict == nft::Verdict::kMasquerade);
  CHECK(dual[1].rules.size() == 3);  // localhost, hairpin, IPv6 hairpin: no egress

  auto fwd = nft::forward_rules({"I-b", "M-a", "N-b", "I-a", "N-a"}, "0a1b2c3d");
  std::vector<std::string> targets;
  for (const nft::Rule& r : fwd) targets.push_back(r.target);
  CHECK(targets == std::vector<std::string>{"user", "isolation", "N-a", "N-b", "I-a", "I-b"});
  CHECK(nft::network_of("M-abc") == "abc");
  CHECK(nft::network_of("isolation-t") == "");

  auto [s, t] = nft::isolation_rules({"nc-fw1"}, {"nc-fw2"}, "0a1b2c3d");
  REQUIRE(s.size() == 2);
  CHECK(t.size() == 3);  // ct status dnat return, one drop per bridge and family
  auto tag = nft::isolation_tag(s[1].comment);
  REQUIRE(tag);
  CHECK(tag->first);
  CHECK(tag->second == "nc-fw2");
  CHECK_FALSE(nft::isolation_tag("netctl:0a1b2c3d"));
}

}  // namespace
}  // namespace cnm::kernel

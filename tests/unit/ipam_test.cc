// ipam/default_ipam: pool validation and subnet choice (request_pool). Allocation is in
// ipam_alloc_test.cc.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "ipam/default_ipam.h"
#include "tests/unit/ipam_helpers.h"

using cnm::Code;
using cnm::PoolRequest;
using cnm::Prefix;
using ipam::DefaultIpam;
using ipam_test::cidr;
using ipam_test::cidrs;
using ipam_test::code_of;
using ipam_test::ip;
using ipam_test::message_of;
using ipam_test::req;

namespace {

// The chosen subnet of an automatic v4 request, or the error message.
std::string choose(const DefaultIpam& d, const std::vector<Prefix>& nets,
                   const std::vector<Prefix>& host = {}) {
  auto p = d.request_pool(PoolRequest{}, nets, host);
  return p ? p->subnet.str() : p.error().message;
}

// The 172.17/16 .. 172.31/16 networks, i.e. every /16 default pool taken.
std::vector<Prefix> all_172() {
  std::vector<Prefix> out;
  for (int i = 17; i <= 31; ++i) out.push_back(cidr(fmt::format("172.{}.0.0/16", i)));
  return out;
}

}  // namespace

TEST_CASE("docker_default_pools matches Docker's list") {
  auto pools = ipam::docker_default_pools();
  REQUIRE(pools.size() == 16);
  CHECK(pools[0].base.str() == "172.17.0.0/16");
  CHECK(pools[0].size == 16);
  CHECK(pools[14].base.str() == "172.31.0.0/16");
  CHECK(pools[14].size == 16);
  CHECK(pools[15].base.str() == "192.168.0.0/16");
  CHECK(pools[15].size == 20);
  CHECK(ipam::check_pools(pools, false).has_value());
  CHECK(DefaultIpam().name() == "default");
}

TEST_CASE("check_pools rejects unusable pool entries") {
  using Pools = std::vector<cnm::AddressPoolBase>;
  CHECK(ipam::check_pools(Pools{{cidr("fd00::/48"), 64}}, true).has_value());
  CHECK(code_of(ipam::check_pools(Pools{{cidr("fd00::/48"), 64}}, false)) == Code::kInvalid);
  CHECK(code_of(ipam::check_pools(Pools{{cidr("10.0.0.0/16"), 15}}, false)) == Code::kInvalid);
  CHECK(code_of(ipam::check_pools(Pools{{cidr("10.0.0.0/16"), 31}}, false)) == Code::kInvalid);
  CHECK(code_of(ipam::check_pools(Pools{{cidr("fd00::/48"), 127}}, true)) == Code::kInvalid);
  CHECK(message_of(ipam::check_pools(Pools{{cidr("10.0.0.1/16", false), 24}}, false)) ==
        "default address pool 10.0.0.1/16 size 24: base has host bits set");
  CHECK(message_of(ipam::check_pools(Pools{{cidr("10.0.0.0/16"), 8}}, false)) ==
        "default address pool 10.0.0.0/16 size 8: size must be between /16 and /30");
}

TEST_CASE("explicit subnet: gateway defaults to the first address") {
  DefaultIpam d;
  auto p = d.request_pool(req("10.0.0.0/24"), {}, {});
  REQUIRE(p);
  CHECK(p->subnet.str() == "10.0.0.0/24");
  CHECK(p->gateway.str() == "10.0.0.1");
  CHECK_FALSE(p->ip_range.has_value());
  CHECK(p->aux.empty());
  auto p30 = d.request_pool(req("10.0.0.4/30"), {}, {});
  REQUIRE(p30);
  CHECK(p30->gateway.str() == "10.0.0.5");
}

TEST_CASE("explicit subnet: family must match the request") {
  DefaultIpam d;
  auto r = d.request_pool(req("10.0.0.0/24", true), {}, {});
  CHECK(code_of(r) == Code::kInvalid);
  CHECK(message_of(r) == "subnet 10.0.0.0/24 is not an IPv6 subnet");
  CHECK(code_of(d.request_pool(req("fd00::/64", false), {}, {})) == Code::kInvalid);
  PoolRequest host_bits;
  host_bits.subnet = cidr("10.0.0.1/24", false);
  CHECK(message_of(d.request_pool(host_bits, {}, {})) ==
        "subnet 10.0.0.1/24 has host bits set (did you mean 10.0.0.0/24?)");
}

TEST_CASE("explicit subnet: too small subnets are refused") {
  DefaultIpam d;
  for (const char* s : {"10.0.0.0/31", "10.0.0.1/32"}) {
    CAPTURE(s);
    CHECK(code_of(d.request_pool(req(s), {}, {})) == Code::kInvalid);
  }
  CHECK(message_of(d.request_pool(req("10.0.0.0/31"), {}, {})) ==
        "subnet 10.0.0.0/31 is too small: the longest IPv4 prefix allowed is /30");
  CHECK(code_of(d.request_pool(req("fd00::/127", true), {}, {})) == Code::kInvalid);
  CHECK(code_of(d.request_pool(req("fd00::/128", true), {}, {})) == Code::kInvalid);
  CHECK(d.request_pool(req("fd00::/126", true), {}, {}).has_value());
}

TEST_CASE("explicit subnet: overlap with a network conflicts, with host routes it does not") {
  DefaultIpam d;
  auto nets = cidrs({"10.0.0.0/8", "fd00::/64"});
  auto r = d.request_pool(req("10.1.0.0/16"), nets, {});
  CHECK(code_of(r) == Code::kConflict);
  CHECK(message_of(r) == "subnet 10.1.0.0/16 overlaps network subnet 10.0.0.0/8");
  CHECK(code_of(d.request_pool(req("0.0.0.0/0"), nets, {})) == Code::kInvalid);  // reserved
  CHECK(code_of(d.request_pool(req("8.0.0.0/5"), nets, {})) == Code::kConflict);
  CHECK(code_of(d.request_pool(req("fd00::/48", true), nets, {})) == Code::kConflict);
  CHECK(d.request_pool(req("11.0.0.0/8"), nets, {}).has_value());
  CHECK(d.request_pool(req("fd01::/64", true), nets, {}).has_value());
  // Docker lets an explicit subnet overlap the host's own routes.
  auto host = cidrs({"192.168.1.0/24", "192.168.1.10/24"}, false);
  CHECK(d.request_pool(req("192.168.1.0/24"), nets, host).has_value());
  // Invalid input is reported before any conflict.
  PoolRequest bad = req("10.1.0.0/16");
  bad.gateway = ip("10.2.0.1");
  CHECK(code_of(d.request_pool(bad, nets, {})) == Code::kInvalid);
}

TEST_CASE("gateway: explicit, outside, network and broadcast") {
  DefaultIpam d;
  PoolRequest r = req("10.0.0.0/24");
  r.gateway = ip("10.0.0.254");
  auto p = d.request_pool(r, {}, {});
  REQUIRE(p);
  CHECK(p->gateway.str() == "10.0.0.254");

  r.gateway = ip("10.0.1.1");
  CHECK(code_of(d.request_pool(r, {}, {})) == Code::kInvalid);
  CHECK(message_of(d.request_pool(r, {}, {})) == "gateway 10.0.1.1 is outside subnet 10.0.0.0/24");
  r.gateway = ip("10.0.0.0");
  CHECK(message_of(d.request_pool(r, {}, {})) ==
        "gateway 10.0.0.0 is the network address of subnet 10.0.0.0/24");
  r.gateway = ip("10.0.0.255");
  CHECK(code_of(d.request_pool(r, {}, {})) == Code::kInvalid);
  CHECK(message_of(d.request_pool(r, {}, {})) ==
        "gateway 10.0.0.255 is the broadcast address of subnet 10.0.0.0/24");
  r.gateway = ip("fd00::1");
  CHECK(code_of(d.request_pool(r, {}, {})) == Code::kInvalid);

  PoolRequest r6 = req("fd00::/64", true);
  r6.gateway = ip("fd00::ffff:ffff:ffff:ffff");  // IPv6 has no broadcast
  auto p6 = d.request_pool(r6, {}, {});
  REQUIRE(p6);
  CHECK(p6->gateway.str() == "fd00::ffff:ffff:ffff:ffff");
  r6.gateway = ip("fd00::");
  CHECK(code_of(d.request_pool(r6, {}, {})) == Code::kInvalid);
}

TEST_CASE("ip range must lie inside the subnet") {
  DefaultIpam d;
  PoolRequest r = req("10.0.0.0/24");
  r.ip_range = cidr("10.0.0.128/25");
  auto p = d.request_pool(r, {}, {});
  REQUIRE(p);
  REQUIRE(p->ip_range.has_value());
  CHECK(p->ip_range->str() == "10.0.0.128/25");
  r.ip_range = cidr("10.0.0.0/24");
  CHECK(d.request_pool(r, {}, {}).has_value());
  r.ip_range = cidr("10.0.0.0/23");
  CHECK(code_of(d.request_pool(r, {}, {})) == Code::kInvalid);
  r.ip_range = cidr("10.0.1.0/25");
  CHECK(message_of(d.request_pool(r, {}, {})) ==
        "ip range 10.0.1.0/25 is outside subnet 10.0.0.0/24");
  r.ip_range = cidr("10.0.0.130/25", false);
  CHECK(code_of(d.request_pool(r, {}, {})) == Code::kInvalid);
}

TEST_CASE("aux addresses must lie inside the subnet") {
  DefaultIpam d;
  PoolRequest r = req("10.0.0.0/24");
  r.aux = {{"router", ip("10.0.0.2")}, {"dns", ip("10.0.0.3")}};
  auto p = d.request_pool(r, {}, {});
  REQUIRE(p);
  CHECK(p->aux.size() == 2);
  CHECK(p->aux.at("router").str() == "10.0.0.2");
  r.aux["printer"] = ip("10.0.5.9");
  auto bad = d.request_pool(r, {}, {});
  CHECK(code_of(bad) == Code::kInvalid);
  CHECK(message_of(bad) == "aux address printer=10.0.5.9 is outside subnet 10.0.0.0/24");
}

TEST_CASE("gateway, range or aux without a subnet is invalid") {
  DefaultIpam d;
  PoolRequest r;
  r.gateway = ip("172.17.0.1");
  CHECK(code_of(d.request_pool(r, {}, {})) == Code::kInvalid);
  PoolRequest r2;
  r2.ip_range = cidr("172.17.0.0/24");
  CHECK(code_of(d.request_pool(r2, {}, {})) == Code::kInvalid);
  PoolRequest r3;
  r3.aux["a"] = ip("172.17.0.9");
  CHECK(code_of(d.request_pool(r3, {}, {})) == Code::kInvalid);
}

TEST_CASE("automatic choice walks the default pools in order") {
  DefaultIpam d;
  auto p = d.request_pool(PoolRequest{}, {}, {});
  REQUIRE(p);
  CHECK(p->subnet.str() == "172.17.0.0/16");
  CHECK(p->gateway.str() == "172.17.0.1");
  CHECK(choose(d, cidrs({"172.17.0.0/16"})) == "172.18.0.0/16");
  CHECK(choose(d, cidrs({"172.17.5.0/24"})) == "172.18.0.0/16");
  CHECK(choose(d, cidrs({"172.17.0.0/16", "172.19.0.0/16"})) == "172.18.0.0/16");
  CHECK(choose(d, cidrs({"172.16.0.0/12"})) == "192.168.0.0/20");
  // Networks of the other family do not matter.
  CHECK(choose(d, cidrs({"fd00::/8", "::/0"})) == "172.17.0.0/16");
}

TEST_CASE("automatic choice avoids host addresses and routes") {
  DefaultIpam d;
  CHECK(choose(d, {}, cidrs({"172.17.0.0/16"})) == "172.18.0.0/16");
  CHECK(choose(d, {}, cidrs({"172.17.0.1/16"}, false)) == "172.18.0.0/16");
  CHECK(choose(d, {}, cidrs({"172.17.200.3/32"})) == "172.18.0.0/16");
  CHECK(choose(d, cidrs({"172.18.0.0/16"}), cidrs({"172.17.0.0/16"})) == "172.19.0.0/16");
  // The default route does not block anything.
  CHECK(choose(d, {}, cidrs({"0.0.0.0/0", "10.0.0.0/8"})) == "172.17.0.0/16");
}

TEST_CASE("automatic choice falls back to 192.168.0.0/16 carved into /20s") {
  DefaultIpam d;
  auto nets = all_172();
  CHECK(choose(d, nets) == "192.168.0.0/20");
  nets.push_back(cidr("192.168.0.0/20"));
  CHECK(choose(d, nets) == "192.168.16.0/20");
  nets.pop_back();
  CHECK(choose(d, nets, cidrs({"192.168.1.0/24"})) == "192.168.16.0/20");
  CHECK(choose(d, nets, cidrs({"192.168.0.0/19"})) == "192.168.32.0/20");
  CHECK(choose(d, nets, cidrs({"192.168.0.0/17"})) == "192.168.128.0/20");
}

TEST_CASE("automatic choice fails when every pool is in use") {
  DefaultIpam d;
  auto nets = all_172();
  nets.push_back(cidr("192.168.0.0/17"));
  auto host = cidrs({"192.168.128.0/17"});
  auto r = d.request_pool(PoolRequest{}, nets, host);
  CHECK(code_of(r) == Code::kConflict);
  CHECK(message_of(r) == "all default address pools are in use");
  // Exhausting all but the very last /20 still finds it.
  nets.push_back(cidr("192.168.128.0/18"));
  nets.push_back(cidr("192.168.192.0/19"));
  nets.push_back(cidr("192.168.224.0/20"));
  CHECK(choose(d, nets) == "192.168.240.0/20");
}

TEST_CASE("custom pools: 10.10.0.0/16 carved into /24s") {
  DefaultIpam d({{cidr("10.10.0.0/16"), 24}, {cidr("10.20.0.0/16"), 24}});
  CHECK(choose(d, {}) == "10.10.0.0/24");
  CHECK(choose(d, cidrs({"10.10.0.0/24", "10.10.1.0/25"})) == "10.10.2.0/24");
  CHECK(choose(d, cidrs({"10.10.0.128/25"})) == "10.10.1.0/24");  // unaligned skip
  CHECK(choose(d, cidrs({"10.10.0.0/20"})) == "10.10.16.0/24");
  CHECK(choose(d, cidrs({"10.10.0.0/24", "10.10.2.0/24"})) == "10.10.1.0/24");
  CHECK(choose(d, cidrs({"10.10.0.0/16"})) == "10.20.0.0/24");
  CHECK(choose(d, cidrs({"10.0.0.0/8"})) == "all default address pools are in use");
  auto p = d.request_pool(PoolRequest{}, cidrs({"10.10.0.0/24"}), {});
  REQUIRE(p);
  CHECK(p->gateway.str() == "10.10.1.1");
}

TEST_CASE("unusable pool entries are skipped") {
  DefaultIpam d({{cidr("fd00::/48"), 64}, {cidr("10.0.0.0/24"), 31}, {cidr("10.1.0.0/16"), 24}});
  CHECK(choose(d, {}) == "10.1.0.0/24");
}

TEST_CASE("IPv6 needs an explicit subnet or a v6 pool") {
  DefaultIpam d;
  auto r = d.request_pool(req("", true), {}, {});
  CHECK(code_of(r) == Code::kInvalid);
  CHECK(message_of(r) == "no IPv6 subnet given and no IPv6 default pool configured");
  auto p = d.request_pool(req("fd00:1::/64", true), {}, {});
  REQUIRE(p);
  CHECK(p->gateway.str() == "fd00:1::1");

  DefaultIpam d6(ipam::docker_default_pools(), {{cidr("fd00::/48"), 64}});
  auto a = d6.request_pool(req("", true), cidrs({"fd00::/64"}), {});
  REQUIRE(a);
  CHECK(a->subnet.str() == "fd00:0:0:1::/64");
  CHECK(a->gateway.str() == "fd00:0:0:1::1");
}

TEST_CASE("huge pools: skipping is arithmetic, not one subnet at a time") {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  // 1000 taken /64s at the start of a /48.
  DefaultIpam d6(ipam::docker_default_pools(), {{cidr("fd00::/48"), 64}});
  std::vector<Prefix> nets;
  for (int i = 0; i < 1000; ++i) nets.push_back(cidr(fmt::format("fd00:0:0:{:x}::/64", i)));
  auto a = d6.request_pool(req("", true), nets, {});
  REQUIRE(a);
  CHECK(a->subnet.str() == "fd00:0:0:3e8::/64");
  // Every other /64 taken: the first gap is found.
  std::vector<Prefix> sparse;
  for (int i = 0; i < 2000; i += 2) sparse.push_back(cidr(fmt::format("fd00:0:0:{:x}::/64", i)));
  CHECK(d6.request_pool(req("", true), sparse, {})->subnet.str() == "fd00:0:0:1::/64");
  // A /17 blocking 2^47 candidates of a /16 pool.
  DefaultIpam big({}, {{cidr("fd00::/16"), 64}});
  CHECK(big.request_pool(req("", true), cidrs({"fd00::/17"}), {})->subnet.str() ==
        "fd00:8000::/64");
  // The end of a pool (the top of the address space is reserved), and no overflow when a span
  // ends at the last address.
  DefaultIpam top({}, {{cidr("feff::/16"), 64}});
  CHECK(top.request_pool(req("", true), cidrs({"feff::/17"}), {})->subnet.str() ==
        "feff:8000::/64");
  CHECK(code_of(top.request_pool(req("", true), cidrs({"feff::/16"}), {})) == Code::kConflict);
  CHECK(code_of(top.request_pool(req("", true), cidrs({"fe00::/7"}), {})) == Code::kConflict);
  CHECK(code_of(top.request_pool(req("", true), cidrs({"feff:0:0:1::/64", "feff::/17"}),
                                 cidrs({"feff:8000::/17"}))) == Code::kConflict);
  // A v4 /8 carved into /24s with all but the last taken.
  DefaultIpam d4({{cidr("10.0.0.0/8"), 24}});
  std::vector<Prefix> v4;
  for (uint32_t i = 0; i < 65535; ++i) v4.emplace_back(cnm::IpAddr::v4(0x0a000000 | i << 8), 24);
  CHECK(choose(d4, v4) == "10.255.255.0/24");
  CHECK(Clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("reserved ranges are refused as subnets and skipped as pools") {
  DefaultIpam d;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"127.0.0.0/8", "subnet 127.0.0.0/8 overlaps the loopback range 127.0.0.0/8"},
      {"127.5.0.0/16", "subnet 127.5.0.0/16 overlaps the loopback range 127.0.0.0/8"},
      {"0.0.0.0/8", "subnet 0.0.0.0/8 overlaps the \"this network\" range 0.0.0.0/8"},
      {"0.0.0.0/0", "subnet 0.0.0.0/0 overlaps the \"this network\" range 0.0.0.0/8"},
      {"224.0.0.0/4", "subnet 224.0.0.0/4 overlaps the multicast range 224.0.0.0/4"},
      {"239.1.0.0/24", "subnet 239.1.0.0/24 overlaps the multicast range 224.0.0.0/4"},
      {"240.0.0.0/4", "subnet 240.0.0.0/4 overlaps the reserved range 240.0.0.0/4"},
      {"255.255.255.0/24", "subnet 255.255.255.0/24 overlaps the reserved range 240.0.0.0/4"},
      {"::/64", "subnet ::/64 overlaps the unspecified range ::/128"},
      {"ff00::/8", "subnet ff00::/8 overlaps the multicast range ff00::/8"},
      {"ff02::/64", "subnet ff02::/64 overlaps the multicast range ff00::/8"},
      {"8000::/1", "subnet 8000::/1 overlaps the multicast range ff00::/8"},
  };
  for (const auto& [subnet, message] : cases) {
    CAPTURE(subnet);
    auto r = d.request_pool(req(subnet, subnet.find(':') != std::string::npos), {}, {});
    CHECK(code_of(r) == Code::kInvalid);
    CHECK(message_of(r) == message);
  }
  // ::1/128 and ::/128 themselves are too small anyway; a /126 around ::1 is reserved.
  CHECK(message_of(d.request_pool(req("::/126", true), {}, {})) ==
        "subnet ::/126 overlaps the unspecified range ::/128");
  // Neighbours are fine.
  for (const char* ok : {"1.0.0.0/8", "126.0.0.0/8", "128.0.0.0/8", "223.255.255.0/24"})
    CHECK(d.request_pool(req(ok), {}, {}).has_value());
  for (const char* ok : {"::4/126", "fe80::/64", "feff::/16", "2001:db8::/64"})
    CHECK(d.request_pool(req(ok, true), {}, {}).has_value());
  // Configured pools: refused by check_pools, skipped when handed to DefaultIpam anyway.
  using Pools = std::vector<cnm::AddressPoolBase>;
  CHECK(message_of(ipam::check_pools(Pools{{cidr("127.0.0.0/8"), 24}}, false)) ==
        "default address pool 127.0.0.0/8 size 24 overlaps the loopback range 127.0.0.0/8");
  CHECK(code_of(ipam::check_pools(Pools{{cidr("0.0.0.0/0"), 24}}, false)) == Code::kInvalid);
  CHECK(code_of(ipam::check_pools(Pools{{cidr("ff00::/16"), 64}}, true)) == Code::kInvalid);
  DefaultIpam skipping(
      {{cidr("127.0.0.0/8"), 24}, {cidr("224.0.0.0/8"), 24}, {cidr("10.9.0.0/16"), 24}},
      {{cidr("ff00::/16"), 64}});
  CHECK(choose(skipping, {}) == "10.9.0.0/24");
  CHECK(code_of(skipping.request_pool(req("", true), {}, {})) == Code::kConflict);
}

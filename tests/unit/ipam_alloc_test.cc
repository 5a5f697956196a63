// ipam/default_ipam: address allocation (allocate). Subnet choice is in ipam_test.cc.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ipam/default_ipam.h"
#include "tests/unit/ipam_helpers.h"

using cnm::Code;
using cnm::IpAddr;
using cnm::Pool;
using cnm::PoolRequest;
using ipam::DefaultIpam;
using ipam_test::cidr;
using ipam_test::code_of;
using ipam_test::ip;
using ipam_test::ips;
using ipam_test::message_of;
using ipam_test::req;

namespace {

// A pool as request_pool builds it; `gw` and `range` may be empty.
Pool make_pool(std::string_view subnet, std::string_view gw = "", std::string_view range = "") {
  PoolRequest r = req(subnet, cidr(subnet).is_v6());
  if (!gw.empty()) r.gateway = ip(gw);
  if (!range.empty()) r.ip_range = cidr(range);
  auto p = DefaultIpam().request_pool(r, {}, {});
  REQUIRE_MESSAGE(p.has_value(), subnet);
  return *p;
}

// A pool at the top of the IPv6 space, which is reserved (ff00::/8) so request_pool refuses it:
// built as request_pool would, to check that allocate and candidate never overflow there.
Pool top_pool(std::string_view subnet, std::string_view range = "") {
  Pool p;
  p.subnet = cidr(subnet);
  p.gateway = IpAddr::from_value(true, p.subnet.network().value() + 1);
  if (!range.empty()) p.ip_range = cidr(range);
  return p;
}

// Allocates until the pool refuses, adding each address to `used`; returns what was handed out.
std::vector<std::string> drain(const Pool& pool, std::vector<IpAddr>& used, std::string* error) {
  DefaultIpam d;
  std::vector<std::string> got;
  for (int i = 0; i < 1000; ++i) {
    auto a = d.allocate(pool, used, std::nullopt);
    if (!a) {
      CHECK(a.error().code == Code::kConflict);
      *error = a.error().message;
      break;
    }
    got.push_back(a->str());
    used.push_back(*a);
  }
  return got;
}

std::string next(const Pool& pool, const std::vector<IpAddr>& used) {
  auto a = DefaultIpam().allocate(pool, used, std::nullopt);
  return a ? a->str() : a.error().message;
}

cnm::Result<IpAddr> want(const Pool& pool, const std::vector<IpAddr>& used, std::string_view w) {
  return DefaultIpam().allocate(pool, used, ip(w));
}

}  // namespace

TEST_CASE("a /29 hands out exactly 5 addresses around gateway, network and broadcast") {
  Pool pool = make_pool("10.0.0.0/29");
  std::vector<IpAddr> used;
  std::string error;
  auto got = drain(pool, used, &error);
  CHECK(got ==
        std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"});
  CHECK(error == "no free address in 10.0.0.0/29");
  CHECK(std::ranges::find(got, "10.0.0.0") == got.end());
  CHECK(std::ranges::find(got, "10.0.0.7") == got.end());
}

TEST_CASE("a released address is handed out again") {
  Pool pool = make_pool("10.0.0.0/29");
  std::vector<IpAddr> used;
  std::string error;
  REQUIRE(drain(pool, used, &error).size() == 5);
  std::erase(used, ip("10.0.0.4"));
  CHECK(next(pool, used) == "10.0.0.4");
  std::erase(used, ip("10.0.0.2"));
  CHECK(next(pool, used) == "10.0.0.2");
}

TEST_CASE("an explicit gateway is skipped and the first address becomes usable") {
  Pool pool = make_pool("10.0.0.0/29", "10.0.0.5");
  std::vector<IpAddr> used;
  std::string error;
  auto got = drain(pool, used, &error);
  CHECK(got ==
        std::vector<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.6"});
}

TEST_CASE("used addresses may be unordered, duplicated or foreign") {
  Pool pool = make_pool("10.0.0.0/24");
  auto used = ips({"10.0.0.4", "10.0.0.2", "10.0.0.3", "10.0.0.2", "10.9.9.9", "fd00::5"});
  CHECK(next(pool, used) == "10.0.0.5");
}

TEST_CASE("allocation stays inside the ip range") {
  Pool upper = make_pool("10.0.0.0/24", "", "10.0.0.128/25");
  CHECK(next(upper, {}) == "10.0.0.128");
  CHECK(next(upper, ips({"10.0.0.128", "10.0.0.2"})) == "10.0.0.129");

  // A range starting at the network address skips network and gateway.
  Pool low = make_pool("10.0.0.0/24", "", "10.0.0.0/30");
  std::vector<IpAddr> used;
  std::string error;
  CHECK(drain(low, used, &error) == std::vector<std::string>{"10.0.0.2", "10.0.0.3"});
  CHECK(error == "no free address in 10.0.0.0/30");

  // A range at the end of the subnet never hands out the broadcast.
  Pool high = make_pool("10.0.0.0/24", "", "10.0.0.252/30");
  used.clear();
  CHECK(drain(high, used, &error) ==
        std::vector<std::string>{"10.0.0.252", "10.0.0.253", "10.0.0.254"});
  CHECK(error == "no free address in 10.0.0.252/30");
}

TEST_CASE("aux addresses are never handed out") {
  PoolRequest r = req("10.0.0.0/29");
  r.aux = {{"router", ip("10.0.0.2")}, {"dns", ip("10.0.0.4")}};
  auto pool = DefaultIpam().request_pool(r, {}, {});
  REQUIRE(pool);
  std::vector<IpAddr> used;
  std::string error;
  CHECK(drain(*pool, used, &error) == std::vector<std::string>{"10.0.0.3", "10.0.0.5", "10.0.0.6"});
}

TEST_CASE("a wanted address is granted or refused precisely") {
  PoolRequest r = req("10.0.0.0/24");
  r.ip_range = cidr("10.0.0.128/25");
  r.aux = {{"router", ip("10.0.0.2")}};
  auto p = DefaultIpam().request_pool(r, {}, {});
  REQUIRE(p);
  const Pool& pool = *p;
  auto used = ips({"10.0.0.130"});

  auto ok = want(pool, used, "10.0.0.131");
  REQUIRE(ok);
  CHECK(ok->str() == "10.0.0.131");
  // Outside the ip range but inside the subnet is allowed, as in Docker.
  CHECK(want(pool, used, "10.0.0.9")->str() == "10.0.0.9");

  auto outside = want(pool, used, "10.0.1.5");
  CHECK(code_of(outside) == Code::kInvalid);
  CHECK(message_of(outside) == "address 10.0.1.5 is outside subnet 10.0.0.0/24");
  CHECK(code_of(want(pool, used, "fd00::1")) == Code::kInvalid);

  auto in_use = want(pool, used, "10.0.0.130");
  CHECK(code_of(in_use) == Code::kConflict);
  CHECK(message_of(in_use) == "address 10.0.0.130 is already in use");
  CHECK(message_of(want(pool, used, "10.0.0.1")) ==
        "address 10.0.0.1 is the gateway of 10.0.0.0/24");
  CHECK(message_of(want(pool, used, "10.0.0.2")) ==
        "address 10.0.0.2 is reserved (aux address router)");
  CHECK(message_of(want(pool, used, "10.0.0.0")) ==
        "address 10.0.0.0 is reserved (network address of 10.0.0.0/24)");
  CHECK(message_of(want(pool, used, "10.0.0.255")) ==
        "address 10.0.0.255 is reserved (broadcast address of 10.0.0.0/24)");
  for (const char* w : {"10.0.0.1", "10.0.0.2", "10.0.0.0", "10.0.0.255"}) {
    CAPTURE(w);
    CHECK(code_of(want(pool, used, w)) == Code::kConflict);
  }
}

TEST_CASE("IPv6: explicit /64 allocation, last address usable, anycast reserved") {
  Pool pool = make_pool("fd00:1::/64");
  CHECK(pool.gateway.str() == "fd00:1::1");
  CHECK(next(pool, {}) == "fd00:1::2");
  CHECK(next(pool, ips({"fd00:1::2", "fd00:1::3"})) == "fd00:1::4");
  CHECK(want(pool, {}, "fd00:1::ffff:ffff:ffff:ffff")->str() == "fd00:1::ffff:ffff:ffff:ffff");
  CHECK(code_of(want(pool, {}, "fd00:1::")) == Code::kConflict);
  CHECK(code_of(want(pool, {}, "10.0.0.1")) == Code::kInvalid);

  Pool tiny = make_pool("fd00::/126");
  std::vector<IpAddr> used;
  std::string error;
  CHECK(drain(tiny, used, &error) == std::vector<std::string>{"fd00::2", "fd00::3"});
  CHECK(error == "no free address in fd00::/126");
}

TEST_CASE("IPv6 at the top of the address space does not overflow") {
  Pool pool = top_pool("ffff:ffff:ffff:ffff::/64", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126");
  std::vector<IpAddr> used;
  std::string error;
  CHECK(drain(pool, used, &error) ==
        std::vector<std::string>{
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"});
  CHECK(error == "no free address in ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126");
}

TEST_CASE("huge pools allocate in time proportional to the used set") {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  Pool v4 = make_pool("10.0.0.0/8");
  CHECK(next(v4, {}) == "10.0.0.2");
  // 100000 used addresses, shuffled by a fixed stride, leave the next one free.
  std::vector<IpAddr> used;
  for (uint32_t i = 0; i < 100000; ++i)
    used.push_back(IpAddr::v4(0x0a000002 + (i * 7919) % 100000));
  CHECK(next(v4, used) == IpAddr::v4(0x0a000002 + 100000).str());

  Pool v6 = make_pool("fd00::/64", "", "fd00::/64");
  CHECK(next(v6, {}) == "fd00::2");
  Pool range6 = make_pool("fd00::/64", "", "fd00::/65");
  CHECK(next(range6, ips({"fd00::2"})) == "fd00::3");
  CHECK(Clock::now() - t0 < std::chrono::seconds(5));
}

// candidate(): what allocate() would hand out at or above a starting point, were it free.
TEST_CASE("candidate skips reserved addresses, stays in the range and stops at its end") {
  DefaultIpam d;
  auto cand = [&](const Pool& p, std::string_view from) {
    auto c = d.candidate(p, ip(from));
    return c ? c->str() : std::string("none");
  };
  PoolRequest r = req("10.0.0.0/29");
  r.aux = {{"dns", ip("10.0.0.4")}};
  auto pool = d.request_pool(r, {}, {});
  REQUIRE(pool);
  CHECK(cand(*pool, "10.0.0.0") == "10.0.0.2");  // network and gateway skipped
  CHECK(cand(*pool, "10.0.0.3") == "10.0.0.3");
  CHECK(cand(*pool, "10.0.0.4") == "10.0.0.5");  // aux skipped
  CHECK(cand(*pool, "10.0.0.7") == "none");      // the broadcast
  CHECK(cand(*pool, "10.0.0.9") == "none");      // past the subnet
  CHECK(cand(*pool, "fd00::1") == "none");       // another family

  Pool upper = make_pool("10.0.0.0/24", "", "10.0.0.128/25");
  CHECK(cand(upper, "10.0.0.5") == "10.0.0.128");  // below the range: its start
  CHECK(cand(upper, "10.0.0.254") == "10.0.0.254");
  CHECK(cand(upper, "10.0.1.0") == "none");

  Pool top = top_pool("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124");
  CHECK(cand(top, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") ==
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");  // IPv6 has no broadcast; no overflow
}

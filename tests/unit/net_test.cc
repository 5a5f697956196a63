// cnm/net: address and prefix parsing, formatting and arithmetic.
#include "cnm/model/net.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/literals.h"

using cnm::Code;
using cnm::IpAddr;
using cnm::Prefix;
using cnm::u128;

namespace {

using cnm::testing::cidr;
using cnm::testing::ip;

Code ip_error(std::string_view s) {
  auto r = IpAddr::parse(s);
  return r ? Code::kOk : r.error().code;
}

Code cidr_error(std::string_view s) {
  auto r = Prefix::parse(s);
  return r ? Code::kOk : r.error().code;
}

}  // namespace

TEST_CASE("IpAddr parses and formats IPv4") {
  IpAddr a = ip("10.1.2.3");
  CHECK(a.valid());
  CHECK_FALSE(a.is_v6());
  CHECK(a.bits() == 32);
  CHECK(a.value() == 0x0a010203);
  CHECK(a.str() == "10.1.2.3");
  CHECK(a == IpAddr::v4(0x0a010203));
  auto b = a.bytes();
  CHECK(b[0] == 10);
  CHECK(b[3] == 3);
  CHECK(ip("0.0.0.0").value() == 0);
  CHECK(ip("255.255.255.255").value() == 0xffffffffu);
  CHECK(ip("10.0.0.1") < ip("10.0.0.2"));
  CHECK(ip("10.0.0.255") < ip("10.0.1.0"));
}

TEST_CASE("IpAddr parses and formats IPv6") {
  IpAddr a = ip("fd00::1");
  CHECK(a.is_v6());
  CHECK(a.bits() == 128);
  CHECK(a.value() == ((u128{0xfd00} << 112) | 1));
  CHECK(a.str() == "fd00::1");
  CHECK(ip("FD00:0:0:0:0:0:0:1") == a);  // uppercase, no compression
  CHECK(ip("::").value() == 0);
  CHECK(ip("::1").value() == 1);
  CHECK(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").value() == ~u128{0});
  CHECK(ip("::ffff:10.0.0.1").is_v6());  // IPv4-mapped stays IPv6
  CHECK(ip("::ffff:10.0.0.1").value() == ((u128{0xffff} << 32) | 0x0a000001));
  CHECK(ip("2001:db8::").bytes()[1] == 0x01);
  CHECK(IpAddr::from_value(true, 1).str() == "::1");
  CHECK(IpAddr::from_value(false, (u128{1} << 40) | 5).str() == "0.0.0.5");  // truncated to 32 bits
}

TEST_CASE("IpAddr rejects junk") {
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "10.0.0.1.2", "1.2.3.-4", "a.b.c.d",
                          " 10.0.0.1", "10.0.0.1 ", "10.0.0.1/24", "fd00:::1", "fd00::1::2",
                          "fe80::1%eth0", "12345::", "hello", "1:2:3:4:5:6:7:8:9"}) {
    CAPTURE(bad);
    CHECK(ip_error(bad) == Code::kInvalid);
  }
  CHECK(ip_error(std::string_view("10.0.0.1\0x", 10)) == Code::kInvalid);
  CHECK(IpAddr::parse("junk").error().message == "invalid IP address 'junk'");
  CHECK_FALSE(IpAddr().valid());
}

TEST_CASE("Prefix parses subnets") {
  Prefix p = cidr("10.0.0.0/8");
  CHECK(p.len() == 8);
  CHECK(p.str() == "10.0.0.0/8");
  CHECK_FALSE(p.is_v6());
  CHECK(cidr("0.0.0.0/0").len() == 0);
  CHECK(cidr("10.0.0.1/32").str() == "10.0.0.1/32");
  Prefix v6 = cidr("fd00:1::/64");
  CHECK(v6.is_v6());
  CHECK(v6.len() == 64);
  CHECK(v6.str() == "fd00:1::/64");
  CHECK(cidr("::/0").len() == 0);
  CHECK(cidr("::1/128").len() == 128);
}

TEST_CASE("Prefix rejects bad CIDRs") {
  for (const char* bad : {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/-0",
                          "10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.0/8/8", "/8",
                          "junk/8", "10.0.0/8", "fd00::/129", "fd00::/", "10.0.0.0/99999999999"}) {
    CAPTURE(bad);
    CHECK(cidr_error(bad) == Code::kInvalid);
  }
  CHECK(Prefix::parse("10.0.0.0/33").error().message ==
        "invalid CIDR '10.0.0.0/33': bad prefix length");
}

TEST_CASE("Prefix strict parsing refuses host bits") {
  auto r = Prefix::parse("10.0.0.1/24");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Code::kInvalid);
  CHECK(r.error().message ==
        "invalid subnet '10.0.0.1/24': host bits set (did you mean 10.0.0.0/24?)");
  CHECK(cidr_error("fd00::1/64") == Code::kInvalid);
  Prefix iface = cidr("10.0.0.1/24", false);  // an interface address keeps its host part
  CHECK(iface.str() == "10.0.0.1/24");
  CHECK(iface.addr() == ip("10.0.0.1"));
  CHECK(iface.network() == ip("10.0.0.0"));
  CHECK(iface.last() == ip("10.0.0.255"));
}

TEST_CASE("Prefix network, last and size") {
  Prefix p = cidr("192.168.16.0/20");
  CHECK(p.network().str() == "192.168.16.0");
  CHECK(p.last().str() == "192.168.31.255");
  CHECK(p.size() == 4096);
  CHECK(cidr("10.0.0.0/29").size() == 8);
  CHECK(cidr("10.0.0.7/32").size() == 1);
  CHECK(cidr("10.0.0.7/32").last().str() == "10.0.0.7");
  CHECK(cidr("0.0.0.0/0").size() == (u128{1} << 32));
  CHECK(cidr("0.0.0.0/0").last().str() == "255.255.255.255");
  CHECK(cidr("fd00::/64").size() == (u128{1} << 64));
  CHECK(cidr("fd00::/64").last().str() == "fd00::ffff:ffff:ffff:ffff");
  CHECK(cidr("8000::/1").size() == (u128{1} << 127));
  CHECK(cidr("::/0").size() == (u128{1} << 127));  // saturated
  CHECK(cidr("::/0").last().value() == ~u128{0});
  CHECK(cidr("fd00::5/128").last().str() == "fd00::5");
}

TEST_CASE("Prefix contains addresses and prefixes") {
  Prefix p = cidr("10.1.0.0/16");
  CHECK(p.contains(ip("10.1.0.0")));
  CHECK(p.contains(ip("10.1.255.255")));
  CHECK_FALSE(p.contains(ip("10.2.0.0")));
  CHECK_FALSE(p.contains(ip("10.0.255.255")));
  CHECK_FALSE(p.contains(ip("::a01:0")));  // another family never matches
  CHECK(p.contains(cidr("10.1.2.0/24")));
  CHECK(p.contains(p));
  CHECK_FALSE(p.contains(cidr("10.0.0.0/8")));
  CHECK_FALSE(p.contains(cidr("10.2.0.0/24")));
  CHECK(cidr("0.0.0.0/0").contains(ip("1.2.3.4")));
  Prefix v6 = cidr("fd00::/48");
  CHECK(v6.contains(ip("fd00:0:0:ffff::1")));
  CHECK_FALSE(v6.contains(ip("fd00:0:1::")));
  CHECK(v6.contains(cidr("fd00:0:0:5::/64")));
  CHECK_FALSE(v6.contains(cidr("10.0.0.0/8")));
}

TEST_CASE("Prefix overlaps") {
  CHECK(cidr("10.0.0.0/8").overlaps(cidr("10.5.0.0/16")));
  CHECK(cidr("10.5.0.0/16").overlaps(cidr("10.0.0.0/8")));
  CHECK(cidr("10.0.0.0/24").overlaps(cidr("10.0.0.0/24")));
  CHECK_FALSE(cidr("10.0.0.0/24").overlaps(cidr("10.0.1.0/24")));
  CHECK_FALSE(cidr("172.17.0.0/16").overlaps(cidr("172.18.0.0/16")));
  CHECK(cidr("10.0.0.5/24", false).overlaps(cidr("10.0.0.128/25")));
  CHECK(cidr("fd00::/64").overlaps(cidr("fd00::/48")));
  CHECK_FALSE(cidr("fd00::/64").overlaps(cidr("fd00:0:0:1::/64")));
  CHECK_FALSE(cidr("0.0.0.0/0").overlaps(cidr("::/0")));  // families never overlap
}

TEST_CASE("Prefix ordering and equality") {
  CHECK(cidr("10.0.0.0/8") == cidr("10.0.0.0/8"));
  CHECK(cidr("10.0.0.0/8") != cidr("10.0.0.0/16"));
  CHECK(cidr("10.0.0.0/8") < cidr("11.0.0.0/8"));
}

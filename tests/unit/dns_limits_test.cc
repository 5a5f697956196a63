// The DNS server's pure parts: the per-source token bucket and the host's upstreams from
// resolv.conf text.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "cnm/dns/limits.h"
#include "cnm/dns/upstreams.h"

namespace {

cnm::IpAddr dns_limits_ip(const char* text) { return *cnm::IpAddr::parse(text); }

}  // namespace

TEST_CASE("dns limits: a source gets its burst, then its rate; others are not affected") {
  cnm::dns::Limits l;
  l.rate = 10;
  l.burst = 20;
  cnm::dns::RateLimiter rl(l);
  auto t0 = cnm::dns::RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  auto a = dns_limits_ip("10.0.0.2"), b = dns_limits_ip("10.0.0.3");
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += rl.allow(a, t0) ? 1 : 0;
  CHECK(allowed == 20);
  CHECK(rl.allow(b, t0));  // another source has its own bucket
  // Half a second later: 5 more tokens.
  allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += rl.allow(a, t0 + std::chrono::milliseconds(500)) ? 1 : 0;
  CHECK(allowed == 5);
}

TEST_CASE("dns limits: rate 0 is unlimited, and the tracked sources stay bounded") {
  cnm::dns::Limits off;
  off.rate = 0;
  cnm::dns::RateLimiter unlimited(off);
  auto t0 = cnm::dns::RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 5000; ++i) REQUIRE(unlimited.allow(dns_limits_ip("10.0.0.2"), t0));

  cnm::dns::Limits small;
  small.max_sources = 16;
  cnm::dns::RateLimiter rl(small);
  for (uint32_t i = 0; i < 1000; ++i) {
    CHECK(rl.allow(cnm::IpAddr::v4(0x0a000000 + i), t0));
    CHECK(rl.tracked() <= 16);
  }
}

TEST_CASE("dns upstreams: nameserver lines in order, junk and scoped addresses skipped") {
  auto got = cnm::dns::parse_resolv_conf(
      "# comment\nsearch example\nnameserver 198.51.100.2\nnameserver   2001:db8::53 \n"
      "nameserver fe80::1%eth0\nnameserver not-an-ip\noptions ndots:2\nnameserver 203.0.113.5\n");
  REQUIRE(got.size() == 3);
  CHECK(got[0].str() == "198.51.100.2");
  CHECK(got[1].str() == "2001:db8::53");
  CHECK(got[2].str() == "203.0.113.5");
  std::string many;
  for (int i = 1; i <= 20; ++i) many += "nameserver 198.51.100." + std::to_string(i) + "\n";
  CHECK(cnm::dns::parse_resolv_conf(many).size() == 8);
}

TEST_CASE("dns upstreams: systemd-resolved's stub alone means its own upstreams") {
  std::string dir = "/tmp/netctl-dns-upstreams-test-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/stub") << "nameserver 127.0.0.53\noptions edns0\n";
  std::ofstream(dir + "/real") << "nameserver 198.51.100.9\n";
  std::ofstream(dir + "/both") << "nameserver 127.0.0.53\nnameserver 198.51.100.8\n";
  auto via_stub = cnm::dns::read_upstreams(dir + "/stub", dir + "/real");
  REQUIRE(via_stub.size() == 1);
  CHECK(via_stub[0].str() == "198.51.100.9");
  // Not the stub alone: taken as written.
  CHECK(cnm::dns::read_upstreams(dir + "/both", dir + "/real").size() == 2);
  // The stub without its file: the stub itself.
  CHECK(cnm::dns::read_upstreams(dir + "/stub", dir + "/missing")[0].str() == "127.0.0.53");
  std::filesystem::remove_all(dir);
}

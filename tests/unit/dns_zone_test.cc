// cnm/dns/zone: the indexes the answer path reads (names, reverse names, scopes, listen addresses).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cnm/dns/zone.h"
#include "tests/unit/dns_fixture.h"

namespace {

using cnm::IpAddr;
using cnm::dns::Zone;
using cnm::testing::ip;
namespace fx = cnm::testing::dnsfx;

// The addresses `name` has on the networks `scope` sees, as text, sorted.
std::vector<std::string> zone_test_addrs(const Zone& z, const Zone::Scope& scope,
                                         std::string_view name) {
  std::vector<std::string> out;
  for (const auto& r : z.records(name))
    if (Zone::visible(scope, r.net)) out.push_back(r.addr.str());
  std::ranges::sort(out);
  return out;
}

std::vector<std::string> zone_test_strs(std::initializer_list<const char*> l) {
  return {l.begin(), l.end()};
}

}  // namespace

TEST_CASE("dns zone: normalize_name lowercases valid host names and refuses the rest") {
  using cnm::dns::normalize_name;
  CHECK(normalize_name("Web") == "web");
  CHECK(normalize_name("my-app_1.svc.") == "my-app_1.svc");
  CHECK(normalize_name("") == "");
  CHECK(normalize_name(".") == "");
  CHECK(normalize_name("a..b") == "");
  CHECK(normalize_name(".a") == "");
  CHECK(normalize_name("bad name") == "");
  CHECK(normalize_name("x\\.y") == "");
  CHECK(normalize_name(std::string("a\0b", 3)) == "");
  CHECK(normalize_name(std::string(63, 'a')) == std::string(63, 'a'));
  CHECK(normalize_name(std::string(64, 'a')) == "");
  std::string longest = std::string(62, 'a');
  for (int i = 0; i < 3; ++i) longest += "." + std::string(62, 'a');
  longest += ".a";  // 4 * 62 + 3 + 2 = 253
  CHECK(normalize_name(longest) == longest);
  CHECK(normalize_name(longest + ".") == longest);
  CHECK(normalize_name(longest + "b") == "");
}

TEST_CASE("dns zone: names, aliases and NAME.NETWORK, lowercased, per network") {
  auto z = fx::zone();
  const Zone::Scope* web = z->scope(ip("10.1.0.1"), ip("10.1.0.2"));
  REQUIRE(web != nullptr);
  CHECK(zone_test_addrs(*z, *web, "web") == zone_test_strs({"10.1.0.2", "fd00:1::2"}));
  CHECK(zone_test_addrs(*z, *web, "frontend") == zone_test_strs({"10.1.0.2", "fd00:1::2"}));
  CHECK(zone_test_addrs(*z, *web, "web.n1") == zone_test_strs({"10.1.0.2", "fd00:1::2"}));
  CHECK(zone_test_addrs(*z, *web, "db") == zone_test_strs({"10.1.0.3"}));
  CHECK(zone_test_addrs(*z, *web, "db.n1") == zone_test_strs({"10.1.0.3"}));
  CHECK(z->records("DB").empty());  // keys are lowercase; callers lowercase the question
  // A shared alias holds every address, the IPv6 one of web included.
  CHECK(zone_test_addrs(*z, *web, "shared") ==
        zone_test_strs({"10.1.0.2", "10.1.0.3", "fd00:1::2"}));
  CHECK(z->records("web.n2").empty());
  // The network without DNS contributes nothing.
  CHECK(z->records("hidden").empty());
  CHECK(z->records("hidden.quiet").empty());
  CHECK(z->is_network("n1"));
  CHECK(z->is_network("empty"));
  CHECK_FALSE(z->is_network("quiet"));
}

TEST_CASE("dns zone: scope is every DNS network of the source's namespace") {
  auto z = fx::zone();
  const Zone::Scope* api = z->scope(ip("10.2.0.1"), ip("10.2.0.2"));
  REQUIRE(api != nullptr);
  CHECK(zone_test_addrs(*z, *api, "web").empty());  // only on n1
  CHECK(zone_test_addrs(*z, *api, "api") == zone_test_strs({"10.2.0.2"}));
  CHECK(zone_test_addrs(*z, *api, "both") == zone_test_strs({"10.2.0.3"}));

  // ns-both is on n1 and n2: from either of its addresses it sees the names of both.
  for (auto [local, source] : {std::pair{"10.1.0.1", "10.1.0.4"}, {"10.2.0.1", "10.2.0.3"}}) {
    const Zone::Scope* both = z->scope(ip(local), ip(source));
    REQUIRE(both != nullptr);
    CHECK(zone_test_addrs(*z, *both, "web") == zone_test_strs({"10.1.0.2", "fd00:1::2"}));
    CHECK(zone_test_addrs(*z, *both, "api") == zone_test_strs({"10.2.0.2"}));
    CHECK(zone_test_addrs(*z, *both, "both") == zone_test_strs({"10.1.0.4", "10.2.0.3"}));
  }
  // IPv6: the gateway of n1's IPv6 pool and web's IPv6 address.
  CHECK(z->scope(ip("fd00:1::1"), ip("fd00:1::2")) != nullptr);
  // The source must be an endpoint on the network of the gateway the query arrived on.
  CHECK(z->scope(ip("10.2.0.1"), ip("10.1.0.2")) == nullptr);
  CHECK(z->scope(ip("10.1.0.1"), ip("10.1.0.99")) == nullptr);
  CHECK(z->scope(ip("10.3.0.1"), ip("10.3.0.2")) == nullptr);  // DNS off
  CHECK(z->scope(ip("10.1.0.2"), ip("10.1.0.2")) == nullptr);  // not a gateway
}

TEST_CASE("dns zone: reverse names take the dns_name, else the first alias") {
  auto n = fx::networks();
  auto e = fx::endpoints();
  e.push_back(fx::endpoint("n2", "ns-alias", {"10.2.0.7/24"}, "", {"bad name", "Second"}));
  auto z = cnm::dns::build_zone(n, e);
  auto target = [&](std::string_view addr) {
    auto r = z->reverse(ip(addr));
    REQUIRE(r.size() == 1);
    return std::string(r[0].target.begin(), r[0].target.end());
  };
  CHECK(target("10.1.0.2") == std::string("\3web\0", 5));
  CHECK(target("fd00:1::2") == std::string("\3web\0", 5));
  CHECK(target("10.1.0.3") == std::string("\2db\0", 4));
  CHECK(target("10.2.0.7") == std::string("\6second\0", 8));  // the invalid alias is skipped
  CHECK(z->reverse(ip("10.2.0.9")).empty());                  // no name at all
  CHECK(z->reverse(ip("10.3.0.2")).empty());                  // DNS off
  CHECK(z->in_reverse_zone(ip("10.1.0.200")));
  CHECK(z->in_reverse_zone(ip("fd00:1::abcd")));
  CHECK(z->in_reverse_zone(ip("10.4.0.9")));
  CHECK_FALSE(z->in_reverse_zone(ip("10.3.0.2")));
  CHECK_FALSE(z->in_reverse_zone(ip("192.168.1.1")));
}

TEST_CASE("dns zone: listen addresses are the gateways of DNS networks with endpoints") {
  auto z = fx::zone();
  std::vector<IpAddr> want{ip("10.1.0.1"), ip("10.2.0.1"), ip("fd00:1::1")};
  std::ranges::sort(want);
  CHECK(cnm::dns::listen_addresses(*z) == want);

  // Networks that are not the bridge driver's, or have no IPv4 pool, serve no DNS.
  auto other = fx::network("other", "10.5.0.0/24", "10.5.0.1");
  other.bridge.clear();
  auto v6only = fx::network("v6only", "fd00:6::/64", "fd00:6::1");
  std::vector<cnm::Network> nets{other, v6only};
  std::vector<cnm::Endpoint> eps{fx::endpoint("other", "ns-o", {"10.5.0.2/24"}, "o"),
                                 fx::endpoint("v6only", "ns-6", {"fd00:6::2/64"}, "six")};
  auto none = cnm::dns::build_zone(nets, eps);
  CHECK(cnm::dns::listen_addresses(*none).empty());
  CHECK(none->name_count() == 0);
  CHECK(cnm::dns::listen_addresses(*cnm::dns::build_zone({}, {})).empty());
}

TEST_CASE("dns zone: endpoints without a namespace key, or of unknown networks, stay apart") {
  auto n = fx::networks();
  std::vector<cnm::Endpoint> e{fx::endpoint("n1", "", {"10.1.0.5/24"}, "lone"),
                               fx::endpoint("n2", "", {"10.2.0.5/24"}, "other"),
                               fx::endpoint("gone", "ns-x", {"10.9.0.5/24"}, "ghost")};
  auto z = cnm::dns::build_zone(n, e);
  const Zone::Scope* lone = z->scope(ip("10.1.0.1"), ip("10.1.0.5"));
  REQUIRE(lone != nullptr);
  CHECK(zone_test_addrs(*z, *lone, "lone") == zone_test_strs({"10.1.0.5"}));
  CHECK(zone_test_addrs(*z, *lone, "other").empty());  // another namespace
  CHECK(z->records("ghost").empty());
}

// Namespaces that already route (another tool's default route: a VPN, a runtime, the uplink of an
// `unshare -n` process): an attach leaves such a family alone unless --default-route asks for it,
// and then it is refused without changing anything; the gateway election leaves it alone too.
#include <doctest/doctest.h>

#include <algorithm>

#include "tests/unit/controller_fixture.h"

namespace {

constexpr const char* kForeignNs = "/proc/4242/ns/net";

// A process's namespace with its own uplink "up0" and an IPv4 default route via 198.51.100.1;
// networks four (IPv4), dual (dual-stack), inner (internal).
struct ForeignRouteWorld : ControllerFixture {
  ForeignRouteWorld() {
    namespaces.netns[kForeignNs] = {"lo", "up0"};
    endpoints.routes[kForeignNs][false] = uplink_route();
    make_network("four", {"10.88.0.0/24"});
    make_network("dual", {"10.89.0.0/24", "fd00:89::/64"});
    make_network("inner", {"10.90.0.0/24"}, true);
  }
  static cnm::kernel::FakeRoute uplink_route() {
    return {.ifname = "up0", .via = *cnm::IpAddr::parse("198.51.100.1")};
  }
  cnm::ConnectRequest asking(const std::string& net) {
    auto r = connect_req(net, "pid:4242");
    r.default_route = true;
    return r;
  }
};

}  // namespace

TEST_CASE("a namespace's own default route stays; the endpoint joins without taking it") {
  ForeignRouteWorld f;
  auto ep = f.ctl->connect(connect_req("four", "pid:4242"));
  REQUIRE(ep);  // before: "add default route via 10.88.0.1 dev eth0 ...: File exists", exit 4
  CHECK_FALSE(ep->default_route);
  CHECK_FALSE(f.on("four").default_route);
  CHECK(f.endpoints.log.back().find(" via ") == std::string::npos);
  CHECK(f.endpoints.routes[kForeignNs][false] == ForeignRouteWorld::uplink_route());
  // Disconnecting leaves the uplink's route alone and elects nothing.
  REQUIRE(f.ctl->disconnect("four", "pid:4242"));
  CHECK(f.endpoints.routes[kForeignNs][false] == ForeignRouteWorld::uplink_route());
  CHECK(std::none_of(f.endpoints.log.begin(), f.endpoints.log.end(),
                     [](const std::string& l) { return l.starts_with("route "); }));
}

TEST_CASE("per family: a namespace routed over IPv4 only takes its IPv6 default route") {
  ForeignRouteWorld f;
  auto ep = f.ctl->connect(connect_req("dual", "pid:4242"));
  REQUIRE(ep);
  CHECK_FALSE(ep->default_route);
  CHECK(ep->default_route6);
  CHECK(f.endpoints.log.back().ends_with(" via fd00:89::1"));
  CHECK(f.endpoints.routes[kForeignNs][false] == ForeignRouteWorld::uplink_route());
  CHECK(f.endpoints.routes[kForeignNs][true].ifname == "eth0");
}

TEST_CASE("--default-route where another tool routes is refused, and changes nothing") {
  ForeignRouteWorld f;
  size_t logged = f.endpoints.log.size();
  auto links_before = f.links.links.size();
  auto r = f.ctl->connect(f.asking("four"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == cnm::Code::kConflict);
  CHECK(r.error().message ==
        "--default-route: pid:4242 has an IPv4 default route via 198.51.100.1 dev up0 that netctl "
        "did not make; netctl does not replace it (delete it there first, or connect without "
        "--default-route)");
  CHECK(f.endpoints.log.size() == logged);
  CHECK(f.links.links.size() == links_before);
  CHECK(f.endpoint_count() == 0);
  CHECK(f.intent_count() == 0);
  CHECK(f.endpoints.routes[kForeignNs][false] == ForeignRouteWorld::uplink_route());
  // With the other tool's route deleted, the endpoint takes it.
  f.endpoints.routes.erase(kForeignNs);
  auto ep = f.ctl->connect(f.asking("four"));
  REQUIRE(ep);
  CHECK(ep->default_route);
  CHECK(f.endpoints.routes[kForeignNs][false].ifname == "eth0");
}

TEST_CASE("--default-route: netctl's own route is not moved; an internal network gives none") {
  ForeignRouteWorld f;
  f.endpoints.routes.erase(kForeignNs);
  REQUIRE(f.ctl->connect(connect_req("four", "pid:4242")));
  CHECK(f.on("four").default_route);
  auto r = f.ctl->connect(f.asking("dual"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == cnm::Code::kConflict);
  CHECK(r.error().message.starts_with(
      "--default-route: pid:4242 has its IPv4 default route from network four already"));
  CHECK(f.endpoint_count() == 1);
  auto in = f.ctl->connect(f.asking("inner"));
  REQUIRE_FALSE(in);
  CHECK(in.error().code == cnm::Code::kInvalid);
  CHECK(in.error().message ==
        "--default-route: network inner gives no default route (it is "
        "internal)");
  // Without the flag, a later network leaves the route where it is.
  auto d = f.ctl->connect(connect_req("dual", "pid:4242"));
  REQUIRE(d);
  CHECK_FALSE(d->default_route);
  CHECK(d->default_route6);
}

TEST_CASE("the gateway election leaves a family another tool routes by then alone") {
  ForeignRouteWorld f;
  f.endpoints.routes.erase(kForeignNs);
  REQUIRE(f.ctl->connect(connect_req("four", "pid:4242")));
  REQUIRE(f.ctl->connect(connect_req("dual", "pid:4242")));
  // Another tool puts its route in place of netctl's (`ip route replace default ... dev up0`).
  f.endpoints.routes[kForeignNs][false] = ForeignRouteWorld::uplink_route();
  REQUIRE(f.ctl->disconnect("four", "pid:4242"));
  // Before: add_default_routes counted the uplink's route as dual's, and its record said so.
  CHECK_FALSE(f.on("dual").default_route);
  CHECK(f.on("dual").default_route6);
  CHECK(f.endpoints.routes[kForeignNs][false] == ForeignRouteWorld::uplink_route());
}

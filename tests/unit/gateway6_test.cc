// One default route holder per address family (Docker 27): a namespace takes its IPv4 default
// from the first network with IPv4 and its IPv6 default from the first with IPv6, and each family
// is handed on by itself when its holder leaves.
#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cnm/model/model.h"
#include "tests/unit/controller_fixture.h"

namespace {

// IPv4-only a (10.88.0.0/24); dual-stack d (10.93.0.0/24, fd00:93::/64) and e (10.94.0.0/24,
// fd00:94::/64); sandbox s1.
struct Dual : ControllerFixture {
  Dual() {
    make_network("a", {"10.88.0.0/24"});
    make_network("d", {"10.93.0.0/24", "fd00:93::/64"});
    make_network("e", {"10.94.0.0/24", "fd00:94::/64"});
    REQUIRE(ctl->create_sandbox("s1"));
  }
  bool attached_via(const std::string& net, const std::string& what) {
    auto ep = on(net);
    for (const auto& l : endpoints.log)
      if (l.starts_with("attach " + ep.host_ifname + " ")) return l.find(what) != std::string::npos;
    return false;
  }
};

}  // namespace

TEST_CASE("a dual-stack network after an IPv4-only one gives the IPv6 default route only") {
  Dual f;
  REQUIRE(f.ctl->connect(connect_req("a", "s1")));
  REQUIRE(f.ctl->connect(connect_req("d", "s1")));
  CHECK(f.on("a").default_route);
  CHECK_FALSE(f.on("a").default_route6);
  CHECK_FALSE(f.on("d").default_route);
  CHECK(f.on("d").default_route6);
  CHECK(f.attached_via("a", " via 10.88.0.1"));
  CHECK(f.attached_via("d", " via fd00:93::1"));
  CHECK_FALSE(f.attached_via("d", " via 10.93.0.1"));
  // A second dual-stack network finds both families held.
  REQUIRE(f.ctl->connect(connect_req("e", "s1")));
  CHECK_FALSE(f.on("e").default_route);
  CHECK_FALSE(f.on("e").default_route6);
  CHECK_FALSE(f.attached_via("e", " via "));
}

TEST_CASE("each family is handed on by itself, to the oldest endpoint that has it") {
  Dual f;
  REQUIRE(f.ctl->connect(connect_req("a", "s1")));
  REQUIRE(f.ctl->connect(connect_req("d", "s1")));
  REQUIRE(f.ctl->connect(connect_req("e", "s1")));
  // d leaves with the IPv6 route: e takes it (a has no IPv6), a keeps IPv4.
  REQUIRE(f.ctl->disconnect("d", "s1"));
  CHECK(f.endpoints.log.back() == "route /run/netns/s1 eth2 via fd00:94::1");
  CHECK(f.on("a").default_route);
  CHECK_FALSE(f.on("e").default_route);
  CHECK(f.on("e").default_route6);
  // a leaves with the IPv4 route: e takes that too, in one record with both.
  REQUIRE(f.ctl->disconnect("a", "s1"));
  CHECK(f.endpoints.log.back() == "route /run/netns/s1 eth2 via 10.94.0.1");
  CHECK(f.on("e").default_route);
  CHECK(f.on("e").default_route6);
}

TEST_CASE("a dual-stack holder leaving hands each family to its own oldest candidate") {
  Dual f;
  REQUIRE(f.ctl->connect(connect_req("d", "s1")));  // both families
  REQUIRE(f.ctl->connect(connect_req("a", "s1")));
  REQUIRE(f.ctl->connect(connect_req("e", "s1")));
  REQUIRE(f.ctl->disconnect("d", "s1"));
  // IPv4 to a (the oldest left), IPv6 to e (the oldest left with IPv6).
  CHECK(f.on("a").default_route);
  CHECK_FALSE(f.on("a").default_route6);
  CHECK_FALSE(f.on("e").default_route);
  CHECK(f.on("e").default_route6);
  auto n = std::count_if(f.endpoints.log.begin(), f.endpoints.log.end(),
                         [](const std::string& l) { return l.starts_with("route "); });
  CHECK(n == 2);
}

TEST_CASE("an endpoint record from before one holder per family reads as routing all it has") {
  Dual f;
  REQUIRE(f.ctl->connect(connect_req("d", "s1")));
  nlohmann::json j = f.on("d");
  j.erase("DefaultRoute6");
  auto old = j.get<cnm::Endpoint>();
  CHECK(old.default_route);
  CHECK(old.default_route6);
  j["DefaultRoute"] = false;
  old = j.get<cnm::Endpoint>();
  CHECK_FALSE(old.default_route);
  CHECK_FALSE(old.default_route6);
  // An IPv4-only endpoint's old record: no IPv6 route.
  REQUIRE(f.ctl->create_sandbox("s2"));
  REQUIRE(f.ctl->connect(connect_req("a", "s2")));
  auto n = f.ctl->network("a");
  REQUIRE(n);
  nlohmann::json k = f.ctl->endpoints({.parent = n->id})->front();
  k.erase("DefaultRoute6");
  CHECK(k.get<cnm::Endpoint>().default_route);
  CHECK_FALSE(k.get<cnm::Endpoint>().default_route6);
}

TEST_CASE("a failed IPv6 route fails the disconnect, and the next command's recovery adds it") {
  // How many kernel steps the disconnect of d takes: the route for e is its last.
  auto setup = [](Dual& f) {
    REQUIRE(f.ctl->connect(connect_req("a", "s1")));  // IPv4
    REQUIRE(f.ctl->connect(connect_req("d", "s1")));  // IPv6
    REQUIRE(f.ctl->connect(connect_req("e", "s1")));
  };
  int steps = 0;
  {
    Dual dry;
    setup(dry);
    int before = dry.steps.steps;
    REQUIRE(dry.ctl->disconnect("d", "s1"));
    steps = dry.steps.steps - before;
  }
  Dual f;
  setup(f);
  f.steps.fail_at = f.steps.steps + steps;
  auto st = f.ctl->disconnect("d", "s1");
  REQUIRE_FALSE(st);
  CHECK(f.endpoints.log.back().starts_with("route /run/netns/s1 eth2 via fd00:94::1 -> "));
  CHECK(f.intent_count() == 1);
  CHECK_FALSE(f.on("e").default_route6);
  REQUIRE(recover_holding_lock(*f.ctl));
  CHECK(f.intent_count() == 0);
  CHECK(f.endpoints.log.back() == "route /run/netns/s1 eth2 via fd00:94::1");
  CHECK(f.on("e").default_route6);
  CHECK_FALSE(f.on("e").default_route);
  CHECK(f.on("a").default_route);
  auto d = f.ctl->network("d");
  REQUIRE(d);
  CHECK(f.ctl->endpoints({.parent = d->id})->empty());
}

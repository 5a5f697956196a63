// Which endpoint of a namespace holds its default route (Docker's gateway endpoint): none on an
// internal network, and a new one when the endpoint holding it leaves.
#include <doctest/doctest.h>

#include <algorithm>
#include <string_view>

#include "cnm/core/txn.h"
#include "tests/unit/controller_fixture.h"

namespace {

// Networks a (10.88.0.0/24), b (10.89.0.0/24), internal i (10.90.0.0/24); sandbox s1.
struct Nets : ControllerFixture {
  Nets() {
    make_network("a", {"10.88.0.0/24"});
    make_network("b", {"10.89.0.0/24"});
    make_network("i", {"10.90.0.0/24"}, true);
    REQUIRE(ctl->create_sandbox("s1"));
  }
  // s1 on a (its default route), then on b; the disconnect of a is to move the route to b.
  void a_then_b() {
    REQUIRE(ctl->connect(connect_req("a", "s1")));
    REQUIRE(ctl->connect(connect_req("b", "s1")));
  }
  // After a failed disconnect of a: its intent stays, b has no default route yet; the next
  // command's recovery finishes the drop and gives b the route.
  void recovered_onto_b() {
    CHECK(intent_count() == 1);
    CHECK_FALSE(on("b").default_route);
    REQUIRE(recover_holding_lock(*ctl));
    CHECK(intent_count() == 0);
    CHECK(on("b").default_route);
    CHECK(endpoints.log.back() == "route /run/netns/s1 eth1 via 10.89.0.1");
    auto a = ctl->network("a");
    REQUIRE(a);
    CHECK(ctl->endpoints({.parent = a->id})->empty());
  }
  size_t routes_logged() {
    return std::count_if(endpoints.log.begin(), endpoints.log.end(),
                         [](const std::string& l) { return l.starts_with("route "); });
  }
};

}  // namespace

TEST_CASE("an internal network gives no default route and leaves it to a later network") {
  Nets f;
  auto in = f.ctl->connect(connect_req("i", "s1"));
  REQUIRE(in);
  CHECK_FALSE(in->default_route);
  CHECK(f.endpoints.log.back().find("via") == std::string::npos);
  auto out = f.ctl->connect(connect_req("a", "s1"));
  REQUIRE(out);
  CHECK(out->default_route);
  CHECK(f.endpoints.log.back().find("via 10.88.0.1") != std::string::npos);
}

TEST_CASE("disconnecting the network of the default route moves it to the oldest one left") {
  Nets f;
  REQUIRE(f.ctl->connect(connect_req("a", "s1")));
  REQUIRE(f.ctl->connect(connect_req("i", "s1")));  // passed over: internal
  REQUIRE(f.ctl->connect(connect_req("b", "s1")));
  CHECK_FALSE(f.on("b").default_route);
  REQUIRE(f.ctl->disconnect("a", "s1"));
  CHECK(f.endpoints.log.back() == "route /run/netns/s1 eth2 via 10.89.0.1");
  CHECK(f.on("b").default_route);
  CHECK_FALSE(f.on("i").default_route);
  // Leaving a network without the route changes nothing.
  REQUIRE(f.ctl->disconnect("i", "s1"));
  CHECK(f.routes_logged() == 1);
  CHECK(f.on("b").default_route);
  // The last one leaving: nothing left to route through.
  REQUIRE(f.ctl->disconnect("b", "s1"));
  CHECK(f.routes_logged() == 1);
  CHECK(f.intent_count() == 0);
}

TEST_CASE("no new default route when only an internal network is left") {
  Nets f;
  REQUIRE(f.ctl->connect(connect_req("a", "s1")));
  REQUIRE(f.ctl->connect(connect_req("i", "s1")));
  REQUIRE(f.ctl->disconnect("a", "s1"));
  CHECK(f.routes_logged() == 0);
  CHECK_FALSE(f.on("i").default_route);
}

TEST_CASE("a disconnect whose commit failed gets its gateway from the next command's recovery") {
  Nets f;
  f.a_then_b();
  // The disconnect's final store write fails: the endpoint is gone from the kernel, its record and
  // the intent that drops it stay, and b's record still says it has no default route.
  static int writes;
  writes = 0;
  cnm::Txn::set_step_hook([](std::string_view what) -> cnm::Status {
    if (what == "store: commit" && ++writes == 1) return cnm::fail(cnm::Code::kFailed, "disk full");
    return {};
  });
  auto st = f.ctl->disconnect("a", "s1");
  cnm::Txn::set_step_hook(nullptr);
  CHECK_FALSE(st);
  f.recovered_onto_b();  // the route is added again: one the namespace has counts as added
}

TEST_CASE("a failed default route fails the disconnect, and the next command puts it in place") {
  // How many kernel steps the disconnect takes: the route is its last.
  int steps = 0;
  {
    Nets dry;
    dry.a_then_b();
    int before = dry.steps.steps;
    REQUIRE(dry.ctl->disconnect("a", "s1"));
    steps = dry.steps.steps - before;
  }
  Nets f;
  f.a_then_b();
  f.steps.fail_at = f.steps.steps + steps;
  auto st = f.ctl->disconnect("a", "s1");
  REQUIRE_FALSE(st);
  CHECK(st.error().message.find("injected failure") != std::string::npos);
  CHECK(f.endpoints.log.back().starts_with("route /run/netns/s1 eth1 via 10.89.0.1 -> "));
  f.recovered_onto_b();
}

TEST_CASE("no default route into a namespace its path no longer names") {
  Nets f;
  f.a_then_b();
  // The path now leads to another namespace (a pid's, reused): nothing is added there.
  f.namespaces.ids["/run/netns/s1"] = cnm::kernel::NetnsId{.dev = 4, .ino = 1};
  REQUIRE(f.ctl->disconnect("a", "s1"));
  CHECK(f.routes_logged() == 0);
  CHECK_FALSE(f.on("b").default_route);
  CHECK(f.intent_count() == 0);
}

TEST_CASE("the oldest endpoint left gets the route, passing over one whose interface is gone") {
  Nets f;
  f.make_network("c", {"10.91.0.0/24"});
  f.a_then_b();                                     // s1: a (route), b (eth1)
  REQUIRE(f.ctl->connect(connect_req("c", "s1")));  // c (eth2), younger than b
  REQUIRE(f.ctl->disconnect("a", "s1"));
  CHECK(f.endpoints.log.back() == "route /run/netns/s1 eth1 via 10.89.0.1");
  CHECK(f.on("b").default_route);
  CHECK_FALSE(f.on("c").default_route);
  // Again, with b's interface gone from the namespace (its veth deleted behind netctl's back):
  // b is passed over and c, the next oldest, gets the route.
  Nets g;
  g.make_network("c", {"10.91.0.0/24"});
  g.a_then_b();
  REQUIRE(g.ctl->connect(connect_req("c", "s1")));
  g.namespaces.netns.at("/run/netns/s1").erase("eth1");
  REQUIRE(g.ctl->disconnect("a", "s1"));
  CHECK(g.endpoints.log.back() == "route /run/netns/s1 eth2 via 10.91.0.1");
  CHECK(g.on("c").default_route);
}

TEST_CASE("a CNI attachment that held the route hands it to the namespace's CLI endpoint") {
  Nets f;
  cnm::ConnectRequest r = connect_req("a", "/run/netns/s1");
  r.ifname = "eth9";
  auto att = f.ctl->cni_add(r, "c1");
  REQUIRE(att);
  CHECK(att->default_route);
  REQUIRE(f.ctl->connect(connect_req("b", "s1")));
  CHECK_FALSE(f.on("b").default_route);
  REQUIRE(f.ctl->cni_del("a", "c1", "eth9"));
  CHECK(f.endpoints.log.back() == "route /run/netns/s1 eth0 via 10.89.0.1");
  CHECK(f.on("b").default_route);
}

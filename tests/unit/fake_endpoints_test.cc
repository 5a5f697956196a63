// The recording fakes of Namespaces and Endpoints behave like the Linux ones
// (tests/priv/netns_test.cc, tests/priv/endpoints_test.cc).
#include "tests/fakes/fake_endpoints.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/literals.h"

namespace cnm::kernel {
namespace {

using testing::ip;
using testing::pfx;
using Names = std::vector<std::string>;

EndpointSpec spec(const std::string& host, const std::string& path) {
  EndpointSpec s;
  s.host_ifname = host;
  s.bridge = "nc-a";
  s.netns_path = path;
  s.ifname = "eth0";
  s.mac = "02:42:0a:00:00:02";
  s.addresses = {pfx("10.0.0.2/24"), pfx("fd00::2/64")};
  s.gateways = {ip("10.0.0.1"), ip("fd00::1")};
  return s;
}

// A bridge nc-a and a namespace /run/netns/a, sharing one step counter.
struct World {
  StepCounter steps;
  FakeLinks links{&steps};
  FakeNamespaces ns{&steps};
  FakeEndpoints eps{links, ns, &steps};
  World() {
    REQUIRE(links.create_bridge("nc-a", 1500, {}));
    REQUIRE(ns.create("/run/netns/a"));
  }
};

TEST_CASE("FakeNamespaces create, identify, interfaces, remove") {
  FakeNamespaces ns;
  REQUIRE(ns.create("/run/netns/x"));
  REQUIRE(ns.create("/run/netns/y"));
  CHECK(ns.netns["/run/netns/x"] == std::set<std::string>{"lo"});
  auto x = ns.identify("/run/netns/x");
  auto y = ns.identify("/run/netns/y");
  REQUIRE(x);
  REQUIRE(y);
  CHECK(*x != *y);
  CHECK(ns.identify("/run/netns/x").value_or(NetnsId{}) == *x);  // stable
  CHECK(ns.interfaces("/run/netns/x").value_or(Names{}) == Names{"lo"});

  auto dup = ns.create("/run/netns/x");
  REQUIRE_FALSE(dup);
  CHECK(dup.error().code == Code::kConflict);
  CHECK(dup.error().message == "netns /run/netns/x: already exists");

  REQUIRE(ns.remove("/run/netns/x"));
  CHECK(ns.remove("/run/netns/x"));  // already gone: removed
  auto gone = ns.identify("/run/netns/x");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code == Code::kNotFound);
  CHECK(gone.error().message == "network namespace /run/netns/x not found");
  CHECK_FALSE(ns.interfaces("/run/netns/x"));
  CHECK(ns.log == Names{"create /run/netns/x", "create /run/netns/y",
                        "create /run/netns/x -> netns /run/netns/x: already exists",
                        "remove /run/netns/x", "remove /run/netns/x"});

  // Preloaded namespaces (made by someone else) are identified too, aliases by a shared id.
  ns.netns["/proc/42/ns/net"] = {"lo", "eth0"};
  ns.netns["/run/netns/alias"] = {"lo", "eth0"};
  ns.ids["/proc/42/ns/net"] = ns.ids["/run/netns/alias"] = NetnsId{.dev = 4, .ino = 7};
  CHECK(ns.identify("/proc/42/ns/net").value_or(NetnsId{}) == NetnsId{.dev = 4, .ino = 7});
  CHECK(ns.identify("/run/netns/alias").value_or(NetnsId{}) == NetnsId{.dev = 4, .ino = 7});
  CHECK(ns.interfaces("/proc/42/ns/net").value_or(Names{}) == Names{"lo", "eth0"});
}

TEST_CASE("FakeEndpoints attach publishes both ends and records the call") {
  World w;
  REQUIRE(w.eps.attach(spec("nv1", "/run/netns/a")));
  auto host = w.links.get("nv1");
  REQUIRE(host);
  REQUIRE(host->has_value());
  CHECK((*host)->kind == "veth");
  CHECK((*host)->master == w.links.links["nc-a"].index);
  CHECK((*host)->up);
  CHECK((*host)->mtu == 1500);
  CHECK(w.ns.interfaces("/run/netns/a").value_or(Names{}) == Names{"lo", "eth0"});
  CHECK(w.eps.peers["nv1"] == std::pair<std::string, std::string>{"/run/netns/a", "eth0"});
  CHECK(w.eps.log == Names{"attach nv1 nc-a /run/netns/a eth0 mac=02:42:0a:00:00:02 mtu=1500 "
                           "10.0.0.2/24 fd00::2/64 via 10.0.0.1 via fd00::1"});
  // create bridge + create netns + (create pair, up, 2 addresses, 2 routes)
  CHECK(w.steps.steps == 2 + 6);
}

TEST_CASE("FakeEndpoints refusals match the Linux messages") {
  World w;
  REQUIRE(w.eps.attach(spec("nv1", "/run/netns/a")));
  auto missing = w.eps.attach(spec("nv2", "/run/netns/none"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Code::kNotFound);
  CHECK(missing.error().message == "network namespace /run/netns/none not found");

  auto peer_taken = w.eps.attach(spec("nv2", "/run/netns/a"));
  REQUIRE_FALSE(peer_taken);
  CHECK(peer_taken.error().code == Code::kConflict);
  CHECK(peer_taken.error().message == "interface eth0 already exists in /run/netns/a");

  REQUIRE(w.ns.create("/run/netns/b"));
  auto host_taken = w.eps.attach(spec("nv1", "/run/netns/b"));
  REQUIRE_FALSE(host_taken);
  CHECK(host_taken.error().code == Code::kConflict);
  CHECK(host_taken.error().message == "create veth nv1: File exists");

  EndpointSpec no_bridge = spec("nv3", "/run/netns/b");
  no_bridge.bridge = "nc-none";
  auto nb = w.eps.attach(no_bridge);
  REQUIRE_FALSE(nb);
  CHECK(nb.error().message == "look up bridge nc-none: No such device");

  EndpointSpec bad_mac = spec("nv3", "/run/netns/b");
  bad_mac.mac = "02:42:zz:00:00:01";
  auto bm = w.eps.attach(bad_mac);
  REQUIRE_FALSE(bm);
  CHECK(bm.error().code == Code::kInvalid);
  CHECK(bm.error().message == "invalid MAC address '02:42:zz:00:00:01'");

  EndpointSpec off_link = spec("nv3", "/run/netns/b");
  off_link.gateways = {ip("10.99.0.1")};
  auto ol = w.eps.attach(off_link);
  REQUIRE_FALSE(ol);
  CHECK(ol.error().message ==
        "add default route via 10.99.0.1 dev eth0 in /run/netns/b: Network is unreachable");
  CHECK(w.eps.log.back().ends_with(" -> " + ol.error().message));

  // Nothing of the failed attaches is left.
  CHECK(w.ns.netns["/run/netns/b"] == std::set<std::string>{"lo"});
  CHECK_FALSE(w.links.links.contains("nv2"));
  CHECK_FALSE(w.links.links.contains("nv3"));
  CHECK(w.eps.peers.size() == 1);
}

TEST_CASE("FakeEndpoints: a failure at any step leaves nothing") {
  const int base = 2;  // the World's bridge and namespace
  for (int k = base + 1; k <= base + 6; ++k) {
    CAPTURE(k);
    World w;
    w.steps.fail_at = k;
    auto r = w.eps.attach(spec("nv1", "/run/netns/a"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message == fmt::format("injected failure at step {}", k));
    CHECK_FALSE(w.links.links.contains("nv1"));
    CHECK(w.ns.netns["/run/netns/a"] == std::set<std::string>{"lo"});
    CHECK(w.eps.peers.empty());
  }
}

TEST_CASE("FakeEndpoints: deleting the host end or the namespace removes the pair") {
  World w;
  REQUIRE(w.ns.create("/run/netns/b"));
  REQUIRE(w.eps.attach(spec("nv1", "/run/netns/a")));
  REQUIRE(w.eps.attach(spec("nv2", "/run/netns/b")));
  std::vector<std::string> del{"nv1"};
  REQUIRE(w.links.delete_links(del));
  CHECK(w.ns.interfaces("/run/netns/a").value_or(Names{}) == Names{"lo"});
  CHECK_FALSE(w.eps.peers.contains("nv1"));

  REQUIRE(w.ns.remove("/run/netns/b"));
  CHECK_FALSE(w.links.links.contains("nv2"));
  CHECK(w.eps.peers.empty());
  CHECK(w.links.links.contains("nc-a"));
}

TEST_CASE("FakeEndpoints: one default route per family and namespace, as the kernel keeps") {
  World w;
  REQUIRE(w.eps.attach(spec("nv1", "/run/netns/a")));
  CHECK(w.eps.routes["/run/netns/a"][false] == FakeRoute{.ifname = "eth0", .via = ip("10.0.0.1")});
  EndpointSpec second = spec("nv2", "/run/netns/a");
  second.ifname = "eth1";
  second.addresses = {pfx("10.0.0.3/24")};
  second.gateways = {ip("10.0.0.1")};
  auto again = w.eps.attach(second);  // the kernel's EEXIST
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Code::kConflict);
  CHECK(again.error().message ==
        "add default route via 10.0.0.1 dev eth1 in /run/netns/a: File exists");
  CHECK_FALSE(w.links.links.contains("nv2"));
  second.gateways.clear();
  REQUIRE(w.eps.attach(second));
  // add_default_routes counts the route the namespace has as added, and leaves it alone.
  std::vector<IpAddr> gw{ip("10.0.0.1")};
  REQUIRE(w.eps.add_default_routes("/run/netns/a", "eth1", gw));
  CHECK(w.eps.routes["/run/netns/a"][false].ifname == "eth0");
  std::vector<IpAddr> off{ip("10.9.0.1")};
  auto unreachable = w.eps.add_default_routes("/run/netns/a", "eth1", off);
  REQUIRE_FALSE(unreachable);
  CHECK(unreachable.error().code == Code::kFailed);
  CHECK(unreachable.error().message.ends_with("Network is unreachable"));
  // The route goes with its interface; then eth1 takes it.
  REQUIRE(w.links.delete_links(std::vector<std::string>{"nv1"}));
  CHECK_FALSE(w.eps.routes.contains("/run/netns/a"));  // both of eth0's routes
  REQUIRE(w.eps.add_default_routes("/run/netns/a", "eth1", gw));
  CHECK(w.eps.routes["/run/netns/a"][false] == FakeRoute{.ifname = "eth1", .via = ip("10.0.0.1")});
  second.host_ifname = "nv3";
  second.ifname = "eth2";
  second.addresses = {pfx("10.0.0.4/24")};
  second.gateways = gw;
  CHECK(w.eps.attach(second).error().code == Code::kConflict);
}

TEST_CASE("FakeNamespaces: a held namespace outlives its path, with its veth pairs") {
  World w;
  REQUIRE(w.eps.attach(spec("nv1", "/run/netns/a")));
  auto held = w.ns.hold("/run/netns/a");
  REQUIRE(held);
  REQUIRE(held->hold);
  REQUIRE(w.ns.remove("/run/netns/a"));
  CHECK(w.ns.identify("/run/netns/a").error().code == Code::kNotFound);
  CHECK(w.links.links.contains("nv1"));  // the kernel keeps the namespace, so the pair stays
  std::string detached = fmt::format("net:[{}]", held->id.ino);
  CHECK(w.eps.peers["nv1"].first == detached);
  CHECK(w.ns.interfaces(detached).value_or(Names{}) == Names{"lo", "eth0"});
  REQUIRE(w.ns.create("/run/netns/a"));  // a new namespace at the path
  held->hold.reset();                    // the last reference goes
  CHECK_FALSE(w.links.links.contains("nv1"));
  CHECK_FALSE(w.ns.netns.contains(detached));
  CHECK(w.eps.peers.empty());
  CHECK(w.ns.interfaces("/run/netns/a").value_or(Names{}) == Names{"lo"});
}

TEST_CASE("FakeNamespaces: a process in a namespace keeps it after its path goes") {
  World w;
  REQUIRE(w.eps.attach(spec("nv1", "/run/netns/a")));
  auto id = w.ns.identify("/run/netns/a");
  REQUIRE(id);
  w.ns.netns["/proc/77/ns/net"] = {"lo", "eth0"};  // `ip netns exec a sleep` as pid 77
  w.ns.ids["/proc/77/ns/net"] = *id;
  REQUIRE(w.ns.remove("/run/netns/a"));
  CHECK(w.links.links.contains("nv1"));
  CHECK(w.eps.peers["nv1"].first == "/proc/77/ns/net");
  CHECK(w.eps.routes.contains("/proc/77/ns/net"));
  REQUIRE(w.ns.remove("/proc/77/ns/net"));  // it exits
  CHECK_FALSE(w.links.links.contains("nv1"));
  CHECK(w.eps.routes.empty());
  CHECK(w.ns.netns.empty());
}

TEST_CASE("FakeEndpoints restores the hooks it replaced") {
  FakeLinks links;
  FakeNamespaces ns;
  std::vector<std::string> deleted;
  links.on_delete = [&](const std::string& n) { deleted.push_back(n); };
  REQUIRE(links.create_bridge("nc-a", 0, {}));
  {
    FakeEndpoints eps(links, ns);
    std::vector<std::string> del{"nc-a"};
    REQUIRE(links.delete_links(del));
    CHECK(deleted == Names{"nc-a"});  // chained
  }
  REQUIRE(links.create_bridge("nc-b", 0, {}));
  std::vector<std::string> del{"nc-b"};
  REQUIRE(links.delete_links(del));
  CHECK(deleted == Names{"nc-a", "nc-b"});
  CHECK_FALSE(ns.on_remove);
}

}  // namespace
}  // namespace cnm::kernel

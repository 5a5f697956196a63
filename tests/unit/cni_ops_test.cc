// The controller's CNI operations over fake kernel adapters: attachments keyed by container id and
// interface, duplicate ADD, idempotent DEL, GC by attachment list, all-or-nothing ADD.
#include <doctest/doctest.h>

#include "tests/unit/controller_fixture.h"

using cnm::Code;

namespace {

// Network n1 (10.88.0.0/24) and namespaces /run/netns/s1, /run/netns/s2.
struct Cni : ControllerFixture {
  Cni() {
    cnm::NetworkCreateRequest r;
    r.name = "n1";
    r.subnets = {"10.88.0.0/24"};
    REQUIRE(ctl->create_network(r));
    REQUIRE(namespaces.create("/run/netns/s1"));
    REQUIRE(namespaces.create("/run/netns/s2"));
  }
  cnm::Result<cnm::Endpoint> add(const std::string& cid, const std::string& ns,
                                 const std::string& ifname = "eth0") {
    cnm::ConnectRequest r;
    r.network = "n1";
    r.target = "/run/netns/" + ns;
    r.ifname = ifname;
    return ctl->cni_add(r, cid);
  }
};

}  // namespace

TEST_CASE("cni_add records the container id and is found by container id and interface") {
  Cni f;
  auto ep = f.add("c1", "s1");
  REQUIRE(ep);
  CHECK(ep->container_id == "c1");
  CHECK(ep->target == "cni:c1");
  CHECK(ep->ifname == "eth0");
  CHECK(ep->addresses.at(0).str() == "10.88.0.2/24");
  auto n = f.ctl->network("n1");
  REQUIRE(n);
  auto stored = f.ctl->endpoints({.name = "cni:c1", .parent = n->id});
  REQUIRE(stored);
  REQUIRE(stored->size() == 1);
  CHECK(stored->front().container_id == "c1");
}

TEST_CASE("a duplicate cni_add is a conflict and changes nothing") {
  Cni f;
  REQUIRE(f.add("c1", "s1"));
  auto addrs = f.address_count();
  auto links = f.links.links.size();
  auto r = f.add("c1", "s1");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Code::kConflict);
  CHECK(f.address_count() == addrs);
  CHECK(f.links.links.size() == links);
  CHECK(f.endpoint_count() == 1);
}

TEST_CASE("bad cni_add input is kInvalid before anything changes") {
  Cni f;
  for (auto [cid, ifname] : {std::pair{"", "eth0"}, std::pair{"c/1", "eth0"},
                             std::pair{"c1", "eth0123456789abc"}, std::pair{"c1", ""}}) {
    CAPTURE(cid);
    CAPTURE(ifname);
    auto r = f.add(cid, "s1", ifname);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kInvalid);
  }
  CHECK(f.endpoint_count() == 0);
  CHECK(f.address_count() == 0);
}

TEST_CASE("cni_del releases everything and is idempotent, also without ADD or network") {
  Cni f;
  auto ep = f.add("c1", "s1");
  REQUIRE(ep);
  REQUIRE(f.ctl->cni_del("n1", "c1", "eth0"));
  CHECK(f.endpoint_count() == 0);
  CHECK(f.address_count() == 0);
  CHECK_FALSE(f.links.links.contains(ep->host_ifname));
  CHECK(f.ctl->cni_del("n1", "c1", "eth0"));
  CHECK(f.ctl->cni_del("n1", "never-added", "eth0"));
  CHECK(f.ctl->cni_del("no-such-network", "c1", "eth0"));
  // The namespace gone first: the records still go.
  REQUIRE(f.add("c2", "s2"));
  REQUIRE(f.namespaces.remove("/run/netns/s2"));
  CHECK(f.ctl->cni_del("n1", "c2", "eth0"));
  CHECK(f.endpoint_count() == 0);
  CHECK(f.intent_count() == 0);
}

TEST_CASE("cni_gc removes the attachments not listed, matching ifname when given") {
  Cni f;
  REQUIRE(f.add("c1", "s1"));
  REQUIRE(f.add("c2", "s2"));
  REQUIRE(f.namespaces.create("/run/netns/s3"));
  REQUIRE(f.add("c3", "s3", "net1"));
  auto gone = f.ctl->cni_gc("n1", {{"c1", ""}, {"c3", "eth0"}});
  REQUIRE(gone);
  CHECK(gone->size() == 2);  // c2 (not listed) and c3 (other interface)
  auto n = f.ctl->network("n1");
  auto left = f.ctl->endpoints({.parent = n->id});
  REQUIRE(left->size() == 1);
  CHECK(left->front().container_id == "c1");
  CHECK(f.address_count() == 2);  // c1's IPv4 and MAC
  CHECK(f.ctl->cni_gc("no-such-network", {})->empty());
}

TEST_CASE("cni_network makes a defined network once and finds an existing one") {
  Cni f;
  cnm::NetworkCreateRequest r;
  r.name = "inline1";
  r.subnets = {"10.99.0.0/24"};
  auto missing = f.ctl->cni_network(r, false);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Code::kNotFound);
  auto made = f.ctl->cni_network(r, true);
  REQUIRE(made);
  auto again = f.ctl->cni_network(r, true);
  REQUIRE(again);
  CHECK(again->id == made->id);
  CHECK(f.network_count() == 2);
}

TEST_CASE("a failure at any kernel step of cni_add leaves no veth, address, record or intent") {
  int before = 0, total = 0;
  {
    Cni f;
    before = f.steps.steps;
    REQUIRE(f.add("c1", "s1"));
    total = f.steps.steps;
  }
  REQUIRE(total - before >= 3);
  for (int k = before + 1; k <= total; ++k) {
    CAPTURE(k);
    Cni f;
    f.steps.fail_at = k;
    REQUIRE_FALSE(f.add("c1", "s1"));
    CHECK(f.endpoints.peers.empty());
    CHECK(f.endpoint_count() == 0);
    CHECK(f.address_count() == 0);
    CHECK(f.intent_count() == 0);
    f.steps.fail_at = 0;
    CHECK(f.add("c1", "s1"));
  }
}

// Sandboxes and endpoints through the controller over fake kernel adapters.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/unit/controller_fixture.h"

using cnm::Code;

namespace {

// A fixture with network n1 (10.88.0.0/24) and sandboxes s1, s2.
struct Net : ControllerFixture {
  Net() {
    make_network("n1", {"10.88.0.0/24"});
    REQUIRE(ctl->create_sandbox("s1"));
    REQUIRE(ctl->create_sandbox("s2"));
  }
};

}  // namespace

TEST_CASE("connect gives eth0, the first free address, a MAC from it and a default route") {
  Net f;
  auto ep = f.ctl->connect(connect_req("n1", "s1"));
  REQUIRE(ep);
  CHECK(ep->ifname == "eth0");
  CHECK(ep->addresses.at(0).str() == "10.88.0.2/24");
  CHECK(ep->mac == "02:42:0a:58:00:02");
  CHECK(ep->default_route);
  CHECK(ep->host_ifname == "nv" + ep->id.substr(0, 12));
  CHECK(f.links.links.contains(ep->host_ifname));
  CHECK(f.namespaces.netns.at("/run/netns/s1").contains("eth0"));
  CHECK(f.endpoints.log.back().find("via 10.88.0.1") != std::string::npos);
  auto second = f.ctl->connect(connect_req("n1", "s2"));
  REQUIRE(second);
  CHECK(second->addresses.at(0).str() == "10.88.0.3/24");
  CHECK(f.address_count() == 4);  // two IPs, two MACs
}

TEST_CASE("a second network gives eth1 and no second default route") {
  Net f;
  f.make_network("n2", {"10.89.0.0/24"});
  REQUIRE(f.ctl->connect(connect_req("n1", "s1")));
  auto ep = f.ctl->connect(connect_req("n2", "s1"));
  REQUIRE(ep);
  CHECK(ep->ifname == "eth1");
  CHECK_FALSE(ep->default_route);
  CHECK(f.endpoints.log.back().find("via") == std::string::npos);
}

TEST_CASE("bad connect input is rejected with its code and changes nothing") {
  Net f;
  auto first = connect_req("n1", "s1");
  first.ip = "10.88.0.10";
  REQUIRE(f.ctl->connect(first));
  auto links = f.links.links;
  auto log_size = f.endpoints.log.size();
  auto addrs = f.address_count();
  struct Case {
    cnm::ConnectRequest r;
    Code code;
  };
  std::vector<Case> cases;
  cases.push_back({connect_req("n1", "s1"), Code::kConflict});  // joined twice
  auto in_use = connect_req("n1", "s2");
  in_use.ip = "10.88.0.10";
  cases.push_back({in_use, Code::kConflict});
  auto outside = connect_req("n1", "s2");
  outside.ip = "10.99.0.1";
  cases.push_back({outside, Code::kInvalid});
  auto long_if = connect_req("n1", "s2");
  long_if.ifname = "abcdefghijklmnop";
  cases.push_back({long_if, Code::kInvalid});
  auto mac = connect_req("n1", "s2");
  mac.mac = "02:42:0a:58:00:0a";  // s1's
  cases.push_back({mac, Code::kConflict});
  cases.push_back({connect_req("n1", "nosuch"), Code::kNotFound});
  cases.push_back({connect_req("nonet", "s2"), Code::kNotFound});
  cases.push_back({connect_req("n1", "pid:999999"), Code::kNotFound});
  cases.push_back({connect_req("n1", "pid:x"), Code::kInvalid});
  for (auto& c : cases) {
    CAPTURE(c.r.target);
    auto r = f.ctl->connect(c.r);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == c.code);
  }
  CHECK(f.links.links.size() == links.size());
  CHECK(f.endpoints.log.size() == log_size);
  CHECK(f.address_count() == addrs);
  CHECK(f.endpoint_count() == 1);
  CHECK(f.intent_count() == 0);
}

TEST_CASE("a failure at any kernel step of connect leaves no veth, address or record") {
  int before = 0, total = 0;
  {
    Net f;
    before = f.steps.steps;
    REQUIRE(f.ctl->connect(connect_req("n1", "s1")));
    total = f.steps.steps;
  }
  REQUIRE(total - before >= 3);
  for (int k = before + 1; k <= total; ++k) {
    CAPTURE(k);
    Net f;
    f.steps.fail_at = k;
    auto r = f.ctl->connect(connect_req("n1", "s1"));
    REQUIRE_FALSE(r);
    CHECK(f.endpoints.peers.empty());
    CHECK(f.links.links.size() == 1);  // the bridge only
    CHECK(f.namespaces.netns.at("/run/netns/s1") == std::set<std::string>{"lo"});
    CHECK(f.endpoint_count() == 0);
    CHECK(f.address_count() == 0);
    CHECK(f.intent_count() == 0);
    f.steps.fail_at = 0;
    CHECK(f.ctl->connect(connect_req("n1", "s1")));
  }
}

TEST_CASE("disconnect releases the address, is idempotent, and works once the namespace is gone") {
  Net f;
  auto ep = f.ctl->connect(connect_req("n1", "s1"));
  REQUIRE(ep);
  REQUIRE(f.ctl->disconnect("n1", "s1"));
  CHECK_FALSE(f.links.links.contains(ep->host_ifname));
  CHECK(f.address_count() == 0);
  REQUIRE(f.ctl->disconnect("n1", "s1"));  // again: nothing to do
  CHECK(f.ctl->disconnect("nonet", "s1").error().code == Code::kNotFound);
  // The address comes back to the next endpoint.
  auto again = f.ctl->connect(connect_req("n1", "s2"));
  REQUIRE(again);
  CHECK(again->addresses.at(0).str() == "10.88.0.2/24");

  // A process's namespace that disappears while connected.
  f.namespaces.netns["/proc/4242/ns/net"] = {"lo"};
  auto p = f.ctl->connect(connect_req("n1", "pid:4242"));
  REQUIRE(p);
  REQUIRE(f.namespaces.remove("/proc/4242/ns/net"));  // the process exited
  CHECK_FALSE(f.links.links.contains(p->host_ifname));
  REQUIRE(f.ctl->disconnect("n1", "pid:4242"));
  CHECK(f.endpoint_count() == 1);
  CHECK(f.address_count() == 2);
}

TEST_CASE("sandbox rm refuses with endpoints unless forced; network rm refuses with endpoints") {
  Net f;
  REQUIRE(f.ctl->connect(connect_req("n1", "s1")));
  CHECK(f.ctl->remove_sandboxes({"s1"}, false).error().code == Code::kConflict);
  CHECK(f.ctl->remove_networks({"n1"}).error().code == Code::kConflict);
  CHECK(f.namespaces.netns.contains("/run/netns/s1"));
  REQUIRE(f.ctl->remove_sandboxes({"s1", "s2"}, true));
  CHECK(f.namespaces.netns.empty());
  CHECK(f.endpoint_count() == 0);
  CHECK(f.address_count() == 0);
  CHECK(f.ctl->remove_sandboxes({"s1"}, false).error().code == Code::kNotFound);
  REQUIRE(f.ctl->remove_networks({"n1"}));
  CHECK(f.links.links.empty());
}

TEST_CASE("a failure at any kernel step of sandbox create leaves no namespace and no record") {
  ControllerFixture probe;
  REQUIRE(probe.ctl->create_sandbox("s"));
  int total = probe.steps.steps;
  for (int k = 1; k <= total; ++k) {
    ControllerFixture f;
    f.steps.fail_at = k;
    REQUIRE_FALSE(f.ctl->create_sandbox("s"));
    CHECK(f.namespaces.netns.empty());
    CHECK(f.store->list(cnm::store::kSandboxes)->empty());
    CHECK(f.intent_count() == 0);
  }
}

TEST_CASE("200 connect/disconnect cycles leave nothing allocated") {
  Net f;
  for (int i = 0; i < 200; ++i) {
    REQUIRE(f.ctl->connect(connect_req("n1", "s1")));
    REQUIRE(f.ctl->disconnect("n1", "s1"));
  }
  CHECK(f.endpoint_count() == 0);
  CHECK(f.address_count() == 0);
  CHECK(f.endpoints.peers.empty());
}

TEST_CASE("published ports: rules added, conflicts refused, rules gone after disconnect") {
  Net f;
  auto web = connect_req("n1", "s1");
  web.publish = {"8080:80", "127.0.0.1:8081:81/udp"};
  auto ep = f.ctl->connect(web);
  REQUIRE(ep);
  REQUIRE(ep->ports.size() == 2);
  CHECK(f.firewall.ports.contains(ep->id.substr(0, 12)));
  // Stale UDP flows to the new port are forgotten; TCP ones need not be.
  CHECK(f.conntrack.calls == std::vector<std::string>{"udp 127.0.0.1:8081+1"});
  auto again = connect_req("n1", "s2");
  again.publish = {"127.0.0.1:8080:80"};  // 8080/tcp is published on every address
  CHECK(f.ctl->connect(again).error().code == Code::kConflict);
  f.hostports.held["tcp/9000"] = "pid 1 (init)";
  auto held = connect_req("n1", "s2");
  held.publish = {"9000:80"};
  auto r = f.ctl->connect(held);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Code::kConflict);
  CHECK(r.error().message.find("pid 1 (init)") != std::string::npos);
  // An address the host does not have: bind() says EADDRNOTAVAIL, so netctl refuses it.
  auto not_local = connect_req("n1", "s2");
  not_local.publish = {"10.0.0.1:8081:81/udp"};
  auto nl = f.ctl->connect(not_local);
  REQUIRE_FALSE(nl);
  CHECK(nl.error().code == Code::kInvalid);
  CHECK(nl.error().message.find("10.0.0.1 is not an address of this host") != std::string::npos);
  CHECK(f.endpoint_count() == 1);
  auto udp_other_ip = connect_req("n1", "s2");
  udp_other_ip.publish = {"10.88.0.1:8081:81/udp", "0:80"};  // another host IP: no conflict
  auto ok = f.ctl->connect(udp_other_ip);
  REQUIRE(ok);
  CHECK(ok->ports[1].host_port >= 32768);
  CHECK(f.endpoint_count() == 2);
  REQUIRE(f.ctl->disconnect("n1", "s1"));
  CHECK_FALSE(f.firewall.ports.contains(ep->id.substr(0, 12)));
  auto reuse = connect_req("n1", "s1");
  reuse.publish = {"8080:80"};
  CHECK(f.ctl->connect(reuse));
}

TEST_CASE("a failure at any kernel step of a publishing connect leaves no rule, veth or port") {
  int before = 0, total = 0;
  auto req = connect_req("n1", "s1");
  req.publish = {"8080:80"};
  {
    Net f;
    before = f.steps.steps;
    REQUIRE(f.ctl->connect(req));
    total = f.steps.steps;
  }
  for (int k = before + 1; k <= total; ++k) {
    CAPTURE(k);
    Net f;
    f.steps.fail_at = k;
    REQUIRE_FALSE(f.ctl->connect(req));
    CHECK(f.firewall.ports.empty());
    CHECK(f.endpoints.peers.empty());
    CHECK(f.address_count() == 0);
    CHECK(f.intent_count() == 0);
  }
}

TEST_CASE("attach announces only when a neighbour may hold another MAC for the address") {
  Net f;
  auto quiet = [&] { return f.endpoints.log.back().ends_with(" quiet"); };
  CHECK(f.ctl->network("n1")->derived_macs_only);
  // Derived MACs only: a reused address comes back with the same MAC, nothing to announce.
  REQUIRE(f.ctl->connect(connect_req("n1", "s1")));
  CHECK(quiet());
  // A MAC of the user's choosing: announced, and from now on every attach on n1 is.
  auto custom = connect_req("n1", "s2");
  custom.mac = "02:00:00:00:00:99";
  REQUIRE(f.ctl->connect(custom));
  CHECK_FALSE(quiet());
  CHECK_FALSE(f.ctl->network("n1")->derived_macs_only);
  REQUIRE(f.ctl->disconnect("n1", "s2"));
  REQUIRE(f.ctl->connect(connect_req("n1", "s2")));  // may get the address the custom MAC had
  CHECK_FALSE(quiet());
  // A network whose record predates the field announces too.
  cnm::NetworkCreateRequest r;
  r.name = "old";
  r.subnets = {"10.90.0.0/24"};
  auto old = f.ctl->create_network(r);
  REQUIRE(old);
  auto rec = *f.store->get(cnm::store::kNetworks, "old");
  auto body = nlohmann::json::parse(rec->body);
  body.erase("DerivedMacsOnly");
  cnm::store::Batch b;
  b.puts.push_back({cnm::store::kNetworks, {old->id, "old", "", body.dump()}});
  REQUIRE(f.store->apply(b));
  REQUIRE(f.ctl->connect(connect_req("old", "s1")));
  CHECK_FALSE(quiet());
  // IPv6 addresses: the MAC is derived from the IPv4 one, so a reused IPv6 address may come back
  // with another MAC: announced.
  f.make_network("dual", {"10.91.0.0/24", "fd00:91::/64"});
  REQUIRE(f.ctl->connect(connect_req("dual", "s2")));
  CHECK_FALSE(quiet());
}

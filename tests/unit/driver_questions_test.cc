// What the controller asks of a network's driver instead of comparing its name, and the default
// host address of published ports as a network record holds it.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "drivers/bridge/bridge.h"
#include "tests/unit/controller_fixture.h"

using cnm::Code;

namespace {

// Rewrites network `name`'s record with option `key` set to `value`, as a record written by
// another version (or by hand) may hold it: create_network would refuse the value.
void dq_set_network_option(ControllerFixture& f, const std::string& name, const std::string& key,
                           const std::string& value) {
  auto rec = f.store->get(cnm::store::kNetworks, name);
  REQUIRE(rec);
  REQUIRE(*rec);
  auto body = nlohmann::json::parse((*rec)->body);
  body["Options"][key] = value;
  cnm::store::Batch b;
  b.puts.push_back({cnm::store::kNetworks, {(*rec)->id, name, "", body.dump()}});
  REQUIRE(f.store->apply(b));
}

// A controller over `f`'s store and fakes whose registry also holds the bridge driver as "br2".
std::unique_ptr<cnm::Controller> dq_controller_with_br2(ControllerFixture& f) {
  auto reg = drivers::builtin_registry();
  reg.add_driver("br2", [](const cnm::KernelContext& k) {
    return std::make_unique<drivers::BridgeDriver>(k);
  });
  cnm::Config cfg;
  cfg.pools_v4 = ipam::docker_default_pools();
  return std::make_unique<cnm::Controller>(
      cfg, *f.store, f.ipam,
      cnm::KernelContext{&f.links, &f.sysctl, &f.namespaces, &f.endpoints, &f.firewall,
                         &f.hostports, &f.conntrack},
      std::move(reg));
}

}  // namespace

TEST_CASE("the built-in drivers answer the controller's questions; an unknown name answers no") {
  auto reg = drivers::builtin_registry();
  CHECK(reg.driver_names() == std::vector<std::string>{"bridge", "host", "null", "overlay"});
  for (auto q :
       {&cnm::Driver::has_bridge, &cnm::Driver::can_publish, &cnm::Driver::routes_default}) {
    CHECK(reg.ask("bridge", q));
    CHECK(reg.ask("overlay", q));
    CHECK_FALSE(reg.ask("host", q));
    CHECK_FALSE(reg.ask("null", q));
    CHECK_FALSE(reg.ask("macvlan", q));
    CHECK_FALSE(reg.ask("", q));
  }
  CHECK(reg.ask("overlay", &cnm::Driver::global_scope));  // defined in the cluster store
  CHECK_FALSE(reg.ask("bridge", &cnm::Driver::global_scope));
}

TEST_CASE("doctor, gc and publish follow the driver's answers, not its name") {
  ControllerFixture f;
  auto ctl = dq_controller_with_br2(f);
  cnm::NetworkCreateRequest r;
  r.name = "b2";
  r.driver = "br2";
  r.subnets = {"10.86.0.0/24"};
  auto n = ctl->create_network(r);
  REQUIRE(n);
  REQUIRE(ctl->create_sandbox("s1"));
  auto req = connect_req("b2", "s1");
  req.publish = {"8080:80"};
  auto ep = ctl->connect(req);
  REQUIRE(ep);  // it can publish
  CHECK(f.firewall.ports.contains(ep->id.substr(0, 12)));
  auto d = ctl->doctor();  // its chains and port rules are expected, not foreign
  REQUIRE(d);
  CHECK(d->empty());
  auto g = ctl->gc();  // and so stay
  REQUIRE(g);
  CHECK(g->empty());
  CHECK(f.firewall.ports.contains(ep->id.substr(0, 12)));
  std::string names[] = {n->bridge};
  REQUIRE(f.links.delete_links(names));
  d = ctl->doctor();  // its bridge is expected
  REQUIRE(d);
  CHECK(d->missing_links == std::vector<std::string>{n->bridge});
}

TEST_CASE("the default route moves to an endpoint whose driver routes it, whatever its name") {
  ControllerFixture f;
  auto ctl = dq_controller_with_br2(f);
  f.make_network("a", {"10.84.0.0/24"});
  cnm::NetworkCreateRequest r;
  r.name = "b2";
  r.driver = "br2";
  r.subnets = {"10.83.0.0/24"};
  REQUIRE(ctl->create_network(r));
  REQUIRE(ctl->create_sandbox("s1"));
  REQUIRE(ctl->connect(connect_req("a", "s1")));
  auto second = ctl->connect(connect_req("b2", "s1"));
  REQUIRE(second);
  CHECK_FALSE(second->default_route);
  REQUIRE(ctl->disconnect("a", "s1"));
  CHECK(f.on("b2").default_route);
  CHECK(f.endpoints.log.back() == "route /run/netns/s1 eth1 via 10.83.0.1");
}

TEST_CASE("a network record naming an unregistered driver owns no bridge for doctor") {
  ControllerFixture f;
  f.make_network("n1", {"10.85.0.0/24"});
  auto rec = f.store->get(cnm::store::kNetworks, "n1");
  REQUIRE(rec);
  REQUIRE(*rec);
  auto body = nlohmann::json::parse((*rec)->body);
  body["Driver"] = "macvlan";  // as a newer version might write
  body["BridgeName"] = "nc-gone";
  cnm::store::Batch b;
  b.puts.push_back({cnm::store::kNetworks, {(*rec)->id, "n1", "", body.dump()}});
  REQUIRE(f.store->apply(b));
  auto d = f.ctl->doctor();
  REQUIRE(d);
  CHECK(d->missing_links.empty());
  CHECK(d->missing_rules.empty());
}

TEST_CASE("a stored host_binding_ipv4 that is no IPv4 address fails a publish, changing nothing") {
  for (std::string key : {"host_binding_ipv4", "com.docker.network.bridge.host_binding_ipv4"})
    for (std::string bad : {"not-an-address", "", "fd00::1"}) {
      CAPTURE(key);
      CAPTURE(bad);
      ControllerFixture f;
      f.make_network("pub", {"10.87.0.0/24"});
      REQUIRE(f.ctl->create_sandbox("s1"));
      dq_set_network_option(f, "pub", key, bad);
      auto req = connect_req("pub", "s1");
      req.publish = {"8080:80"};
      auto r = f.ctl->connect(req);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Code::kInvalid);
      CHECK(r.error().message.find("host_binding_ipv4") != std::string::npos);
      CHECK(f.endpoint_count() == 0);
      CHECK(f.address_count() == 0);
      CHECK(f.intent_count() == 0);
      CHECK(f.firewall.ports.empty());
      CHECK(f.endpoints.peers.empty());
      // Without -p the network still takes endpoints.
      CHECK(f.ctl->connect(connect_req("pub", "s1")));
    }
}

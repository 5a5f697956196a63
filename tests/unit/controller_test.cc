// The controller against fake kernel adapters: create/rm semantics, all-or-nothing on failure at
// every kernel step, and recovery of a crashed command's intent.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/unit/controller_fixture.h"

using cnm::Code;
using cnm::NetworkCreateRequest;

namespace {

NetworkCreateRequest req(std::string name, std::vector<std::string> subnets = {}) {
  NetworkCreateRequest r;
  r.name = std::move(name);
  r.subnets = std::move(subnets);
  return r;
}

}  // namespace

TEST_CASE("create makes a bridge with the gateway and records the network") {
  ControllerFixture f;
  auto n = f.ctl->create_network(req("n1", {"10.88.0.0/24"}));
  REQUIRE(n);
  CHECK(n->bridge == "nc-" + n->id.substr(0, 12));
  REQUIRE(f.links.links.contains(n->bridge));
  const auto& l = f.links.links.at(n->bridge);
  CHECK(l.kind == "bridge");
  CHECK(l.mtu == 1500);
  REQUIRE(l.addresses.size() == 1);
  CHECK(l.addresses[0].str() == "10.88.0.1/24");
  CHECK(f.sysctl.values["net/ipv4/ip_forward"] == "1");
  CHECK(f.network_count() == 1);
  CHECK(f.intent_count() == 0);
  auto back = f.ctl->network("n1");
  REQUIRE(back);
  CHECK(back->pools.at(0).subnet.str() == "10.88.0.0/24");
  CHECK(f.ctl->network(n->id.substr(0, 12))->name == "n1");
}

TEST_CASE("automatic subnets avoid other networks and host routes") {
  ControllerFixture f;
  f.links.extra_prefixes.push_back(*cnm::Prefix::parse("172.17.0.0/16"));
  REQUIRE(f.ctl->create_network(req("a", {"172.18.0.0/16"})));
  auto b = f.ctl->create_network(req("b"));
  REQUIRE(b);
  CHECK(b->pools.at(0).subnet.str() == "172.19.0.0/16");
}

TEST_CASE("conflicts and bad input change nothing") {
  ControllerFixture f;
  REQUIRE(f.ctl->create_network(req("n1", {"10.88.0.0/24"})));
  auto links_before = f.links.links.size();
  auto log_before = f.links.log.size();
  struct Case {
    NetworkCreateRequest r;
    Code code;
  };
  std::vector<Case> cases = {
      {req("n1", {"10.89.0.0/24"}), Code::kConflict},
      {req("x", {"10.88.0.0/16"}), Code::kConflict},
      {req("x", {"10.88.0.0/33"}), Code::kInvalid},
      {req("../x"), Code::kInvalid},
  };
  auto bad_driver = req("x");
  bad_driver.driver = "warp";
  cases.push_back({bad_driver, Code::kInvalid});
  auto bad_opt = req("x");
  bad_opt.options["bridge.name"] = "sixteen-chars-xx";
  cases.push_back({bad_opt, Code::kInvalid});
  auto v6 = req("x");
  v6.ipv6 = true;
  cases.push_back({v6, Code::kInvalid});
  for (auto& c : cases) {
    auto r = f.ctl->create_network(c.r);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == c.code);
    CHECK(r.error().message.find('\n') == std::string::npos);
  }
  CHECK(f.links.links.size() == links_before);
  CHECK(f.links.log.size() == log_before);
  CHECK(f.network_count() == 1);
  CHECK(f.intent_count() == 0);
}

TEST_CASE("a failure at any kernel step of create leaves no link and no record") {
  int total = 0;
  {
    ControllerFixture f;
    REQUIRE(f.ctl->create_network(req("n1", {"10.88.0.0/24"})));
    total = f.steps.steps;
  }
  REQUIRE(total >= 2);
  for (int k = 1; k <= total; ++k) {
    CAPTURE(k);
    ControllerFixture f;
    f.steps.fail_at = k;
    auto r = f.ctl->create_network(req("n1", {"10.88.0.0/24"}));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kFailed);
    CHECK(f.links.links.empty());
    CHECK(f.firewall.networks.empty());
    CHECK(f.network_count() == 0);
    CHECK(f.intent_count() == 0);
    // The same request succeeds afterwards: nothing half-made is in the way.
    f.steps.fail_at = 0;
    CHECK(f.ctl->create_network(req("n1", {"10.88.0.0/24"})));
  }
}

TEST_CASE("rm removes several networks in one kernel request, all or none") {
  ControllerFixture f;
  for (auto name : {"a", "b", "c"}) REQUIRE(f.ctl->create_network(req(name)));
  auto r = f.ctl->remove_networks({"a", "nosuch"});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Code::kNotFound);
  CHECK(f.network_count() == 3);
  CHECK(f.links.links.size() == 3);
  f.links.log.clear();
  REQUIRE(f.ctl->remove_networks({"a", "b", "c"}));
  CHECK(f.links.links.empty());
  CHECK(f.network_count() == 0);
  REQUIRE(f.links.log.size() == 1);  // one batched delete
  CHECK(f.links.log[0].rfind("delete ", 0) == 0);
}

TEST_CASE("a failed removal is finished by the next command") {
  ControllerFixture f;
  REQUIRE(f.ctl->create_network(req("a")));
  REQUIRE(f.ctl->create_network(req("b")));
  f.steps.fail_at = f.steps.steps + 1;
  auto r = f.ctl->remove_networks({"a", "b"});
  REQUIRE_FALSE(r);
  CHECK(f.intent_count() == 1);
  f.steps.fail_at = 0;
  auto done = recover_holding_lock(*f.ctl);
  REQUIRE(done);
  CHECK(*done == 1);
  CHECK(f.links.links.empty());
  CHECK(f.network_count() == 0);
  CHECK(f.intent_count() == 0);
}

TEST_CASE("recovery removes what a crashed create left behind") {
  ControllerFixture f;
  // A crash after the intent and the bridge, before the commit.
  nlohmann::json intent = {{"cmd", "network create x"},
                           {"objects", {{{"kind", "link"}, {"name", "nc-deadbeef0000"}}}},
                           {"drop", nlohmann::json::array()}};
  REQUIRE(f.store->add_intent(intent.dump()));
  cnm::kernel::LinkInfo stale;
  stale.name = "nc-deadbeef0000";
  stale.kind = "bridge";
  stale.group = f.links.mark;  // made by this root before the crash
  f.links.links[stale.name] = stale;
  // The next write command recovers first.
  REQUIRE(f.ctl->create_network(req("n1")));
  CHECK_FALSE(f.links.links.contains("nc-deadbeef0000"));
  CHECK(f.intent_count() == 0);
  CHECK(f.network_count() == 1);
}

TEST_CASE("prune removes every network and reports the names") {
  ControllerFixture f;
  REQUIRE(f.ctl->create_network(req("a")));
  REQUIRE(f.ctl->create_network(req("b")));
  auto names = f.ctl->prune_networks();
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"a", "b"});
  CHECK(f.links.links.empty());
  auto again = f.ctl->prune_networks();
  REQUIRE(again);
  CHECK(again->empty());
}

TEST_CASE("host and null networks make no kernel objects and take no subnet") {
  ControllerFixture f;
  auto h = req("h");
  h.driver = "host";
  REQUIRE(f.ctl->create_network(h));
  CHECK(f.links.links.empty());
  auto h2 = req("h2");
  h2.driver = "host";
  CHECK(f.ctl->create_network(h2).error().code == Code::kConflict);
  auto n = req("n", {"10.9.0.0/24"});
  n.driver = "null";
  CHECK(f.ctl->create_network(n).error().code == Code::kInvalid);
  REQUIRE(f.ctl->remove_networks({"h"}));
}

// Typed intent objects: each kind writes exactly the journal JSON earlier versions wrote, reads
// back, and a journal row in that format still recovers.
#include "cnm/core/intent.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/unit/controller_fixture.h"

using cnm::Code;

namespace {

// The journal text of `i`, and checks that it parses back to the same text.
std::string intent_text_roundtrip(const cnm::Intent& i) {
  auto text = cnm::to_json(i).dump();
  auto back = cnm::parse_intent(nlohmann::json::parse(text));
  REQUIRE(back);
  CHECK(back->index() == i.index());
  CHECK(cnm::to_json(*back).dump() == text);
  return text;
}

cnm::kernel::EndpointPorts intent_test_ports() {
  cnm::kernel::EndpointPorts e{"0123456789ab", "nc-a", *cnm::IpAddr::parse("10.89.0.9"), {}};
  e.ports = {cnm::kernel::PortMapping{std::nullopt, 8080, 80, 1, cnm::kernel::Proto::kTcp},
             cnm::kernel::PortMapping{*cnm::IpAddr::parse("127.0.0.1"), 5300, 53, 2,
                                      cnm::kernel::Proto::kUdp}};
  return e;
}

}  // namespace

TEST_CASE("each intent kind writes the journal JSON of earlier versions") {
  CHECK(intent_text_roundtrip(cnm::LinkIntent{"nc-0123456789ab"}) ==
        R"({"kind":"link","name":"nc-0123456789ab"})");
  CHECK(intent_text_roundtrip(cnm::NetnsIntent{"/run/netns/sb1"}) ==
        R"({"kind":"netns","path":"/run/netns/sb1"})");
  CHECK(intent_text_roundtrip(cnm::FwNetworkIntent{"0123456789ab"}) ==
        R"({"id12":"0123456789ab","kind":"fw-network"})");
  auto e = intent_test_ports();
  CHECK(intent_text_roundtrip(cnm::FwPortsIntent{e}) ==
        R"({"bridge":"nc-a","id12":"0123456789ab","ip":"10.89.0.9","kind":"fw-ports",)"
        R"("ports":[["",8080,80,1,0],["127.0.0.1",5300,53,2,1]]})");
  e.container_ip6 = *cnm::IpAddr::parse("fd00:89::9");
  CHECK(intent_text_roundtrip(cnm::FwPortsIntent{e}) ==
        R"({"bridge":"nc-a","id12":"0123456789ab","ip":"10.89.0.9","ip6":"fd00:89::9",)"
        R"("kind":"fw-ports","ports":[["",8080,80,1,0],["127.0.0.1",5300,53,2,1]]})");
  std::string id(64, 'a');
  CHECK(intent_text_roundtrip(cnm::ContainerIntent{id, "/var/lib/netctl/containers/" + id, "2",
                                                   "netctl", "0123abcd"}) ==
        R"({"cgroup_parent":"netctl","cgroup_prefix":"0123abcd","cgroup_version":"2",)"
        R"("dir":"/var/lib/netctl/containers/)" +
            id + R"(","id":")" + id + R"(","kind":"container"})");
}

TEST_CASE("parse_intent reads every field and rejects unknown or malformed objects") {
  auto c = cnm::parse_intent(nlohmann::json::parse(
      R"({"cgroup_parent":"p","cgroup_version":"1","dir":"/d","id":"i","kind":"container"})"));
  REQUIRE(c);
  const auto& ci = std::get<cnm::ContainerIntent>(*c);
  CHECK(ci.id == "i");
  CHECK(ci.dir == "/d");
  CHECK(ci.cgroup_version == "1");
  CHECK(ci.cgroup_parent == "p");
  CHECK(ci.cgroup_prefix.empty());  // written before root ids: the bare-id leaf
  auto prefixed = cnm::parse_intent(nlohmann::json::parse(
      R"({"cgroup_parent":"p","cgroup_prefix":"0123abcd","dir":"/d","id":"i","kind":"container"})"));
  REQUIRE(prefixed);
  CHECK(std::get<cnm::ContainerIntent>(*prefixed).cgroup_prefix == "0123abcd");
  auto p = cnm::parse_intent(nlohmann::json::parse(
      R"({"bridge":"nc-b","id12":"e1","ip":"10.1.0.2","kind":"fw-ports","ports":[["",1,2,3,2]]})"));
  REQUIRE(p);
  const auto& ports = std::get<cnm::FwPortsIntent>(*p).ports;
  CHECK(ports.bridge == "nc-b");
  REQUIRE(ports.ports.size() == 1);
  CHECK(ports.ports[0].proto == cnm::kernel::Proto::kSctp);

  auto unknown = cnm::parse_intent(nlohmann::json::parse(R"({"kind":"tunnel","name":"x"})"));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == Code::kInvalid);
  CHECK(unknown.error().message.find("unknown intent kind 'tunnel'") != std::string::npos);
  for (const char* bad : {R"({"name":"x"})", R"({"kind":"link"})", R"({"kind":"link","name":3})",
                          R"({"kind":"fw-ports","id12":"e1"})", R"(["link"])", R"("link")"}) {
    CAPTURE(bad);
    auto r = cnm::parse_intent(nlohmann::json::parse(bad));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kInvalid);
  }
}

TEST_CASE("a journal row written by an earlier version still recovers") {
  ControllerFixture f;
  auto e = intent_test_ports();
  REQUIRE(f.firewall.apply(cnm::kernel::FirewallChange{.add_ports = {e}}));
  cnm::kernel::LinkInfo stale;
  stale.name = "nc-0ld00000000a";
  stale.kind = "bridge";
  stale.group = f.links.mark;  // made by this root before the crash
  f.links.links[stale.name] = stale;
  REQUIRE(f.namespaces.create("/run/netns/old1"));
  // Literal text, as the hand-built JSON of earlier versions wrote it; a kind this version does
  // not know is skipped, not fatal.
  REQUIRE(f.store->add_intent(
      R"({"cmd":"network connect","drop":[],"objects":[)"
      R"({"kind":"link","name":"nc-0ld00000000a"},{"kind":"netns","path":"/run/netns/old1"},)"
      R"({"id12":"0ld00000000a","kind":"fw-network"},{"kind":"tunnel","name":"t0"},)"
      R"({"bridge":"nc-a","id12":"0123456789ab","ip":"10.89.0.9","kind":"fw-ports",)"
      R"("ports":[["",8080,80,1,0],["127.0.0.1",5300,53,2,1]]}]})"));
  REQUIRE(f.intent_count() == 1);
  auto done = recover_holding_lock(*f.ctl);
  REQUIRE(done);
  CHECK(*done == 1);
  CHECK_FALSE(f.links.links.contains("nc-0ld00000000a"));
  CHECK_FALSE(f.namespaces.netns.contains("/run/netns/old1"));
  CHECK(f.firewall.ports.empty());
  REQUIRE_FALSE(f.firewall.log.empty());
  CHECK(f.firewall.log.back().find("-net 0ld00000000a") != std::string::npos);
  CHECK(f.intent_count() == 0);
}

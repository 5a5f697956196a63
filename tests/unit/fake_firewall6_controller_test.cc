// Dual-stack networks through the controller and the bridge driver over the fake firewall: which
// tables each command reads, what reaches the firewall, and the recovery intent of IPv6 ports.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "cnm/core/fw_intent.h"
#include "tests/unit/controller_fixture.h"

using cnm::Code;

namespace {

using Slots = std::array<bool, 6>;  // filter, nat, raw, filter6, nat6, raw6
constexpr Slots kNat = {false, true, false, false, false, false};
constexpr Slots kBothNats = {false, true, false, false, true, false};
constexpr Slots kAll = {true, true, true, true, true, false};
constexpr Slots kAll4 = {true, true, true, false, false, false};

cnm::NetworkCreateRequest net(std::string name, std::vector<std::string> subnets, bool ipv6) {
  cnm::NetworkCreateRequest r;
  r.name = std::move(name);
  r.subnets = std::move(subnets);
  r.ipv6 = ipv6;
  return r;
}

cnm::ConnectRequest conn(std::string network, std::string target,
                         std::vector<std::string> publish) {
  cnm::ConnectRequest r;
  r.network = std::move(network);
  r.target = std::move(target);
  r.publish = std::move(publish);
  return r;
}

}  // namespace

TEST_CASE("dual-stack networks reach the IPv6 tables; IPv4-only commands never do") {
  ControllerFixture f;
  auto n1 = f.ctl->create_network(net("n1", {"10.88.0.0/24"}, false));
  REQUIRE(n1);
  CHECK(f.firewall.opened.back() == kAll4);
  auto n6 = f.ctl->create_network(net("n6", {"10.89.0.0/24", "fd00:89::/64"}, true));
  REQUIRE(n6);
  CHECK(f.firewall.opened.back() == kAll);
  CHECK(f.sysctl.values["net/ipv6/conf/all/forwarding"] == "1");
  const auto& rules = f.firewall.networks.at(n6->id.substr(0, 12));
  REQUIRE(rules.subnet6);
  CHECK(rules.subnet6->str() == "fd00:89::/64");
  CHECK(f.firewall.bridges6 == std::vector<std::string>{n6->bridge});

  REQUIRE(f.ctl->create_sandbox("s1"));
  REQUIRE(f.ctl->create_sandbox("s2"));
  f.hostports.local.insert(*cnm::IpAddr::parse("2001:db8::1"));  // an address of this host
  auto ep6 = f.ctl->connect(conn("n6", "s1", {"8080:80", "[2001:db8::1]:8443:443"}));
  REQUIRE(ep6);
  CHECK(f.firewall.opened.back() == kBothNats);
  const auto& ports = f.firewall.ports.at(ep6->id.substr(0, 12));
  REQUIRE(ports.container_ip6);
  CHECK(ports.container_ip6->is_v6());
  auto ep4 = f.ctl->connect(conn("n1", "s2", {"9090:90"}));
  REQUIRE(ep4);
  CHECK(f.firewall.opened.back() == kNat);
  CHECK_FALSE(f.firewall.ports.at(ep4->id.substr(0, 12)).container_ip6);
  // An IPv6 host address on a network without IPv6 is refused before anything changes.
  auto n = f.firewall.opened.size();
  auto bad = f.ctl->connect(conn("n1", "s1", {"[2001:db8::1]:9091:91"}));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Code::kInvalid);
  CHECK(f.firewall.opened.size() == n);

  REQUIRE(f.ctl->disconnect("n1", "s2"));
  CHECK(f.firewall.opened.back() == kNat);
  REQUIRE(f.ctl->disconnect("n6", "s1"));
  CHECK(f.firewall.opened.back() == kBothNats);
  CHECK(f.firewall.ports.empty());
  REQUIRE(f.ctl->remove_networks({"n1"}));
  CHECK(f.firewall.opened.back() == kAll4);
  REQUIRE(f.ctl->remove_networks({"n6"}));
  CHECK(f.firewall.opened.back() == kAll);
  CHECK(f.firewall.log.back().ends_with(" bridges= bridges6= ipv6"));
  CHECK(f.firewall.bridges6.empty());
}

TEST_CASE("the fw-ports intent carries the IPv6 address, and older ones still read") {
  cnm::kernel::EndpointPorts e{"e1", "nc-a", *cnm::IpAddr::parse("10.1.0.2"), {}};
  e.container_ip6 = *cnm::IpAddr::parse("fd00:1::2");
  e.ports = {cnm::kernel::PortMapping{*cnm::IpAddr::parse("2001:db8::1"), 8443, 443, 1,
                                      cnm::kernel::Proto::kTcp}};
  auto j = cnm::ports_intent(e);
  CHECK(j.at("ip6") == "fd00:1::2");
  auto back = cnm::ports_from_intent(j);
  REQUIRE(back);
  CHECK(back->container_ip6 == e.container_ip6);
  CHECK(back->ports.at(0).host_ip == e.ports[0].host_ip);
  j.erase("ip6");
  back = cnm::ports_from_intent(j);
  REQUIRE(back);
  CHECK_FALSE(back->container_ip6);
  j["ip6"] = "10.1.0.3";
  CHECK(cnm::ports_from_intent(j).error().code == Code::kInvalid);
}

namespace {

// Dump lines of the IPv6 tables that mention `what`.
size_t v6_lines(cnm::kernel::FakeFirewall& fw, const std::string& what) {
  auto d = fw.dump();
  REQUIRE(d);
  size_t n = 0;
  bool on = false;
  for (const auto& l : *d) {
    if (l.starts_with("*")) on = l.ends_with("6");
    if (on && l.find(what) != std::string::npos) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("recovery finishes a failed dual-stack removal in the IPv6 tables too") {
  ControllerFixture f;
  auto a = f.ctl->create_network(net("a", {"10.89.0.0/24", "fd00:89::/64"}, true));
  auto b = f.ctl->create_network(net("b", {"10.90.0.0/24", "fd00:90::/64"}, true));
  REQUIRE(a);
  REQUIRE(b);
  std::string id = a->id.substr(0, 12);
  CHECK(v6_lines(f.firewall, id) > 0);
  f.steps.fail_at = f.steps.steps + 1;
  REQUIRE_FALSE(f.ctl->remove_networks({"a"}));
  CHECK(f.intent_count() == 1);
  f.steps.fail_at = 0;
  REQUIRE(recover_holding_lock(*f.ctl));
  CHECK(f.intent_count() == 0);
  CHECK(v6_lines(f.firewall, id) == 0);
  CHECK(v6_lines(f.firewall, "NETCTL-N-" + b->id.substr(0, 12)) > 0);
  CHECK(f.firewall.bridges6 == std::vector<std::string>{b->bridge});
}

TEST_CASE("recovery takes a crashed connect's IPv6 port rules out") {
  ControllerFixture f;
  REQUIRE(f.ctl->create_network(net("a", {"10.89.0.0/24", "fd00:89::/64"}, true)));
  cnm::kernel::EndpointPorts e{"dead0", "nc-a", *cnm::IpAddr::parse("10.89.0.9"), {}};
  e.container_ip6 = *cnm::IpAddr::parse("fd00:89::9");
  e.ports = {cnm::kernel::PortMapping{std::nullopt, 8080, 80, 1, cnm::kernel::Proto::kTcp}};
  REQUIRE(f.firewall.apply(cnm::kernel::FirewallChange{.add_ports = {e}}));
  CHECK(v6_lines(f.firewall, "[fd00:89::9]:80") == 1);
  nlohmann::json intent = {{"cmd", "network connect"},
                           {"objects", {cnm::ports_intent(e)}},
                           {"drop", nlohmann::json::array()}};
  REQUIRE(f.store->add_intent(intent.dump()));
  REQUIRE(recover_holding_lock(*f.ctl));
  CHECK(v6_lines(f.firewall, "[fd00:89::9]:80") == 0);
  CHECK(f.firewall.ports.empty());
}

// The recording fake runs the real chain layout over in-memory tables (tests/priv/firewall_test.cc
// checks the same layout against the kernel).
#include "tests/fakes/fake_firewall.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/firewall_literals.h"

namespace cnm::kernel {
namespace {

using testing::contains;
using testing::ip;
using testing::net;

EndpointPorts web(const char* id, const char* bridge, const char* addr) {
  return EndpointPorts{id, bridge, ip(addr), {PortMapping{std::nullopt, 8080, 80, 1, Proto::kTcp}}};
}

std::vector<std::string> dump(FakeFirewall& fw) {
  auto d = fw.dump();
  REQUIRE(d);
  return *d;
}

size_t count(const std::vector<std::string>& lines, const std::string& part) {
  return static_cast<size_t>(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.find(part) != std::string::npos;
  }));
}

// The jumps of `chain`, in order.
std::vector<std::string> jumps(const std::vector<std::string>& lines, const std::string& chain) {
  std::vector<std::string> out;
  std::string head = "-A " + chain + " -j ";
  for (const std::string& l : lines) {
    if (l.starts_with(head)) out.push_back(l.substr(head.size()));
  }
  return out;
}

TEST_CASE("FakeFirewall records networks and ports and dumps the chain layout") {
  FakeFirewall fw;
  FirewallChange c;
  c.add_networks = {net("abc", "nc-abc", "10.1.0.0/24")};
  c.add_ports = {web("ep1", "nc-abc", "10.1.0.2")};
  c.bridges = std::vector<std::string>{"nc-abc"};
  REQUIRE(fw.apply(c));
  CHECK(fw.networks.contains("abc"));
  CHECK(fw.ports.at("ep1").container_ip == ip("10.1.0.2"));
  CHECK(fw.bridges == std::vector<std::string>{"nc-abc"});
  CHECK(fw.log == std::vector<std::string>{"apply +net abc +ports ep1 bridges=nc-abc"});

  auto d = dump(fw);
  CHECK(d.front() == "*filter");
  CHECK(jumps(d, "FORWARD") ==
        std::vector<std::string>{"NETCTL-USER", "NETCTL-ISOLATION", "NETCTL-FORWARD"});
  CHECK(contains(d,
                 "-A NETCTL-N-abc -o nc-abc -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"));
  CHECK(contains(d, "-A NETCTL-N-abc -i nc-abc ! -o nc-abc -j ACCEPT"));
  CHECK(contains(d, "-A NETCTL-N-abc -i nc-abc -o nc-abc -j ACCEPT"));
  CHECK(contains(d, "-A NETCTL-M-abc -s 10.1.0.0/24 ! -o nc-abc -j MASQUERADE"));
  CHECK(contains(d, "-A NETCTL-M-abc -s 127.0.0.0/8 -o nc-abc -j MASQUERADE"));
  CHECK(contains(d, "-A NETCTL-N-abc -o nc-abc -m conntrack --ctstate DNAT -j ACCEPT"));
  CHECK(contains(
      d, "-A NETCTL-D-0a1b2c3d -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.2:80"));
  CHECK(contains(
      d, "-A NETCTL-M-abc -s 10.1.0.0/24 -o nc-abc -m conntrack --ctstate DNAT -j MASQUERADE"));
  CHECK(contains(d, "-A PREROUTING -m addrtype --dst-type LOCAL -j NETCTL-DNAT"));
  CHECK(contains(d, "-A OUTPUT -m addrtype --dst-type LOCAL -j NETCTL-DNAT"));
  CHECK(contains(d, "-A NETCTL-RAW -d 127.0.0.0/8 ! -i lo -j DROP"));
  // One jump per root in each shared chain, the root's rules behind it.
  CHECK(jumps(d, "NETCTL-ISOLATION") == std::vector<std::string>{"NETCTL-S-0a1b2c3d"});
  CHECK(jumps(d, "NETCTL-FORWARD") == std::vector<std::string>{"NETCTL-F-0a1b2c3d"});
  CHECK(jumps(d, "NETCTL-DNAT") == std::vector<std::string>{"NETCTL-D-0a1b2c3d"});
  CHECK(jumps(d, "NETCTL-POSTROUTING") == std::vector<std::string>{"NETCTL-P-0a1b2c3d"});
  CHECK(contains(d, "-A NETCTL-T-0a1b2c3d -m conntrack --ctstate DNAT -j RETURN"));
  CHECK(contains(d, "-A NETCTL-T-0a1b2c3d -o nc-abc -j DROP"));
  CHECK(contains(d, "-A NETCTL-S-0a1b2c3d -i nc-abc ! -o nc-abc -j NETCTL-T-0a1b2c3d"));

  REQUIRE(fw.apply(c));  // the same desired state again changes nothing
  CHECK(dump(fw) == d);
}

TEST_CASE("FakeFirewall keeps N before I jumps and follows icc changes") {
  FakeFirewall fw;
  NetworkRules a = net("a", "nc-a", "10.1.0.0/24");
  a.icc = false;
  FirewallChange c;
  c.add_networks = {a};
  REQUIRE(fw.apply(c));
  REQUIRE(fw.apply(FirewallChange{.add_ports = {web("e1", "nc-a", "10.1.0.2")}}));
  REQUIRE(fw.apply(FirewallChange{.add_networks = {net("b", "nc-b", "10.2.0.0/24")}}));
  CHECK(jumps(dump(fw), "NETCTL-F-0a1b2c3d") ==
        std::vector<std::string>{"NETCTL-N-a", "NETCTL-N-b", "NETCTL-I-a", "NETCTL-I-b"});
  CHECK(contains(dump(fw), "-A NETCTL-I-a ! -i nc-a -o nc-a -j DROP"));
  CHECK(contains(dump(fw), "-A NETCTL-I-a -i nc-a -o nc-a -j DROP"));

  a.icc = true;  // re-adding rewrites the network's chains
  REQUIRE(fw.apply(FirewallChange{.add_networks = {a}}));
  auto d = dump(fw);
  CHECK(count(d, "-A NETCTL-I-a") == 1);
  CHECK(contains(d, "-A NETCTL-N-a -i nc-a -o nc-a -j ACCEPT"));

  a.masquerade = false;  // routed: neighbours may reach any port; nothing left for the I chain
  REQUIRE(fw.apply(FirewallChange{.add_networks = {a}}));
  d = dump(fw);
  CHECK(count(d, "NETCTL-I-a") == 0);
  CHECK(count(d, "-A NETCTL-M-a") == 2);  // only localhost and hairpin
}

TEST_CASE("FakeFirewall renders ranges port by port, host addresses, udp and sctp") {
  FakeFirewall fw;
  EndpointPorts e{"r1", "nc-r", ip("10.3.0.5"), {}};
  e.ports.push_back(PortMapping{ip("198.51.100.7"), 9000, 90, 3, Proto::kUdp});
  e.ports.push_back(PortMapping{std::nullopt, 7000, 7000, 1, Proto::kSctp});
  REQUIRE(fw.apply(FirewallChange{.add_ports = {e}}));
  auto d = dump(fw);
  CHECK(contains(d,
                 "-A NETCTL-D-0a1b2c3d -d 198.51.100.7/32 -p udp -m udp --dport 9000:9002 -j DNAT "
                 "--to-destination 10.3.0.5:90-92/9000"));
  CHECK(contains(
      d,
      "-A NETCTL-D-0a1b2c3d -p sctp -m sctp --dport 7000 -j DNAT --to-destination 10.3.0.5:7000"));
  // Ports concern the nat table only: nothing was read or written elsewhere.
  CHECK(count(d, "NETCTL-FORWARD") == 0);
  CHECK(count(d, "NETCTL-RAW") == 0);
}

TEST_CASE("FakeFirewall removes an endpoint's port rules by content, others stay") {
  FakeFirewall fw;
  FirewallChange c;
  c.add_networks = {net("a", "nc-a", "10.1.0.0/24")};
  c.add_ports = {web("e1", "nc-a", "10.1.0.2"), web("e2", "nc-a", "10.1.0.3")};
  c.add_ports[1].ports[0].host_port = 8081;
  REQUIRE(fw.apply(c));
  REQUIRE(fw.apply(FirewallChange{.remove_ports = {c.add_ports[0]}}));
  auto d = dump(fw);
  CHECK(count(d, "10.1.0.2") == 0);
  CHECK(count(d, "-A NETCTL-DNAT") == 1);
  CHECK(contains(
      d, "-A NETCTL-D-0a1b2c3d -p tcp -m tcp --dport 8081 -j DNAT --to-destination 10.1.0.3:80"));
  // Removing again, or what was never there, changes nothing.
  REQUIRE(fw.apply(FirewallChange{.remove_ports = {c.add_ports[0]}}));
  CHECK(dump(fw) == d);

  // exact_ports (gc): rules the change does not list go, listed ones stay or come back.
  FirewallChange gc{.add_networks = {net("a", "nc-a", "10.1.0.0/24")},
                    .add_ports = {c.add_ports[0]},
                    .exact_ports = true};
  REQUIRE(fw.apply(gc));
  d = dump(fw);
  CHECK(count(d, "10.1.0.3") == 0);
  CHECK(contains(
      d, "-A NETCTL-D-0a1b2c3d -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.2:80"));
  CHECK(contains(d, "-A NETCTL-P-0a1b2c3d -j NETCTL-M-a"));  // jumps are not port rules
}

TEST_CASE("FakeFirewall removal takes out chains and jumps, keeps the top level") {
  FakeFirewall fw;
  FirewallChange c;
  c.add_networks = {net("a", "nc-a", "10.1.0.0/24"), net("b", "nc-b", "10.2.0.0/24")};
  c.add_ports = {web("e1", "nc-a", "10.1.0.2")};
  c.bridges = std::vector<std::string>{"nc-a", "nc-b"};
  REQUIRE(fw.apply(c));
  FirewallChange rm;
  rm.remove_networks = {"a", "gone"};  // missing counts as removed
  rm.remove_ports = c.add_ports;
  rm.bridges = std::vector<std::string>{"nc-b"};
  REQUIRE(fw.apply(rm));
  CHECK(fw.networks.size() == 1);
  CHECK(fw.ports.empty());
  auto d = dump(fw);
  for (const char* gone : {"NETCTL-N-a", "NETCTL-I-a", "NETCTL-M-a", "10.1.0.2"})
    CHECK_MESSAGE(count(d, gone) == 0, gone);
  CHECK(count(d, "nc-a") == 0);
  CHECK(contains(d, "-N NETCTL-USER"));
  CHECK(contains(d, "-A NETCTL-F-0a1b2c3d -j NETCTL-N-b"));

  REQUIRE(
      fw.apply(FirewallChange{.remove_networks = {"b"}, .bridges = std::vector<std::string>{}}));
  CHECK(fw.empty());
  d = dump(fw);
  // The root has nothing left: its chains and their jumps went, the top-level chains stay.
  CHECK(count(d, "0a1b2c3d") == 0);
  CHECK(count(d, "-A NETCTL-ISOLATION") == 0);
  CHECK(jumps(d, "NETCTL-FORWARD").empty());
  CHECK(contains(d, "-N NETCTL-FORWARD"));
  CHECK(contains(d, "-A FORWARD -j NETCTL-FORWARD"));
}

TEST_CASE("FakeFirewall leaves isolation alone without a bridge list") {
  FakeFirewall fw;
  REQUIRE(fw.apply(FirewallChange{.bridges = std::vector<std::string>{"nc-a", "nc-b"}}));
  REQUIRE(fw.apply(FirewallChange{.add_ports = {web("e1", "nc-a", "10.1.0.2")}}));
  auto d = dump(fw);
  CHECK(count(d, "-A NETCTL-S-0a1b2c3d ") == 2);
  CHECK(count(d, "-A NETCTL-T-0a1b2c3d ") == 3);  // the DNAT RETURN and one DROP per bridge
  CHECK(fw.bridges == std::vector<std::string>{"nc-a", "nc-b"});
}

TEST_CASE("FakeFirewall rejects bad input and changes nothing") {
  FakeFirewall fw;
  REQUIRE(fw.apply(FirewallChange{.add_networks = {net("a", "nc-a", "10.1.0.0/24")}}));
  auto before = dump(fw);
  auto mapping = [](uint16_t host, uint16_t cont, uint16_t n) {
    return EndpointPorts{"e",
                         "nc-a",
                         *IpAddr::parse("10.1.0.2"),
                         {PortMapping{std::nullopt, host, cont, n, Proto::kTcp}}};
  };
  std::vector<FirewallChange> bad = {
      {.add_ports = {mapping(8080, 80, 0)}},
      {.add_ports = {mapping(0, 80, 1)}},
      {.add_ports = {mapping(8080, 0, 1)}},
      {.add_ports = {mapping(65535, 80, 2)}},
      {.add_ports = {EndpointPorts{"e", "nc-a", ip("10.1.0.2"), {}}}},
      {.add_ports = {EndpointPorts{"e", "nc-a", ip("fd00::2"), {}}}},
      {.add_networks = {net("a", "nc-a", "fd00::/64")}},
      {.add_networks = {net("not-hex!", "nc-a", "10.1.0.0/24")}},
      {.add_networks = {net("0123456789abc", "nc-a", "10.1.0.0/24")}},
      {.add_networks = {net("b", "nc-b+", "10.1.0.0/24")}},
      {.add_networks = {net("b", "a-very-long-bridge", "10.1.0.0/24")}},
      {.remove_networks = {"x", "x"}},
      {.bridges = std::vector<std::string>{"nc a"}},
  };
  for (const FirewallChange& c : bad) {
    auto st = fw.apply(c);
    REQUIRE_FALSE(st);
    CHECK_MESSAGE(st.error().code == Code::kInvalid, st.error().message);
  }
  CHECK(dump(fw) == before);
  CHECK(fw.networks.size() == 1);
  CHECK(fw.log.back().find(" -> ") != std::string::npos);
  auto zero = fw.apply(FirewallChange{.add_ports = {mapping(8080, 80, 0)}});
  CHECK(zero.error().message == "publish ports of endpoint e: port count must be at least 1");
}

TEST_CASE("FakeFirewall injected failure changes nothing") {
  StepCounter steps;
  steps.fail_at = 2;
  FakeFirewall fw(&steps);
  REQUIRE(fw.apply(FirewallChange{.add_networks = {net("a", "nc-a", "10.1.0.0/24")}}));
  auto before = dump(fw);
  auto st = fw.apply(
      FirewallChange{.remove_networks = {"a"}, .add_ports = {web("e1", "nc-a", "10.1.0.2")}});
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::kFailed);
  CHECK(st.error().message == "injected failure at step 2");
  CHECK(fw.networks.contains("a"));
  CHECK(fw.ports.empty());
  CHECK(dump(fw) == before);
  CHECK(fw.log.back() == "apply -net a +ports e1 -> injected failure at step 2");
  CHECK(steps.steps == 2);
  REQUIRE(fw.apply(FirewallChange{.remove_networks = {"a"}}));
  CHECK(fw.empty());
}

}  // namespace
}  // namespace cnm::kernel

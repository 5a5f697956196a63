// Firewall against the kernel, both backends (legacy iptables tables and nftables), with real
// traffic. The fresh network namespace is the throwaway host: bridges with "containers" (namespaces
// on veths) and a LAN neighbour nb (198.51.100.2, wired to the host's 198.51.100.1; no route to the
// container subnets unless a case adds one). Servers and clients are small python3 programs: a
// server answers
// "<name> <local port> <peer address>", so each case sees who reached whom from where.
#include <doctest/doctest.h>

#include "tests/priv/firewall_world.h"

namespace cnm::kernel {
namespace {

TEST_CASE("firewall rules are byte for byte what iptables makes, and the fake agrees") {
  priv::FreshNetns ns;
  auto fw = make_iptc_firewall(kRootId);
  FakeFirewall fake;
  FirewallChange c = sample();
  apply(*fw, c);
  REQUIRE(fake.apply(c));
  apply(*fw, c);  // the same state again: nothing changes
  REQUIRE(fake.apply(c));
  FirewallChange rm{.remove_ports = {c.add_ports[1]}};
  apply(*fw, rm);
  REQUIRE(fake.apply(rm));

  auto dump = fw->dump();
  REQUIRE(dump);
  CHECK(*dump == *fake.dump());
  std::string want;
  for (const char* t : {"filter", "nat", "raw"})
    want += std::string("*") + t + "\n" +
            sh(std::string("iptables-legacy -t ") + t + " -S | grep NETCTL");
  want += "*filter6\n*nat6\n";  // an IPv4-only change leaves the IPv6 tables without netctl chains
  std::string got;
  for (const std::string& line : *dump) got += line + "\n";
  CHECK(got == want);

  std::map<std::string, std::map<std::string, std::vector<std::string>>> ours;
  for (const char* t : {"filter", "nat", "raw"}) ours[t] = entries(t);
  REQUIRE(sh_rc("iptables-legacy-save > /tmp/netctl-fw-save && "
                "iptables-legacy-restore < /tmp/netctl-fw-save && rm /tmp/netctl-fw-save") == 0);
  for (const char* t : {"filter", "nat", "raw"}) CHECK_MESSAGE(entries(t) == ours[t], t);
}

TEST_CASE("masquerade out, DNAT in, hairpin and localhost access") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    priv::FreshNetns ns;
    World w;
    w.one_network(true);
    w.serve("c1", "c1", "tcp", {80, 90, 91});
    w.serve("c1", "c1", "udp", {53});
    w.serve("nb", "nb", "tcp", {7000});
    CHECK(w.ask("c1", "tcp", "198.51.100.2", 7000) == "");  // no rules: nb cannot answer 10.77.1.2

    auto fw = make_firewall(backend);
    EndpointPorts e{"e1", "nc-fw1", ip("10.77.1.2"), {tcp(8080, 80), tcp(9000, 90, 2)}};
    e.ports.push_back(PortMapping{ip("198.51.100.1"), 5353, 53, 1, Proto::kUdp});
    apply(*fw, FirewallChange{.add_networks = {net("aaa111", "nc-fw1", "10.77.1.0/24")},
                              .add_ports = {e},
                              .bridges = std::vector<std::string>{"nc-fw1"}});
    // (a) nb sees the host's address.
    CHECK(w.ask("c1", "tcp", "198.51.100.2", 7000) == "nb 7000 198.51.100.1");
    // (b) nb reaches c1 through the host, its own address kept; ranges map port by port.
    CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "c1 80 198.51.100.2");
    CHECK(w.ask("nb", "tcp", "198.51.100.1", 9000) == "c1 90 198.51.100.2");
    CHECK(w.ask("nb", "tcp", "198.51.100.1", 9001) == "c1 91 198.51.100.2");
    CHECK(w.ask("nb", "udp", "198.51.100.1", 5353) == "c1 53 198.51.100.2");
    CHECK(w.ask("nb", "tcp", "198.51.100.1", 9002) == "");
    // Hairpin: a neighbour container and c1 itself through the published port.
    // Its own network reaches it through the published port with the gateway as source.
    CHECK(w.ask("c2", "tcp", "198.51.100.1", 8080) == "c1 80 10.77.1.1");
    // c1 itself: br_netfilter DNATs the frame on the bridge, which sends it back out of the port it
    // came in on, so that needs hairpin mode on the port (the bridge driver's job).
    CHECK(w.ask("c1", "tcp", "10.77.1.1", 8080) == "");
    REQUIRE(sh_rc("ip link set vc1 type bridge_slave hairpin on") == 0);
    CHECK(w.ask("c1", "tcp", "10.77.1.1", 8080) == "c1 80 10.77.1.1");
    CHECK(w.ask("c1", "tcp", "198.51.100.1", 8080) == "c1 80 10.77.1.1");
    // (c) Localhost needs route_localnet on the bridge (the bridge driver sets it).
    CHECK(w.ask("", "tcp", "127.0.0.1", 8080) == "");
    REQUIRE(sh_rc("echo 1 > /proc/sys/net/ipv4/conf/nc-fw1/route_localnet") == 0);
    CHECK(w.ask("", "tcp", "127.0.0.1", 8080) == "c1 80 10.77.1.1");
    CHECK(w.ask("", "tcp", "198.51.100.1", 9001).starts_with("c1 91 "));
  }
}

TEST_CASE("masquerade off: containers keep their address outward and are routable") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    priv::FreshNetns ns;
    World w;
    w.one_network(false);
    REQUIRE(sh_rc("ip -n nb route add 10.77.0.0/16 via 198.51.100.1") == 0);
    w.serve("c1", "c1", "tcp", {80, 81});
    w.serve("nb", "nb", "tcp", {7000});
    auto fw = make_firewall(backend);
    NetworkRules plain = net("aaa111", "nc-fw1", "10.77.1.0/24");
    plain.masquerade = false;
    EndpointPorts e{"e1", "nc-fw1", ip("10.77.1.2"), {tcp(8080, 80)}};
    apply(*fw, FirewallChange{.add_networks = {plain},
                              .add_ports = {e},
                              .bridges = std::vector<std::string>{"nc-fw1"}});
    CHECK(w.ask("c1", "tcp", "198.51.100.2", 7000) == "nb 7000 10.77.1.2");
    CHECK(w.ask("nb", "tcp", "10.77.1.2", 81) == "c1 81 198.51.100.2");
    CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "c1 80 198.51.100.2");
    // Turned on: the host's address outward; from outside only published ports.
    apply(*fw, FirewallChange{.add_networks = {net("aaa111", "nc-fw1", "10.77.1.0/24")}});
    CHECK(w.ask("c1", "tcp", "198.51.100.2", 7000) == "nb 7000 198.51.100.1");
    CHECK(w.ask("nb", "tcp", "10.77.1.2", 81) == "");
    CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "c1 80 198.51.100.2");
  }
}

// Makes `ns` send 127.0.0.0/8 out of eth0 to `via`, as an attacker next to the host would.
void route_loopback_out(const std::string& ns, const std::string& via) {
  REQUIRE(sh_rc(in(ns) +
                "sh -c 'ip addr flush dev lo && ip link set lo down && echo 1 > "
                "/proc/sys/net/ipv4/conf/eth0/route_localnet && ip route add 127.0.0.0/8 via " +
                via + "'") == 0);
}

TEST_CASE("the raw guard drops packets for 127.0.0.0/8 from outside") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    priv::FreshNetns ns;
    World w;
    w.one_network(true);
    w.serve("c1", "c1", "tcp", {80});
    w.serve("", "host", "tcp", {9999}, "127.0.0.1");  // a service meant for this host only
    auto fw = make_firewall(backend);
    apply(*fw, FirewallChange{.add_networks = {net("aaa111", "nc-fw1", "10.77.1.0/24")},
                              .add_ports = {EndpointPorts{
                                  "e1",
                                  "nc-fw1",
                                  ip("10.77.1.2"),
                                  {PortMapping{ip("127.0.0.1"), 8080, 80, 1, Proto::kTcp}}}}});
    // route_localnet on the bridge (for localhost access) and, as some hosts have, on the uplink.
    REQUIRE(sh_rc("echo 1 > /proc/sys/net/ipv4/conf/nc-fw1/route_localnet && "
                  "echo 1 > /proc/sys/net/ipv4/conf/vnb/route_localnet") == 0);
    route_loopback_out("nb", "198.51.100.1");
    route_loopback_out("c2", "10.77.1.1");
    CHECK(w.ask("", "tcp", "127.0.0.1", 8080) == "c1 80 10.77.1.1");
    CHECK(w.ask("nb", "tcp", "127.0.0.1", 8080) == "");
    CHECK(w.ask("nb", "tcp", "127.0.0.1", 9999) == "");
    CHECK(w.ask("c2", "tcp", "127.0.0.1", 9999) == "");

    // Without the guard both get through: the guard is what stops them.
    flush_guard(backend);
    CHECK(w.ask("nb", "tcp", "127.0.0.1", 8080) == "c1 80 198.51.100.2");
    CHECK(w.ask("c2", "tcp", "127.0.0.1", 9999) == "host 9999 10.77.1.3");
    // Any apply that reads the raw table (a network change; gc applies them all) puts it back.
    apply(*fw, FirewallChange{.add_networks = {net("aaa111", "nc-fw1", "10.77.1.0/24")}});
    CHECK(w.ask("nb", "tcp", "127.0.0.1", 8080) == "");
    CHECK(w.ask("c2", "tcp", "127.0.0.1", 9999) == "");
  }
}

TEST_CASE("icc off, internal networks and isolation between networks") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    priv::FreshNetns ns;
    World w;
    for (int i : {1, 2, 3}) w.bridge(fmt::format("nc-fw{}", i), fmt::format("10.77.{}.1/24", i));
    w.container("c1", "nc-fw1", "10.77.1.2/24", "10.77.1.1");
    w.container("c2", "nc-fw1", "10.77.1.3/24", "10.77.1.1");
    w.container("c3", "nc-fw2", "10.77.2.2/24", "10.77.2.1");
    w.container("c4", "nc-fw3", "10.77.3.2/24", "10.77.3.1");
    w.container("c5", "nc-fw3", "10.77.3.3/24", "10.77.3.1");
    w.neighbour();
    REQUIRE(sh_rc("ip -n nb route add 10.77.0.0/16 via 198.51.100.1") == 0);
    for (const char* c : {"c1", "c2", "c3", "c4", "c5"}) w.serve(c, c, "tcp", {80, 81});
    w.serve("nb", "nb", "tcp", {7000});

    auto fw = make_firewall(backend);
    FirewallChange c = sample();  // aaa111 nc-fw1, bbb222 nc-fw2 (icc off), ccc333 nc-fw3 internal
    c.add_ports = {EndpointPorts{"e1", "nc-fw1", ip("10.77.1.2"), {tcp(8080, 80)}}};
    apply(*fw, c);
    // (e) nc-fw1 with icc on, then off.
    CHECK(w.ask("c2", "tcp", "10.77.1.2", 81) == "c1 81 10.77.1.3");
    NetworkRules quiet = net("aaa111", "nc-fw1", "10.77.1.0/24");
    quiet.icc = false;
    apply(*fw, FirewallChange{.add_networks = {quiet}});
    CHECK(w.ask("c2", "tcp", "10.77.1.2", 81) == "");
    CHECK(w.ask("c2", "tcp", "10.77.1.2", 80) == "");
    CHECK(w.ask("c2", "tcp", "10.77.1.1", 8080) == "c1 80 10.77.1.1");  // the published port
    // Behind NAT a neighbour routing to the subnet reaches containers only through published
    // host ports: not the published container port directly, not any other.
    CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "c1 80 198.51.100.2");
    CHECK(w.ask("nb", "tcp", "10.77.1.2", 80) == "");
    CHECK(w.ask("nb", "tcp", "10.77.1.2", 81) == "");
    // (f) internal nc-fw3: nothing leaves or enters; inside and to the host it works.
    CHECK(w.ask("c4", "tcp", "198.51.100.2", 7000) == "");
    CHECK(w.ask("nb", "tcp", "10.77.3.2", 80) == "");
    CHECK(w.ask("c4", "tcp", "10.77.1.2", 80) == "");
    CHECK(w.ask("c4", "tcp", "10.77.3.3", 80) == "c5 80 10.77.3.2");
    CHECK(w.ask("", "tcp", "10.77.3.2", 80) == "c4 80 10.77.3.1");
    // (g) nc-fw1 and nc-fw2 are isolated both ways; both get out; published ports are reachable
    // from every network, as from any other host.
    CHECK(w.ask("c1", "tcp", "10.77.2.2", 80) == "");
    CHECK(w.ask("c3", "tcp", "10.77.1.2", 80) == "");
    CHECK(w.ask("c3", "tcp", "198.51.100.2", 7000) == "nb 7000 198.51.100.1");
    CHECK(w.ask("c1", "tcp", "198.51.100.2", 7000) == "nb 7000 198.51.100.1");
    CHECK(w.ask("c3", "tcp", "10.77.2.1", 8080) == "c1 80 10.77.1.1");  // masqueraded out of nc-fw2
    // Without isolation (the bridge list emptied) nc-fw1 and nc-fw2 talk.
    apply(*fw, FirewallChange{.bridges = std::vector<std::string>{}});
    CHECK(w.ask("c3", "tcp", "10.77.1.2", 80) == "c1 80 10.77.1.1");
  }
}

TEST_CASE("removal leaves no chain or jump behind, the admin's rules and other networks stay") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    priv::FreshNetns ns;
    World w;
    w.one_network(false);
    w.serve("c1", "c1", "tcp", {80});
    auto fw = make_firewall(backend);
    FirewallChange all = sample();
    apply(*fw, all);
    bool nft = backend == Backend::kNft;
    std::string admin =
        nft ? "ip saddr 203.0.113.5 drop" : "-A NETCTL-USER -s 203.0.113.5/32 -j DROP";
    REQUIRE(sh_rc(nft ? "nft add rule inet netctl-0a1b2c3d user ip saddr 203.0.113.5 drop"
                      : "iptables-legacy -A NETCTL-USER -s 203.0.113.5/32 -j DROP") == 0);
    EndpointPorts never{"e9", "nc-fw2", ip("10.77.2.9"), {tcp(8089, 80)}};  // missing: removed
    apply(*fw, FirewallChange{.remove_networks = {"bbb222", "ccc333", "ddd444"},
                              .remove_ports = {all.add_ports[1], never},
                              .bridges = std::vector<std::string>{"nc-fw1"}});
    std::string s = save(backend);
    for (const char* gone :
         {"N-bbb222", "I-bbb222", "M-bbb222", "ccc333", "10.77.2.2", "nc-fw2", "nc-fw3"})
      CHECK_MESSAGE(!has(s, gone), gone);
    CHECK(has(s, admin));
    CHECK(has(s, nft ? "jump N-aaa111" : "-A NETCTL-F-0a1b2c3d -j NETCTL-N-aaa111"));
    CHECK(has(s, nft ? "tcp . 8080 : 10.77.1.2 . 80"
                     : "-A NETCTL-D-0a1b2c3d -p tcp -m tcp --dport 8080 -j DNAT "
                       "--to-destination 10.77.1.2:80"));
    CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "c1 80 198.51.100.2");

    apply(*fw, FirewallChange{.remove_networks = {"aaa111"},
                              .remove_ports = {all.add_ports[0]},
                              .bridges = std::vector<std::string>{}});
    s = save(backend);
    for (const char* gone : {"N-", "I-", "M-", "10.77.", "nc-fw"})
      CHECK_MESSAGE(!has(s, gone), gone);
    CHECK(has(s, admin));
    CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "");
  }
}

TEST_CASE("a failed apply commits nothing") {
  priv::FreshNetns ns;
  auto fw = make_iptc_firewall(kRootId);
  apply(*fw, FirewallChange{.add_networks = {net("aaa111", "nc-fw1", "10.77.1.0/24")}});
  std::string before = save();
  EndpointPorts bad{"e1", "nc-fw1", ip("10.77.1.2"), {tcp(8080, 80), tcp(8081, 81, 0)}};
  auto st = fw->apply(FirewallChange{.remove_networks = {"aaa111"}, .add_ports = {bad}});
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::kInvalid);
  CHECK(save() == before);

  // The kernel refuses the nat table (an admin's jump makes DNAT reachable from POSTROUTING)
  // after the filter table went in: filter is put back.
  REQUIRE(sh_rc("iptables-legacy -t nat -A POSTROUTING -j NETCTL-DNAT") == 0);
  before = save();
  EndpointPorts good{"e1", "nc-fw1", ip("10.77.1.2"), {tcp(8080, 80)}};
  st = fw->apply(FirewallChange{.add_networks = {net("bbb222", "nc-fw2", "10.77.2.0/24")},
                                .add_ports = {good}});
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::kFailed);
  CHECK_MESSAGE(st.error().message.starts_with("commit nat table: "), st.error().message);
  CHECK(save() == before);
  REQUIRE(sh_rc("iptables-legacy -t nat -D POSTROUTING -j NETCTL-DNAT") == 0);
  apply(*fw, FirewallChange{.add_ports = {good}});
  CHECK(has(save(), "-A NETCTL-D-0a1b2c3d -p tcp -m tcp --dport 8080 -j DNAT"));
}

}  // namespace
}  // namespace cnm::kernel

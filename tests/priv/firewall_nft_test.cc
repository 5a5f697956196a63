// The nftables backend's own cases (the traffic scenarios it shares with libiptc run in
// firewall_test.cc and firewall6_test.cc): the golden table, atomic failures, drift, two roots and
// the table's removal. `nft` reads the kernel's table back.
#include <doctest/doctest.h>

#include "tests/priv/firewall_world.h"

namespace cnm::kernel {
namespace {

constexpr const char* kNftOther = "9f8e7d6c";

// `nft list table` of sample() without e2's port, as nft 1.0.6 prints it, without the maps'
// elements (their order is the hash table's): dump() lists those, sorted.
constexpr const char* kNftGolden = R"(table inet netctl-0a1b2c3d {
	map ports4 {
		type inet_proto . inet_service : ipv4_addr . inet_service
	}

	map ports4h {
		type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
	}

	map ports6 {
		type inet_proto . inet_service : ipv6_addr . inet_service
	}

	map ports6h {
		type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
		jump user comment "netctl:0a1b2c3d"
		jump isolation comment "netctl:0a1b2c3d"
		jump N-aaa111 comment "netctl:0a1b2c3d"
		jump N-bbb222 comment "netctl:0a1b2c3d"
		jump N-ccc333 comment "netctl:0a1b2c3d"
		jump I-aaa111 comment "netctl:0a1b2c3d"
		jump I-bbb222 comment "netctl:0a1b2c3d"
	}

	chain user {
	}

	chain isolation {
		meta nfproto ipv4 iifname "nc-fw1" oifname != "nc-fw1" jump isolation-t comment "netctl:0a1b2c3d isolation ipv4 nc-fw1"
		meta nfproto ipv4 iifname "nc-fw2" oifname != "nc-fw2" jump isolation-t comment "netctl:0a1b2c3d isolation ipv4 nc-fw2"
		meta nfproto ipv4 iifname "nc-fw3" oifname != "nc-fw3" jump isolation-t comment "netctl:0a1b2c3d isolation ipv4 nc-fw3"
	}

	chain isolation-t {
		ct status dnat return comment "netctl:0a1b2c3d"
		meta nfproto ipv4 oifname "nc-fw1" drop comment "netctl:0a1b2c3d"
		meta nfproto ipv4 oifname "nc-fw2" drop comment "netctl:0a1b2c3d"
		meta nfproto ipv4 oifname "nc-fw3" drop comment "netctl:0a1b2c3d"
	}

	chain published {
		dnat ip to ip daddr . meta l4proto . th dport map @ports4h comment "netctl:0a1b2c3d"
		meta nfproto ipv4 dnat ip to meta l4proto . th dport map @ports4 comment "netctl:0a1b2c3d"
		dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6h comment "netctl:0a1b2c3d"
		meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @ports6 comment "netctl:0a1b2c3d"
	}

	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local jump published comment "netctl:0a1b2c3d"
	}

	chain output {
		type nat hook output priority -100; policy accept;
		fib daddr type local jump published comment "netctl:0a1b2c3d"
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		jump M-aaa111 comment "netctl:0a1b2c3d"
		jump M-bbb222 comment "netctl:0a1b2c3d"
		jump M-ccc333 comment "netctl:0a1b2c3d"
	}

	chain raw {
		type filter hook prerouting priority raw; policy accept;
		ip daddr 127.0.0.0/8 iifname != "lo" drop comment "netctl:0a1b2c3d"
	}

	chain N-aaa111 {
		meta nfproto ipv4 oifname "nc-fw1" ct state established,related accept comment "netctl:0a1b2c3d"
		meta nfproto ipv4 iifname "nc-fw1" oifname != "nc-fw1" accept comment "netctl:0a1b2c3d"
		meta nfproto ipv4 iifname "nc-fw1" oifname "nc-fw1" accept comment "netctl:0a1b2c3d"
		meta nfproto ipv4 oifname "nc-fw1" ct status dnat accept comment "netctl:0a1b2c3d"
	}

	chain M-aaa111 {
		ip saddr 10.77.1.0/24 oifname != "nc-fw1" masquerade comment "netctl:0a1b2c3d"
		ip saddr 127.0.0.0/8 oifname "nc-fw1" masquerade comment "netctl:0a1b2c3d"
		ip saddr 10.77.1.0/24 oifname "nc-fw1" ct status dnat masquerade comment "netctl:0a1b2c3d"
	}

	chain I-aaa111 {
		meta nfproto ipv4 iifname != "nc-fw1" oifname "nc-fw1" drop comment "netctl:0a1b2c3d"
	}

	chain N-bbb222 {
		meta nfproto ipv4 oifname "nc-fw2" ct state established,related accept comment "netctl:0a1b2c3d"
		meta nfproto ipv4 iifname "nc-fw2" oifname != "nc-fw2" accept comment "netctl:0a1b2c3d"
		meta nfproto ipv4 oifname "nc-fw2" ct status dnat accept comment "netctl:0a1b2c3d"
	}

	chain M-bbb222 {
		ip saddr 10.77.2.0/24 oifname != "nc-fw2" masquerade comment "netctl:0a1b2c3d"
		ip saddr 127.0.0.0/8 oifname "nc-fw2" masquerade comment "netctl:0a1b2c3d"
		ip saddr 10.77.2.0/24 oifname "nc-fw2" ct status dnat masquerade comment "netctl:0a1b2c3d"
	}

	chain I-bbb222 {
		meta nfproto ipv4 iifname != "nc-fw2" oifname "nc-fw2" drop comment "netctl:0a1b2c3d"
		meta nfproto ipv4 iifname "nc-fw2" oifname "nc-fw2" drop comment "netctl:0a1b2c3d"
	}

	chain N-ccc333 {
		meta nfproto ipv4 oifname "nc-fw3" ct state established,related accept comment "netctl:0a1b2c3d"
		meta nfproto ipv4 iifname "nc-fw3" oifname != "nc-fw3" drop comment "netctl:0a1b2c3d"
		meta nfproto ipv4 iifname != "nc-fw3" oifname "nc-fw3" drop comment "netctl:0a1b2c3d"
		meta nfproto ipv4 iifname "nc-fw3" oifname "nc-fw3" accept comment "netctl:0a1b2c3d"
		meta nfproto ipv4 oifname "nc-fw3" ct status dnat accept comment "netctl:0a1b2c3d"
	}

	chain M-ccc333 {
		ip saddr 127.0.0.0/8 oifname "nc-fw3" masquerade comment "netctl:0a1b2c3d"
		ip saddr 10.77.3.0/24 oifname "nc-fw3" ct status dnat masquerade comment "netctl:0a1b2c3d"
	}
}
)";

std::string without_elements(const std::string& table) {
  std::string out;
  bool in_elements = false;
  for (size_t at = 0; at < table.size();) {
    size_t end = std::min(table.find('\n', at), table.size());
    std::string l = table.substr(at, end - at);
    at = end + 1;
    if (has(l, "elements = {")) in_elements = true;
    if (!in_elements) out += l + "\n";
    if (in_elements && l.ends_with("}")) in_elements = false;
  }
  return out;
}

std::string nft_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

TEST_CASE("nftables: the table is the golden one, nft reads it back, drift sees none") {
  priv::FreshNetns ns;
  auto fw = make_nft_firewall(kRootId);
  FirewallChange c = sample();
  apply(*fw, c);
  apply(*fw, c);  // the same state again: nothing changes
  FirewallChange rm{.remove_ports = {c.add_ports[1]}};
  apply(*fw, rm);
  CHECK(without_elements(nft_table()) == kNftGolden);
  auto dump = fw->dump();
  REQUIRE(dump);
  CHECK(has(nft_lines(*dump), "element ports4h 198.51.100.1 udp 5353 -> 10.77.1.2 53\n"));
  CHECK(has(nft_lines(*dump), "element ports4 tcp 9001 -> 10.77.1.2 91\n"));
  CHECK_FALSE(has(nft_lines(*dump), "8081"));
  // What nft prints, nft reads (the distribution's nftables.service saves and restores so).
  REQUIRE(sh_rc("nft list ruleset > /tmp/netctl-nft-save && nft flush ruleset && "
                "nft -f /tmp/netctl-nft-save && rm /tmp/netctl-nft-save") == 0);
  auto again = fw->dump();
  REQUIRE(again);
  CHECK(*again == *dump);
  FirewallChange want = c;
  want.add_ports = {c.add_ports[0]};
  auto d = fw->drift(want);
  REQUIRE(d);
  CHECK(d->missing.empty());
  CHECK(d->foreign.empty());
  CHECK(d->foreign_networks.empty());
}

TEST_CASE("nftables: a conflicting publish and a failure mid-batch change nothing") {
  priv::FreshNetns ns;
  auto fw = make_nft_firewall(kRootId);
  EndpointPorts one{"e1", "nc-fw1", ip("10.77.1.2"), {tcp(8080, 80)}};
  apply(*fw, FirewallChange{.add_networks = {net("aaa111", "nc-fw1", "10.77.1.0/24"),
                                             net("bbb222", "nc-fw2", "10.77.2.0/24")},
                            .add_ports = {one}});
  std::string before = nft_table();
  // Host port 8080 taken: the new network and the other ports of the batch do not go in either.
  EndpointPorts other{"e2", "nc-fw1", ip("10.77.1.3"), {tcp(9090, 90), tcp(8080, 80)}};
  auto st = fw->apply(FirewallChange{.add_networks = {net("ccc333", "nc-fw3", "10.77.3.0/24")},
                                     .add_ports = {other}});
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::kConflict);
  CHECK(nft_table() == before);
  // Bad input: nothing touched.
  st = fw->apply(FirewallChange{
      .remove_networks = {"aaa111"},
      .add_ports = {EndpointPorts{"e3", "nc-fw1", ip("10.77.1.4"), {tcp(7000, 70, 0)}}}});
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::kInvalid);
  CHECK(nft_table() == before);
  // The kernel refuses to delete bbb222's chain (the admin jumps to it): the port added and the
  // flushes before that message in the same batch are undone with it.
  REQUIRE(sh_rc("nft add rule inet netctl-0a1b2c3d user jump N-bbb222") == 0);
  before = nft_table();
  st = fw->apply(FirewallChange{
      .remove_networks = {"bbb222"},
      .add_ports = {EndpointPorts{"e4", "nc-fw1", ip("10.77.1.5"), {tcp(7001, 71)}}}});
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::kFailed);
  CHECK_MESSAGE(has(st.error().message, "N-bbb222"), st.error().message);
  CHECK(nft_table() == before);
  REQUIRE(sh_rc("nft flush chain inet netctl-0a1b2c3d user") == 0);
  apply(*fw, FirewallChange{.remove_networks = {"bbb222"}});
  CHECK_FALSE(has(nft_table(), "bbb222"));
  // Unpublishing what is not there (or maps elsewhere) is no error and leaves the rest.
  apply(*fw, FirewallChange{.remove_ports = {other}});
  CHECK(has(nft_table(), "tcp . 8080 : 10.77.1.2 . 80"));
}

TEST_CASE("nftables: a publish alone is one batch; a conflict or a missing table handled") {
  priv::FreshNetns ns;
  auto fw = make_nft_firewall(kRootId);
  EndpointPorts one{"e1", "nc-fw1", ip("10.77.1.2"), {tcp(8080, 80)}};
  apply(*fw, FirewallChange{.add_networks = {net("aaa111", "nc-fw1", "10.77.1.0/24")},
                            .add_ports = {one}});
  // The same host port for another container: kConflict, and the batch's other port not in.
  std::string before = nft_table();
  EndpointPorts other{"e2", "nc-fw1", ip("10.77.1.3"), {tcp(9090, 90), tcp(8080, 80)}};
  auto st = fw->apply(FirewallChange{.add_ports = {other}});
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::kConflict);
  CHECK(nft_table() == before);
  // Re-publishing what is there is no error.
  apply(*fw, FirewallChange{.add_ports = {one}});
  CHECK(nft_table() == before);
  // The whole ruleset flushed (as nftables.service does): a publish alone makes the table and its
  // maps again, and the element is in.
  REQUIRE(sh_rc("nft flush ruleset") == 0);
  apply(*fw, FirewallChange{
                 .add_ports = {EndpointPorts{"e3", "nc-fw1", ip("10.77.1.4"), {tcp(7000, 70)}}}});
  CHECK(has(nft_table(), "tcp . 7000 : 10.77.1.4 . 70"));
  CHECK(has(nft_table(), "chain published"));
}

TEST_CASE("nftables: drift reports deleted rules and elements and foreign ones; gc repairs") {
  priv::FreshNetns ns;
  auto fw = make_nft_firewall(kRootId);
  FirewallChange want = sample();
  apply(*fw, want);
  std::string t = "inet netctl-0a1b2c3d";
  std::string handle = sh("nft -a list chain " + t +
                          " N-aaa111 | sed -n 's/.*ct state established,related accept.*"
                          "# handle \\([0-9]*\\)$/\\1/p'");
  REQUIRE_FALSE(handle.empty());
  REQUIRE(sh_rc("nft delete rule " + t + " N-aaa111 handle " + handle) == 0);
  REQUIRE(sh_rc("nft delete element " + t + " ports4 '{ tcp . 8081 }'") == 0);
  REQUIRE(sh_rc("nft add element " + t + " ports4 '{ udp . 4444 : 10.77.1.9 . 44 }'") == 0);
  REQUIRE(sh_rc("nft add chain " + t + " N-zzz999") == 0);
  REQUIRE(sh_rc("nft add rule " + t + " user ip saddr 203.0.113.5 drop") == 0);  // the admin's
  auto d = fw->drift(want);
  REQUIRE(d);
  CHECK(nft_lines(d->missing) ==
        "element ports4 tcp 8081 -> 10.77.2.2 80\n"
        "rule N-aaa111 [ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x00000002 ] [ meta load "
        "oifname => reg 1 ] [ cmp eq reg 1 0x662d636e 0x00003177 0x00000000 0x00000000 ] [ ct "
        "load state => reg 1 ] [ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ] [ cmp neq "
        "reg 1 0x00000000 ] [ immediate reg 0 accept ] comment \"netctl:0a1b2c3d\"\n");
  CHECK(nft_lines(d->foreign) == "chain N-zzz999\nelement ports4 udp 4444 -> 10.77.1.9 44\n");
  CHECK(d->foreign_networks == std::vector<std::string>{"zzz999"});
  CHECK_FALSE(d->foreign_v6);
  FirewallChange gc = want;
  gc.remove_networks = d->foreign_networks;
  gc.exact_ports = true;
  apply(*fw, gc);
  d = fw->drift(want);
  REQUIRE(d);
  CHECK(d->missing.empty());
  CHECK(d->foreign.empty());
  CHECK(has(nft_table(), "ip saddr 203.0.113.5 drop"));  // the admin's chain is never written
}

TEST_CASE("nftables: two roots keep to their own tables; removing one leaves the other") {
  priv::FreshNetns ns;
  World w;
  w.two_networks();
  auto a = make_nft_firewall(kRootId);
  auto b = make_nft_firewall(kNftOther);
  FirewallChange want_a{
      .add_networks = {net("aaa111", "nc-fw1", "10.77.1.0/24")},
      .add_ports = {EndpointPorts{"e1", "nc-fw1", ip("10.77.1.2"), {tcp(8080, 80)}}},
      .bridges = std::vector<std::string>{"nc-fw1"}};
  FirewallChange want_b{
      .add_networks = {net("bbb222", "nc-fw2", "10.77.2.0/24")},
      .add_ports = {EndpointPorts{"e2", "nc-fw2", ip("10.77.2.2"), {tcp(9090, 80)}}},
      .bridges = std::vector<std::string>{"nc-fw2"}};
  apply(*b, want_b);
  apply(*a, want_a);
  REQUIRE(sh_rc("nft add table ip filter && nft add chain ip filter FORWARD") == 0);  // someone's
  std::string b_before = nft_table(kNftOther), other = sh("nft list table ip filter");
  CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "c1 80 198.51.100.2");
  CHECK(w.ask("nb", "tcp", "198.51.100.1", 9090) == "c2 80 198.51.100.2");
  FirewallChange gc = want_a;
  gc.exact_ports = gc.ipv6 = true;
  apply(*a, gc);
  auto d = a->drift(want_a);
  REQUIRE(d);
  CHECK(d->foreign.empty());
  CHECK(d->missing.empty());
  apply(*a, FirewallChange{.remove_networks = {"aaa111"},
                           .remove_ports = want_a.add_ports,
                           .bridges = std::vector<std::string>{}});
  CHECK(nft_table(kNftOther) == b_before);
  REQUIRE(remove_nft_table(kRootId));
  REQUIRE(remove_nft_table(kRootId));  // missing: done
  CHECK(nft_table() == "");
  CHECK(nft_table(kNftOther) == b_before);
  CHECK(sh("nft list table ip filter") == other);
  CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "");
  CHECK(w.ask("nb", "tcp", "198.51.100.1", 9090) == "c2 80 198.51.100.2");
  CHECK(remove_nft_table("bad").error().code == Code::kInvalid);
}

}  // namespace
}  // namespace cnm::kernel

// The IPv6 half of the firewall against the kernel's legacy ip6tables tables (and, for the traffic
// scenario, nftables), with real IPv6 traffic. World (firewall_world.h) wires bridges, "containers"
// and the LAN neighbour nb; here they get IPv6 addresses too: containers on ULA subnets
// fd00:77:N::/64 (gateway ::1 on the bridge), nb 2001:db8:100::2 wired to the host's
// 2001:db8:100::1 (documentation addresses). Servers are dual-stack python3 sockets answering
// "<name> <port> <peer address>".
#include <doctest/doctest.h>
#include <libiptc/libiptc.h>
extern "C" {
#include <libiptc/libip6tc.h>
}

#include "tests/priv/firewall_world.h"

namespace cnm::kernel {
namespace {

constexpr const char* kWho6 = R"(import socket, sys
def ask(proto, host, port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        if proto == "tcp": s.connect((host, port))
        else: s.sendto(b"?", (host, port))
        print(s.recv(64).decode())
    except OSError: sys.exit(1)
def serve(name, ready, ports):
    import selectors
    sel = selectors.DefaultSelector()
    for p in ports:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", p)); s.listen(64); sel.register(s, selectors.EVENT_READ, p)
    open(ready, "w").close()
    while True:
        for key, _ in sel.select():
            c, peer = key.fileobj.accept()
            c.sendall(f"{name} {key.data} {peer[0]}".encode()); c.close()
if sys.argv[1] == "serve": serve(sys.argv[2], sys.argv[3], [int(p) for p in sys.argv[4:]])
else: ask(sys.argv[2], sys.argv[3], int(sys.argv[4]))
)";

// IPv6 on top of a World: addresses, routes, servers and clients.
class World6 {
 public:
  World6() : dir_(sh("mktemp -d")) {
    while (!dir_.empty() && dir_.back() == '\n') dir_.pop_back();
    std::ofstream(dir_ + "/who6.py") << kWho6;
    REQUIRE(sh_rc("echo 1 > /proc/sys/net/ipv6/conf/all/forwarding") == 0);
  }
  ~World6() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    std::filesystem::remove_all(dir_);
  }
  void bridge(const std::string& br, const std::string& gw) {
    REQUIRE(sh_rc("ip addr add " + gw + " dev " + br + " nodad") == 0);
  }
  void container(const std::string& ns, const std::string& cidr, const std::string& gw) {
    REQUIRE(sh_rc(in(ns) + "ip addr add " + cidr + " dev eth0 nodad && " + in(ns) +
                  "ip -6 route add default via " + gw) == 0);
    settle(ns, gw);
  }
  void neighbour() {
    REQUIRE(sh_rc("ip addr add 2001:db8:100::1/64 dev vnb nodad && " + in("nb") +
                  "ip addr add 2001:db8:100::2/64 dev eth0 nodad") == 0);
    settle("nb", "2001:db8:100::1");
  }
  // Waits until `ns` reaches `addr` (link-local DAD on fresh veths and the bridge port can lose
  // the first packets), so a case's first check does not measure that.
  void settle(const std::string& ns, const std::string& addr) {
    REQUIRE(sh_rc("for i in 1 2 3 4 5 6 7 8 9 10; do " + in(ns) + "busybox ping -6 -c1 -W1 " +
                  addr + " >/dev/null 2>&1 && exit 0; done; exit 1") == 0);
  }
  void serve(const std::string& ns, const std::string& name, const std::vector<int>& ports) {
    std::string ready = dir_ + "/" + name + std::to_string(pids_.size());
    std::string cmd = in(ns) + "/usr/bin/python3 " + dir_ + "/who6.py serve " + name + " " + ready;
    for (int p : ports) cmd += " " + std::to_string(p);
    pids_.push_back(std::stoi(sh(cmd + " >/dev/null 2>&1 & echo $!")));
    for (int i = 0; i < 300 && !std::filesystem::exists(ready); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(std::filesystem::exists(ready));
  }
  std::string ask(const std::string& ns, const std::string& host, int port) {
    std::string cmd = in(ns) + "/usr/bin/python3 " + dir_ + "/who6.py ask tcp " + host + " " +
                      std::to_string(port) + " 2>/dev/null";
    std::string out = priv::sh_status(cmd).out;  // no answer (exit 1) is an outcome to check
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

 private:
  std::string dir_;
  std::vector<pid_t> pids_;
};

// Every entry of every chain of IPv6 `table` as bytes, like entries() in firewall_world.h.
std::map<std::string, std::vector<std::string>> entries6(const char* table) {
  std::map<std::string, std::vector<std::string>> out;
  xtc_handle* h = ip6tc_init(table);
  REQUIRE(h != nullptr);
  for (const char* c = ip6tc_first_chain(h); c != nullptr; c = ip6tc_next_chain(h)) {
    xt_chainlabel label{};
    std::strncpy(label, c, sizeof label - 1);
    for (const ip6t_entry* e = ip6tc_first_rule(label, h); e != nullptr;
         e = ip6tc_next_rule(e, h)) {
      std::string bytes(reinterpret_cast<const char*>(e), e->next_offset);
      std::memset(bytes.data() + offsetof(ip6t_entry, comefrom), 0, 4 + sizeof(xt_counters));
      for (size_t at = sizeof(ip6t_entry); at < e->next_offset;) {
        auto* m = reinterpret_cast<xt_entry_match*>(bytes.data() + at);
        size_t len = strnlen(m->u.user.name, sizeof m->u.user.name);
        std::memset(m->u.user.name + len, 0, sizeof m->u.user.name - len);
        at += m->u.match_size;
      }
      out[c].push_back(bytes + "|" + ip6tc_get_target(e, h));
    }
  }
  ip6tc_free(h);
  return out;
}

FirewallChange sample6() {
  FirewallChange c = sample();
  c.add_networks[0].subnet6 = *Prefix::parse("fd00:77:1::/64");
  c.add_networks[1].subnet6 = *Prefix::parse("fd00:77:2::/64");  // icc off
  c.add_networks[2].subnet6 = *Prefix::parse("fd00:77:3::/64");  // internal
  c.add_ports[0].container_ip6 = ip("fd00:77:1::2");
  c.add_ports[0].ports.push_back(PortMapping{ip("2001:db8:100::1"), 8443, 443, 1, Proto::kTcp});
  c.add_ports[0].ports.push_back(PortMapping{ip("::"), 7070, 70, 3, Proto::kUdp});
  c.bridges6 = std::vector<std::string>{"nc-fw1", "nc-fw2", "nc-fw3"};
  return c;
}

std::string v6_part(const std::vector<std::string>& dump) {
  std::string out;
  bool on = false;
  for (const std::string& l : dump) {
    if (l.starts_with("*")) on = l.ends_with("6");
    if (on) out += l + "\n";
  }
  return out;
}

TEST_CASE("IPv6 rules are byte for byte what ip6tables makes, and the fake agrees") {
  priv::FreshNetns ns;
  auto fw = make_iptc_firewall(kRootId);
  FakeFirewall fake;
  FirewallChange c = sample6();
  apply(*fw, c);
  REQUIRE(fake.apply(c));
  apply(*fw, c);
  REQUIRE(fake.apply(c));
  FirewallChange rm{.remove_ports = {c.add_ports[1]}};
  apply(*fw, rm);
  REQUIRE(fake.apply(rm));

  auto dump = fw->dump();
  REQUIRE(dump);
  CHECK(*dump == *fake.dump());
  std::string want;
  for (const char* t : {"filter", "nat"})
    want += std::string("*") + t + "6\n" +
            sh(std::string("ip6tables-legacy -t ") + t + " -S | grep NETCTL");
  CHECK(v6_part(*dump) == want);
  CHECK(has(want,
            "-A NETCTL-D-0a1b2c3d -d 2001:db8:100::1/128 -p tcp -m tcp --dport 8443 -j DNAT "
            "--to-destination [fd00:77:1::2]:443"));
  CHECK(has(want, "-A NETCTL-M-aaa111 -s fd00:77:1::/64 ! -o nc-fw1 -j MASQUERADE"));
  CHECK_FALSE(has(want, "5353"));     // published on an IPv4 host address only
  CHECK_FALSE(has(save(), "8443"));   // published on an IPv6 host address only
  CHECK_FALSE(has(want, "127.0.0"));  // no localhost rules in IPv6

  std::map<std::string, std::map<std::string, std::vector<std::string>>> ours;
  for (const char* t : {"filter", "nat"}) ours[t] = entries6(t);
  REQUIRE(sh_rc("f=$(mktemp) && ip6tables-legacy-save > $f && ip6tables-legacy-restore < $f && "
                "rm $f") == 0);
  for (const char* t : {"filter", "nat"}) CHECK_MESSAGE(entries6(t) == ours[t], t);

  // Removal takes everything out of the IPv6 tables too.
  apply(*fw, FirewallChange{.remove_networks = {"aaa111", "bbb222", "ccc333"},
                            .remove_ports = {c.add_ports[0]},
                            .bridges = std::vector<std::string>{},
                            .bridges6 = std::vector<std::string>{},
                            .ipv6 = true});
  std::string s6 = sh("ip6tables-legacy-save");
  for (const char* gone : {"NETCTL-N-", "NETCTL-M-", "NETCTL-I-", "fd00:", "nc-fw"})
    CHECK_MESSAGE(!has(s6, gone), gone);
}

TEST_CASE("an IPv4-only change leaves the IPv6 tables unread and untouched") {
  priv::FreshNetns ns;
  auto fw = make_iptc_firewall(kRootId);
  apply(*fw, sample());
  CHECK(has(save(), "NETCTL-N-aaa111"));
  CHECK_FALSE(has(sh("ip6tables-legacy-save"), "NETCTL"));
}

std::string save_both() {
  return save() + sh("ip6tables-legacy-save | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'");
}

TEST_CASE("a failed IPv6 commit puts back the tables committed before it, in both families") {
  priv::FreshNetns ns;
  auto fw = make_iptc_firewall(kRootId);
  FirewallChange first = sample6();
  first.add_networks.resize(1);
  first.add_ports.clear();  // NETCTL-DNAT empty: the admin's jump below is still accepted
  first.bridges = first.bridges6 = std::vector<std::string>{"nc-fw1"};
  apply(*fw, first);
  // The kernel refuses nat6 (an admin's jump makes DNAT reachable from POSTROUTING), the last
  // table committed: filter, nat and filter6 went in before it and must be put back.
  REQUIRE(sh_rc("ip6tables-legacy -t nat -A POSTROUTING -j NETCTL-DNAT") == 0);
  std::string before = save_both();
  FirewallChange more = sample6();
  more.add_networks = {more.add_networks[1]};
  more.add_ports = {more.add_ports[0]};
  more.add_ports[0].ports.push_back(PortMapping{std::nullopt, 6000, 60, 1, Proto::kTcp});
  auto st = fw->apply(more);
  REQUIRE_FALSE(st);
  CHECK_MESSAGE(st.error().message.starts_with("commit nat6 table: "), st.error().message);
  CHECK(save_both() == before);
  CHECK_FALSE(has(before, "bbb222"));
  REQUIRE(sh_rc("ip6tables-legacy -t nat -D POSTROUTING -j NETCTL-DNAT") == 0);
  apply(*fw, more);
  CHECK(has(save_both(), "-A NETCTL-N-bbb222 -o nc-fw2"));
  CHECK(has(sh("ip6tables-legacy -t nat -S"),
            "--dport 6000 -j DNAT --to-destination [fd00:77:1::2]:60"));
}

// Why IPv6 needs no raw guard: without any rule, a neighbour routing ::1 to the host reaches
// nothing there (the kernel drops packets for ::1 arriving on any interface but lo), while the
// same service answers on the host's address.
TEST_CASE("IPv6: packets for ::1 from outside never reach the host, no rule needed") {
  priv::FreshNetns ns;
  World w;
  World6 w6;
  w.neighbour();
  w6.neighbour();
  w6.serve("", "host", {9999});
  REQUIRE(sh_rc(in("nb") + "sh -c 'ip addr del ::1/128 dev lo && ip -6 route add ::1/128 via " +
                "2001:db8:100::1'") == 0);
  CHECK(w6.ask("nb", "2001:db8:100::1", 9999) == "host 9999 2001:db8:100::2");
  // They do arrive: ip6_rcv_core counts them as header errors before any netfilter hook.
  auto hdr_errors = [] {
    return std::stol(sh("awk '$1 == \"Ip6InHdrErrors\" {print $2}' /proc/net/snmp6"));
  };
  long before = hdr_errors();
  CHECK(w6.ask("nb", "::1", 9999) == "");
  CHECK(hdr_errors() > before);
  CHECK_FALSE(has(sh("ip6tables-legacy-save"), "NETCTL"));
}

TEST_CASE("IPv6: masquerade out, DNAT in, isolation, internal networks") {
  for (Backend backend : kBackends) {
    INFO(backend_name(backend));
    priv::FreshNetns ns;
    World w;
    World6 w6;
    for (int i : {1, 2, 3}) {
      std::string br = fmt::format("nc-fw{}", i);
      w.bridge(br, fmt::format("10.77.{}.1/24", i));
      w6.bridge(br, fmt::format("fd00:77:{}::1/64", i));
    }
    w.container("c1", "nc-fw1", "10.77.1.2/24", "10.77.1.1");
    w.container("c3", "nc-fw2", "10.77.2.2/24", "10.77.2.1");
    w.container("c4", "nc-fw3", "10.77.3.2/24", "10.77.3.1");
    w6.container("c1", "fd00:77:1::2/64", "fd00:77:1::1");
    w6.container("c3", "fd00:77:2::2/64", "fd00:77:2::1");
    w6.container("c4", "fd00:77:3::2/64", "fd00:77:3::1");
    w.neighbour();
    w6.neighbour();
    for (const char* c : {"c1", "c3", "c4"}) w6.serve(c, c, {80, 443});
    w6.serve("nb", "nb", {7000});
    // Without rules nb has no route back to the ULA subnet.
    CHECK(w6.ask("c1", "2001:db8:100::2", 7000) == "");

    auto fw = make_firewall(backend);
    FirewallChange c = sample6();  // nc-fw1 plain, nc-fw2 icc off, nc-fw3 internal
    c.add_ports = {c.add_ports[0]};
    apply(*fw, c);
    // Masquerade: nb sees the host's IPv6 address.
    CHECK(w6.ask("c1", "2001:db8:100::2", 7000) == "nb 7000 2001:db8:100::1");
    CHECK(w6.ask("c3", "2001:db8:100::2", 7000) == "nb 7000 2001:db8:100::1");
    // Published ports over IPv6: unset host address and the IPv6 one; not the IPv4-only one.
    CHECK(w6.ask("nb", "2001:db8:100::1", 8080) == "c1 80 2001:db8:100::2");
    CHECK(w6.ask("nb", "2001:db8:100::1", 8443) == "c1 443 2001:db8:100::2");
    CHECK(w.ask("nb", "tcp", "198.51.100.1", 8443) == "");
    // Behind NAT, routing straight to the subnet reaches nothing.
    REQUIRE(sh_rc(in("nb") + "ip -6 route add fd00:77::/48 via 2001:db8:100::1") == 0);
    CHECK(w6.ask("nb", "fd00:77:1::2", 80) == "");
    // Isolation both ways; published ports stay reachable from the other network.
    CHECK(w6.ask("c1", "fd00:77:2::2", 80) == "");
    CHECK(w6.ask("c3", "fd00:77:1::2", 80) == "");
    CHECK(w6.ask("c3", "fd00:77:2::1", 8080) == "c1 80 fd00:77:1::1");  // masqueraded out of nc-fw2
    // Internal: nothing in or out, the host still reaches it.
    CHECK(w6.ask("c4", "2001:db8:100::2", 7000) == "");
    CHECK(w6.ask("nb", "fd00:77:3::2", 80) == "");
    CHECK(w6.ask("", "fd00:77:3::2", 80) == "c4 80 fd00:77:3::1");
    // The rules are what stop it: without IPv6 isolation nc-fw1 and nc-fw2 talk.
    apply(*fw, FirewallChange{.bridges6 = std::vector<std::string>{}});
    CHECK(w6.ask("c3", "fd00:77:1::2", 80).starts_with("c1 80 "));
  }
}

}  // namespace
}  // namespace cnm::kernel

// Firewall against the kernel's legacy iptables tables, with real traffic. The fresh network
// namespace is the throwaway host: bridges with "containers" (namespaces on veths) and a LAN
// neighbour nb (198.51.100.2, wired to the host's 198.51.100.1; no route to the container subnets
// unless a case adds one). Servers and clients are small python3 programs: a server answers
// "<name> <local port> <peer address>", so each case sees who reached whom from where.
#include "cnm/kernel/firewall.h"

#include <doctest/doctest.h>
#include <libiptc/libiptc.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cnm/kernel/fake_firewall.h"
#include "tests/priv/priv.h"

namespace cnm::kernel {
namespace {

using priv::sh;
using priv::sh_rc;

constexpr const char* kWho = R"(import selectors, socket, sys
def serve(name, proto, addr, ready, ports):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sel = selectors.DefaultSelector()
    for p in ports:
        s = socket.socket(socket.AF_INET, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, p))
        if proto == "tcp": s.listen(64)
        sel.register(s, selectors.EVENT_READ, p)
    open(ready, "w").close()
    while True:
        for key, _ in sel.select():
            s, p = key.fileobj, key.data
            if proto == "tcp":
                c, peer = s.accept(); c.sendall(f"{name} {p} {peer[0]}".encode()); c.close()
            else:
                _, peer = s.recvfrom(64); s.sendto(f"{name} {p} {peer[0]}".encode(), peer)
def ask(proto, host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        if proto == "tcp": s.connect((host, port))
        else: s.sendto(b"?", (host, port))
        print(s.recv(64).decode())
    except OSError: sys.exit(1)
if sys.argv[1] == "serve": serve(*sys.argv[2:6], [int(p) for p in sys.argv[6:]])
else: ask(sys.argv[2], sys.argv[3], int(sys.argv[4]))
)";

std::string in(const std::string& ns) { return ns.empty() ? "" : "ip netns exec " + ns + " "; }

class World {
 public:
  World()
      : dir_(std::filesystem::temp_directory_path() / ("netctl-fw-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "who.py") << kWho;
    REQUIRE(sh_rc("echo 1 > /proc/sys/net/ipv4/ip_forward") == 0);
  }
  ~World() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    for (const std::string& ns : nss_) sh_rc("ip netns del " + ns + " 2>/dev/null");
    std::filesystem::remove_all(dir_);
  }

  void bridge(const std::string& name, const std::string& gw_cidr) {
    REQUIRE(sh_rc("ip link add " + name + " type bridge && ip addr add " + gw_cidr + " dev " +
                  name + " && ip link set " + name + " up") == 0);
  }
  // Namespace `ns` on `bridge` through veth v<ns>, address `cidr`, default route via `gw`.
  void container(const std::string& ns, const std::string& bridge, const std::string& cidr,
                 const std::string& gw) {
    wire(ns, cidr, gw);
    REQUIRE(sh_rc("ip link set v" + ns + " master " + bridge + " up") == 0);
  }
  void neighbour() {
    wire("nb", "198.51.100.2/24", "");
    REQUIRE(sh_rc("ip addr add 198.51.100.1/24 dev vnb && ip link set vnb up") == 0);
  }
  void serve(const std::string& ns, const std::string& name, const std::string& proto,
             const std::vector<int>& ports, const std::string& addr = "0.0.0.0") {
    std::string ready = (dir_ / (name + proto + std::to_string(pids_.size()))).string();
    std::string cmd = in(ns) + "/usr/bin/python3 " + (dir_ / "who.py").string() + " serve " + name +
                      " " + proto + " " + addr + " " + ready;
    for (int p : ports) cmd += " " + std::to_string(p);
    pids_.push_back(std::stoi(sh(cmd + " >/dev/null 2>&1 & echo $!")));
    for (int i = 0; i < 300 && !std::filesystem::exists(ready); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(std::filesystem::exists(ready));
  }
  // The answer of the server at host:port, "" if none came within a second.
  std::string ask(const std::string& ns, const std::string& proto, const std::string& host,
                  int port) {
    std::string out = sh(in(ns) + "/usr/bin/python3 " + (dir_ / "who.py").string() + " ask " +
                         proto + " " + host + " " + std::to_string(port) + " 2>/dev/null");
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

 private:
  void wire(const std::string& ns, const std::string& cidr, const std::string& gw) {
    REQUIRE(sh_rc("ip netns add " + ns) == 0);
    nss_.push_back(ns);
    std::string cmd = "ip link add v" + ns + " type veth peer name eth0 netns " + ns + " && " +
                      in(ns) + "ip link set lo up && " + in(ns) + "ip addr add " + cidr +
                      " dev eth0 && " + in(ns) + "ip link set eth0 up";
    if (!gw.empty()) cmd += " && " + in(ns) + "ip route add default via " + gw;
    REQUIRE(sh_rc(cmd) == 0);
  }

  std::filesystem::path dir_;
  std::vector<std::string> nss_;
  std::vector<pid_t> pids_;
};

IpAddr ip(const char* text) { return *IpAddr::parse(text); }

NetworkRules net(const char* id, const char* bridge, const char* subnet) {
  return NetworkRules{id, bridge, *Prefix::parse(subnet), true, true, false};
}

PortMapping tcp(uint16_t host, uint16_t container, uint16_t count = 1) {
  return PortMapping{std::nullopt, host, container, count, Proto::kTcp};
}

void apply(Firewall& fw, const FirewallChange& c) {
  auto st = fw.apply(c);
  REQUIRE_MESSAGE(st, st.error().message);
}

std::string save() { return sh("iptables-legacy-save | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'"); }

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Every entry of every chain of `table` as bytes, counters and kernel bookkeeping left out and
// names cut at their NUL (libiptc leaves stale bytes after it).
std::map<std::string, std::vector<std::string>> entries(const char* table) {
  std::map<std::string, std::vector<std::string>> out;
  xtc_handle* h = iptc_init(table);
  REQUIRE(h != nullptr);
  for (const char* c = iptc_first_chain(h); c != nullptr; c = iptc_next_chain(h)) {
    xt_chainlabel label{};
    std::strncpy(label, c, sizeof label - 1);
    for (const ipt_entry* e = iptc_first_rule(label, h); e != nullptr; e = iptc_next_rule(e, h)) {
      std::string bytes(reinterpret_cast<const char*>(e), e->next_offset);
      std::memset(bytes.data() + offsetof(ipt_entry, comefrom), 0, 4 + sizeof(xt_counters));
      for (size_t at = sizeof(ipt_entry); at < e->next_offset;) {
        auto* m = reinterpret_cast<xt_entry_match*>(bytes.data() + at);
        size_t len = strnlen(m->u.user.name, sizeof m->u.user.name);
        std::memset(m->u.user.name + len, 0, sizeof m->u.user.name - len);
        at += m->u.match_size;
      }
      out[c].push_back(bytes + "|" + iptc_get_target(e, h));
    }
  }
  iptc_free(h);
  return out;
}

FirewallChange sample() {
  FirewallChange c;
  NetworkRules quiet = net("bbb222", "nc-fw2", "10.77.2.0/24");
  quiet.icc = false;
  NetworkRules inner = net("ccc333", "nc-fw3", "10.77.3.0/24");
  inner.internal = true;
  c.add_networks = {net("aaa111", "nc-fw1", "10.77.1.0/24"), quiet, inner};
  EndpointPorts e{"e1", "nc-fw1", ip("10.77.1.2"), {tcp(8080, 80), tcp(9000, 90, 2)}};
  e.ports.push_back(PortMapping{ip("198.51.100.1"), 5353, 53, 1, Proto::kUdp});
  e.ports.push_back(PortMapping{std::nullopt, 3868, 3868, 1, Proto::kSctp});
  c.add_ports = {e, EndpointPorts{"e2", "nc-fw2", ip("10.77.2.2"), {tcp(8081, 80)}}};
  c.bridges = std::vector<std::string>{"nc-fw1", "nc-fw2", "nc-fw3"};
  return c;
}

TEST_CASE("firewall rules are byte for byte what iptables makes, and the fake agrees") {
  priv::FreshNetns ns;
  auto fw = make_iptc_firewall();
  FakeFirewall fake;
  FirewallChange c = sample();
  apply(*fw, c);
  REQUIRE(fake.apply(c));
  apply(*fw, c);  // the same state again: nothing changes
  REQUIRE(fake.apply(c));
  FirewallChange rm{.remove_ports = {"e2"}};
  apply(*fw, rm);
  REQUIRE(fake.apply(rm));

  auto dump = fw->dump();
  REQUIRE(dump);
  CHECK(*dump == *fake.dump());
  std::string want;
  for (const char* t : {"filter", "nat", "raw"})
    want += std::string("*") + t + "\n" +
            sh(std::string("iptables-legacy -t ") + t + " -S | grep NETCTL");
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
  priv::FreshNetns ns;
  World w;
  w.bridge("nc-fw1", "10.77.1.1/24");
  w.container("c1", "nc-fw1", "10.77.1.2/24", "10.77.1.1");
  w.container("c2", "nc-fw1", "10.77.1.3/24", "10.77.1.1");
  w.neighbour();
  w.serve("c1", "c1", "tcp", {80, 90, 91});
  w.serve("c1", "c1", "udp", {53});
  w.serve("nb", "nb", "tcp", {7000});
  CHECK(w.ask("c1", "tcp", "198.51.100.2", 7000) == "");  // no rules: nb cannot answer 10.77.1.2

  auto fw = make_iptc_firewall();
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
  CHECK(w.ask("c2", "tcp", "198.51.100.1", 8080) == "c1 80 10.77.1.3");
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

// Makes `ns` send 127.0.0.0/8 out of eth0 to `via`, as an attacker next to the host would.
void route_loopback_out(const std::string& ns, const std::string& via) {
  REQUIRE(sh_rc(in(ns) +
                "sh -c 'ip addr flush dev lo && ip link set lo down && echo 1 > "
                "/proc/sys/net/ipv4/conf/eth0/route_localnet && ip route add 127.0.0.0/8 via " +
                via + "'") == 0);
}

TEST_CASE("the raw guard drops packets for 127.0.0.0/8 from outside") {
  priv::FreshNetns ns;
  World w;
  w.bridge("nc-fw1", "10.77.1.1/24");
  w.container("c1", "nc-fw1", "10.77.1.2/24", "10.77.1.1");
  w.container("c2", "nc-fw1", "10.77.1.3/24", "10.77.1.1");
  w.neighbour();
  w.serve("c1", "c1", "tcp", {80});
  w.serve("", "host", "tcp", {9999}, "127.0.0.1");  // a service meant for this host only
  auto fw = make_iptc_firewall();
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
  REQUIRE(sh_rc("iptables-legacy -t raw -F NETCTL-RAW") == 0);
  CHECK(w.ask("nb", "tcp", "127.0.0.1", 8080) == "c1 80 198.51.100.2");
  CHECK(w.ask("c2", "tcp", "127.0.0.1", 9999) == "host 9999 10.77.1.3");
  apply(*fw, FirewallChange{});  // any apply puts the guard back
  CHECK(w.ask("nb", "tcp", "127.0.0.1", 8080) == "");
  CHECK(w.ask("c2", "tcp", "127.0.0.1", 9999) == "");
}

TEST_CASE("icc off, internal networks and isolation between networks") {
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

  auto fw = make_iptc_firewall();
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
  CHECK(w.ask("c2", "tcp", "10.77.1.1", 8080) == "c1 80 10.77.1.3");  // the published port
  // Behind NAT a neighbour routing to the subnet reaches published container ports only.
  CHECK(w.ask("nb", "tcp", "10.77.1.2", 80) == "c1 80 198.51.100.2");
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

TEST_CASE("removal leaves no chain or jump behind, the admin's rules and other networks stay") {
  priv::FreshNetns ns;
  World w;
  w.bridge("nc-fw1", "10.77.1.1/24");
  w.container("c1", "nc-fw1", "10.77.1.2/24", "10.77.1.1");
  w.neighbour();
  w.serve("c1", "c1", "tcp", {80});
  auto fw = make_iptc_firewall();
  apply(*fw, sample());
  REQUIRE(sh_rc("iptables-legacy -A NETCTL-USER -s 203.0.113.5/32 -j DROP") == 0);
  apply(*fw, FirewallChange{.remove_networks = {"bbb222", "ccc333", "ddd444"},
                            .remove_ports = {"e2", "e9"},
                            .bridges = std::vector<std::string>{"nc-fw1"}});
  std::string s = save();
  for (const char* gone : {"-N-bbb222", "-I-bbb222", "-M-bbb222", "ccc333", "-P-e2", "-H-e2",
                           "-A-e2", "nc-fw2", "nc-fw3"})
    CHECK_MESSAGE(!has(s, gone), gone);
  CHECK(has(s, "-A NETCTL-USER -s 203.0.113.5/32 -j DROP"));
  CHECK(has(s, "-A NETCTL-FORWARD -j NETCTL-N-aaa111"));
  CHECK(has(s, "-A NETCTL-DNAT -j NETCTL-P-e1"));
  CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "c1 80 198.51.100.2");

  apply(*fw, FirewallChange{.remove_networks = {"aaa111"},
                            .remove_ports = {"e1"},
                            .bridges = std::vector<std::string>{}});
  s = save();
  for (const char* gone :
       {"NETCTL-N-", "NETCTL-I-", "NETCTL-M-", "NETCTL-P-", "NETCTL-H-", "NETCTL-A-", "nc-fw"})
    CHECK_MESSAGE(!has(s, gone), gone);
  CHECK(has(s, "-A NETCTL-USER -s 203.0.113.5/32 -j DROP"));
  CHECK(w.ask("nb", "tcp", "198.51.100.1", 8080) == "");
}

TEST_CASE("a failed apply commits nothing") {
  priv::FreshNetns ns;
  auto fw = make_iptc_firewall();
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
  CHECK(has(save(), "-A NETCTL-P-e1 -p tcp -m tcp --dport 8080 -j DNAT"));
}

TEST_CASE("apply waits for the xtables lock") {
  priv::FreshNetns ns;
  std::string lock = "/tmp/netctl-fw-lock-" + std::to_string(getpid());
  setenv("XTABLES_LOCKFILE", lock.c_str(), 1);
  REQUIRE(sh_rc("touch " + lock + " && (flock " + lock + " sleep 1 &) && sleep 0.1") == 0);
  auto fw = make_iptc_firewall();
  auto t0 = std::chrono::steady_clock::now();
  apply(*fw, FirewallChange{.add_networks = {net("aaa111", "nc-fw1", "10.77.1.0/24")}});
  auto waited = std::chrono::steady_clock::now() - t0;
  unsetenv("XTABLES_LOCKFILE");
  std::filesystem::remove(lock);
  CHECK(waited >= std::chrono::milliseconds(700));
  CHECK(has(save(), "NETCTL-N-aaa111"));
}

// One endpoint per port, ids p0..pN, on nc-fw1's 10.78.0.0/16.
std::vector<EndpointPorts> endpoints(int from, int to) {
  std::vector<EndpointPorts> out;
  for (int i = from; i < to; ++i) {
    auto host = static_cast<uint16_t>(20000 + i);
    out.push_back(EndpointPorts{fmt::format("p{}", i),
                                "nc-fw1",
                                IpAddr::v4(0x0a4e0000u + 2 + static_cast<uint32_t>(i)),
                                {tcp(host, 80)}});
  }
  return out;
}

std::vector<std::string> ids(const std::vector<EndpointPorts>& eps) {
  std::vector<std::string> out;
  for (const EndpointPorts& e : eps) out.push_back(e.id12);
  return out;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Median time of publishing and then removing one more endpoint's port.
std::pair<double, double> one_more(Firewall& fw) {
  std::vector<double> add, rm;
  for (int i = 0; i < 5; ++i) {
    auto e = endpoints(5000, 5001);
    auto t0 = std::chrono::steady_clock::now();
    apply(fw, FirewallChange{.add_ports = e});
    add.push_back(ms_since(t0));
    t0 = std::chrono::steady_clock::now();
    apply(fw, FirewallChange{.remove_ports = ids(e)});
    rm.push_back(ms_since(t0));
  }
  std::sort(add.begin(), add.end());
  std::sort(rm.begin(), rm.end());
  return {add[2], rm[2]};
}

TEST_CASE("hundreds of published ports go in and out in one apply") {
  priv::FreshNetns ns;
  auto fw = make_iptc_firewall();
  apply(*fw, FirewallChange{.add_networks = {net("aaa111", "nc-fw1", "10.78.0.0/16")}});
  auto many = endpoints(0, 500);
  auto t0 = std::chrono::steady_clock::now();
  apply(*fw, FirewallChange{.add_ports = many});
  double add500 = ms_since(t0);
  CHECK(std::stoi(sh("iptables-legacy -t nat -S | grep -c '^-A NETCTL-P-'")) == 500);
  t0 = std::chrono::steady_clock::now();
  apply(*fw, FirewallChange{.remove_ports = ids(many)});
  double rm500 = ms_since(t0);
  CHECK(sh("iptables-legacy-save | grep -c 'NETCTL-[PHA]-' || true") == "0\n");
  MESSAGE(fmt::format("500 ports in one apply: add {:.1f} ms, remove {:.1f} ms", add500, rm500));

  apply(*fw, FirewallChange{.add_ports = endpoints(0, 10)});
  auto [add10, rm10] = one_more(*fw);
  apply(*fw, FirewallChange{.add_ports = endpoints(10, 1000)});
  auto [add1000, rm1000] = one_more(*fw);
  MESSAGE(
      fmt::format("one more port with 10 published: add {:.2f} ms, remove {:.2f} ms", add10, rm10));
  MESSAGE(fmt::format("one more port with 1000 published: add {:.2f} ms, remove {:.2f} ms", add1000,
                      rm1000));
  apply(*fw, FirewallChange{.remove_ports = ids(endpoints(0, 1000))});
  CHECK(sh("iptables-legacy-save | grep -c 'NETCTL-[PHA]-' || true") == "0\n");
  CHECK(add1000 < 1000);
}

}  // namespace
}  // namespace cnm::kernel

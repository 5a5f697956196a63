// Shared by the firewall priv tests (firewall_test.cc, firewall_scale_test.cc, ...): the throwaway
// world of bridges, containers and a LAN neighbour, and helpers to read the tables back. An
// anonymous namespace on purpose: each test file gets its own copy.
#pragma once
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

#include "cnm/kernel/firewall.h"
#include "tests/fakes/fake_firewall.h"
#include "tests/firewall_literals.h"
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
  // The common world: bridge nc-fw1 (10.77.1.1/24) with container c1 (10.77.1.2) and, with
  // `second`, c2 (10.77.1.3); then the LAN neighbour nb.
  void one_network(bool second) {
    bridge("nc-fw1", "10.77.1.1/24");
    container("c1", "nc-fw1", "10.77.1.2/24", "10.77.1.1");
    if (second) container("c2", "nc-fw1", "10.77.1.3/24", "10.77.1.1");
    neighbour();
  }
  // Two networks: nc-fw1 with c1 (10.77.1.2), nc-fw2 with c2 (10.77.2.2), the neighbour nb, and
  // TCP port 80 served in c1 and c2.
  void two_networks() {
    bridge("nc-fw1", "10.77.1.1/24");
    bridge("nc-fw2", "10.77.2.1/24");
    container("c1", "nc-fw1", "10.77.1.2/24", "10.77.1.1");
    container("c2", "nc-fw2", "10.77.2.2/24", "10.77.2.1");
    neighbour();
    serve("c1", "c1", "tcp", {80});
    serve("c2", "c2", "tcp", {80});
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
    std::string cmd = in(ns) + "/usr/bin/python3 " + (dir_ / "who.py").string() + " ask " + proto +
                      " " + host + " " + std::to_string(port) + " 2>/dev/null";
    std::string out = priv::sh_status(cmd).out;  // no answer (exit 1) is an outcome to check
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

using testing::ip;
using testing::kRootId;
using testing::net;

PortMapping tcp(uint16_t host, uint16_t container, uint16_t count = 1) {
  return PortMapping{std::nullopt, host, container, count, Proto::kTcp};
}

void apply(Firewall& fw, const FirewallChange& c) {
  auto st = fw.apply(c);
  REQUIRE_MESSAGE(st, st.error().message);
}

std::string save() { return sh("iptables-legacy-save | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'"); }

// The two firewall backends: traffic scenarios run against each in turn, each in a fresh netns.
enum class Backend { kIptc, kNft };
inline constexpr Backend kBackends[] = {Backend::kIptc, Backend::kNft};

[[maybe_unused]] const char* backend_name(Backend b) {
  return b == Backend::kIptc ? "iptables (libiptc)" : "nftables";
}

[[maybe_unused]] std::unique_ptr<Firewall> make_firewall(Backend b,
                                                         const std::string& root = kRootId) {
  return b == Backend::kIptc ? make_iptc_firewall(root) : make_nft_firewall(root);
}

// `nft list table` of root `root`'s table ("" when there is none).
[[maybe_unused]] std::string nft_table(const std::string& root = kRootId) {
  return priv::sh_status("nft list table inet netctl-" + root + " 2>/dev/null").out;
}

// What a backend holds, as its own tool prints it: iptables-save or the root's nft table.
[[maybe_unused]] std::string save(Backend b) { return b == Backend::kIptc ? save() : nft_table(); }

// Takes out the raw guard behind the firewall's back.
[[maybe_unused]] void flush_guard(Backend b) {
  REQUIRE(sh_rc(b == Backend::kIptc
                    ? "iptables-legacy -t raw -F NETCTL-RAW"
                    : std::string("nft flush chain inet netctl-") + kRootId + " raw") == 0);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Every entry of every chain of `table` as bytes, counters and kernel bookkeeping left out and
// names cut at their NUL (libiptc leaves stale bytes after it).
[[maybe_unused]] std::map<std::string, std::vector<std::string>> entries(const char* table) {
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

[[maybe_unused]] FirewallChange sample() {
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

}  // namespace
}  // namespace cnm::kernel

// The fakes of tests/fakes against the Linux adapters: each scenario is written once, run on both,
// and the outcomes (success or the error's Code of every call, what exists afterwards) must be the
// same, and as expected. A fake that drifts from the kernel fails here, not in production.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/fd.h"
#include "cnm/kernel/hostports.h"
#include "cnm/kernel/links.h"
#include "tests/fakes/fake_endpoints.h"
#include "tests/fakes/fake_hostports.h"
#include "tests/fakes/fake_links.h"
#include "tests/literals.h"
#include "tests/priv/priv.h"

namespace cnm::kernel {
namespace {

using testing::ip;
using testing::pfx;
using Outcomes = std::vector<std::string>;

// One world of adapters, and what a scenario needs done outside of them.
struct ParitySide {
  Links* links = nullptr;
  Namespaces* nss = nullptr;
  Endpoints* eps = nullptr;
  HostPorts* ports = nullptr;
  // Starts a process inside the namespace at `path`; returns its /proc/N/ns/net.
  std::function<std::string(const std::string&)> spawn_in;
  // Ends that process.
  std::function<void(const std::string&)> end_process;
  // Makes `port`/tcp held on every address.
  std::function<void(uint16_t)> occupy;
  Outcomes out;

  void note(const std::string& what, const Status& st) {
    out.push_back(what + ": " + (st ? "ok" : fmt::format("code {}", int(st.error().code))));
  }
  // Whether host link `name` exists, waiting up to 5 s for it to become `want` (the kernel frees a
  // namespace, and its veths, asynchronously once the last reference is gone).
  bool link_is(const std::string& name, bool want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      auto l = links->get(name);
      bool there = l && l->has_value();
      if (there == want || std::chrono::steady_clock::now() > deadline) return there;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void note_link(const std::string& name, bool want) {
    out.push_back(name + (link_is(name, want) ? " exists" : " gone"));
  }
};

struct FakeParitySide : ParitySide {
  FakeLinks fl;
  FakeNamespaces fn;
  FakeEndpoints fe{fl, fn};
  FakeHostPorts fp{&fl};
  int next_pid = 90001;
  FakeParitySide() {
    links = &fl;
    nss = &fn;
    eps = &fe;
    ports = &fp;
    spawn_in = [this](const std::string& path) {  // another path to the same namespace
      std::string proc = fmt::format("/proc/{}/ns/net", next_pid++);
      REQUIRE(fn.identify(path));
      fn.netns[proc] = fn.netns.at(path);
      fn.ids[proc] = fn.ids.at(path);
      return proc;
    };
    end_process = [this](const std::string& proc) { REQUIRE(fn.remove(proc)); };
    occupy = [this](uint16_t port) { fp.held[fmt::format("tcp/{}", port)] = "pid 1 (init)"; };
  }
};

struct LinuxParitySide : ParitySide {
  priv::FreshNetns fresh;
  std::unique_ptr<Links> ll = make_linux_links(priv::kMark);
  std::unique_ptr<Namespaces> ln = make_linux_namespaces(priv::kMark);
  std::unique_ptr<Endpoints> le = make_linux_endpoints(priv::kMark);
  std::unique_ptr<HostPorts> lp = make_linux_host_ports();
  std::vector<Fd> sockets;
  LinuxParitySide() {
    links = ll.get();
    nss = ln.get();
    eps = le.get();
    ports = lp.get();
    spawn_in = [this](const std::string& path) {
      std::string name = path.substr(path.rfind('/') + 1);
      std::string pid = priv::sh("ip netns exec " + name + " sleep 60 >/dev/null & echo $!");
      std::string proc = "/proc/" + pid.substr(0, pid.find('\n')) + "/ns/net";
      auto want = ln->identify(path);
      REQUIRE(want);
      for (int i = 0; i < 500 && ln->identify(proc).value_or(NetnsId{}) != *want; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // until `ip` has entered
      REQUIRE(ln->identify(proc).value_or(NetnsId{}) == *want);
      return proc;
    };
    end_process = [](const std::string& proc) {
      REQUIRE(priv::sh_rc("kill " + proc.substr(6, proc.find("/ns") - 6)) == 0);
    };
    occupy = [this](uint16_t port) {
      Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      REQUIRE(bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
      REQUIRE(listen(s.get(), 1) == 0);
      sockets.push_back(std::move(s));
    };
  }
  ~LinuxParitySide() {
    for (const auto& p : {"/run/netns/par-a", "/run/netns/par-h", "/run/netns/par-p"})
      (void)ln->remove(p);
  }
};

// Runs `scenario` on the fakes and on the kernel; both must give `expected`.
void run_on_both(const std::function<void(ParitySide&)>& scenario, const Outcomes& expected) {
  FakeParitySide fake;
  scenario(fake);
  LinuxParitySide linux_side;
  scenario(linux_side);
  auto join = [](const Outcomes& o) {
    std::string s;
    for (const std::string& line : o) s += "\n  " + line;
    return s;
  };
  CHECK_MESSAGE(fake.out == expected, "fakes:", join(fake.out));
  CHECK_MESSAGE(linux_side.out == expected, "kernel:", join(linux_side.out));
}

EndpointSpec parity_spec(const std::string& host, const std::string& path,
                         const std::string& ifname, const char* addr,
                         std::vector<IpAddr> gateways) {
  EndpointSpec s;
  s.host_ifname = host;
  s.bridge = "nc-par";
  s.netns_path = path;
  s.ifname = ifname;
  s.addresses = {pfx(addr)};
  s.gateways = std::move(gateways);
  s.announce = false;
  return s;
}

void parity_bridge(ParitySide& w) {
  std::vector<Prefix> gw{pfx("10.77.0.1/24"), pfx("fd00:77::1/64")};
  REQUIRE(w.links->create_bridge("nc-par", 1500, gw));
}

TEST_CASE("parity: one default route per family and namespace") {
  run_on_both(
      [](ParitySide& w) {
        parity_bridge(w);
        const std::string a = "/run/netns/par-a";
        REQUIRE(w.nss->create(a));
        IpAddr gw = ip("10.77.0.1"), gw6 = ip("fd00:77::1");
        w.note("eth0 via gw",
               w.eps->attach(parity_spec("nvpar1", a, "eth0", "10.77.0.2/24", {gw})));
        w.note("eth1 via gw",
               w.eps->attach(parity_spec("nvpar2", a, "eth1", "10.77.0.3/24", {gw})));
        w.note_link("nvpar2", false);
        w.note("eth1", w.eps->attach(parity_spec("nvpar2", a, "eth1", "10.77.0.3/24", {})));
        w.note("eth1 gets gw", w.eps->add_default_routes(a, "eth1", std::vector{gw}));
        w.note("eth1 off-link gw",
               w.eps->add_default_routes(a, "eth1", std::vector{ip("10.9.0.1")}));
        w.note("eth2 via gw6",
               w.eps->attach(parity_spec("nvpar3", a, "eth2", "fd00:77::3/64", {gw6})));
        w.note("eth3 via gw6",
               w.eps->attach(parity_spec("nvpar4", a, "eth3", "fd00:77::4/64", {gw6})));
        // The route goes with eth0; then eth1 can take it, and holds it.
        REQUIRE(w.links->delete_links(std::vector<std::string>{"nvpar1"}));
        w.note("eth1 takes gw", w.eps->add_default_routes(a, "eth1", std::vector{gw}));
        w.note("eth4 via gw",
               w.eps->attach(parity_spec("nvpar5", a, "eth4", "10.77.0.5/24", {gw})));
        w.note("no eth9", w.eps->add_default_routes(a, "eth9", std::vector{gw}));
        w.note("no netns",
               w.eps->add_default_routes("/run/netns/par-none", "eth1", std::vector{gw}));
      },
      {"eth0 via gw: ok", "eth1 via gw: code 4", "nvpar2 gone", "eth1: ok", "eth1 gets gw: ok",
       "eth1 off-link gw: code 1", "eth2 via gw6: ok", "eth3 via gw6: code 4", "eth1 takes gw: ok",
       "eth4 via gw: code 4", "no eth9: code 3", "no netns: code 3"});
}

TEST_CASE("parity: a held namespace outlives its path, with its veths") {
  run_on_both(
      [](ParitySide& w) {
        parity_bridge(w);
        const std::string h = "/run/netns/par-h", p = "/run/netns/par-p";
        REQUIRE(w.nss->create(h));
        REQUIRE(w.eps->attach(parity_spec("nvparh", h, "eth0", "10.77.0.2/24", {})));
        auto held = w.nss->hold(h);
        w.note("hold", held ? Status{} : Status(std::unexpected(held.error())));
        w.note("remove", w.nss->remove(h));
        auto id = w.nss->identify(h);
        w.note("identify", id ? Status{} : Status(std::unexpected(id.error())));
        w.note_link("nvparh", true);
        w.note("create again", w.nss->create(h));
        held = fail(Code::kNotFound, "released");  // the last reference goes
        w.note_link("nvparh", false);

        // A process inside keeps it too; its exit ends it.
        REQUIRE(w.nss->create(p));
        REQUIRE(w.eps->attach(parity_spec("nvparp", p, "eth0", "10.77.0.3/24", {})));
        std::string proc = w.spawn_in(p);
        w.note("remove with a process", w.nss->remove(p));
        w.note_link("nvparp", true);
        auto ifs = w.nss->interfaces(proc);
        std::string inside = "inside:";
        for (const std::string& name : ifs.value_or(std::vector<std::string>{"?"}))
          inside += " " + name;
        w.out.push_back(inside);
        w.end_process(proc);
        w.note_link("nvparp", false);
      },
      {"hold: ok", "remove: ok", "identify: code 3", "nvparh exists", "create again: ok",
       "nvparh gone", "remove with a process: ok", "nvparp exists", "inside: lo eth0",
       "nvparp gone"});
}

TEST_CASE("parity: host ports are probed only on addresses of this host") {
  run_on_both(
      [](ParitySide& w) {
        std::vector<Prefix> addr{pfx("198.51.100.1/24")};
        REQUIRE(w.links->create_bridge("nc-parhp", 1500, addr));
        auto probe = [&](const char* what, Proto proto, std::optional<IpAddr> at, uint16_t port) {
          auto who = w.ports->holder(proto, at, port);
          if (!who) return w.note(what, std::unexpected(who.error()));
          w.out.push_back(fmt::format("{}: {}", what, who->empty() ? "free" : "held"));
        };
        probe("any", Proto::kTcp, std::nullopt, 18080);
        probe("bridge address", Proto::kTcp, ip("198.51.100.1"), 18080);
        probe("loopback", Proto::kUdp, ip("127.0.0.1"), 18080);
        probe("loopback6", Proto::kTcp, ip("::1"), 18080);
        probe("not local", Proto::kTcp, ip("203.0.113.9"), 18080);
        probe("not local udp", Proto::kUdp, ip("198.51.100.2"), 18080);
        probe("not local6", Proto::kTcp, ip("2001:db8::5"), 18080);
        w.occupy(18081);
        probe("occupied", Proto::kTcp, std::nullopt, 18081);
        probe("occupied on the bridge", Proto::kTcp, ip("198.51.100.1"), 18081);
        probe("occupied, udp", Proto::kUdp, std::nullopt, 18081);
      },
      {"any: free", "bridge address: free", "loopback: free", "loopback6: free",
       "not local: code 2", "not local udp: code 2", "not local6: code 2", "occupied: held",
       "occupied on the bridge: held", "occupied, udp: free"});
}

TEST_CASE("parity: bridges are made once, listed with their addresses, deleted idempotently") {
  run_on_both(
      [](ParitySide& w) {
        std::vector<Prefix> addr{pfx("198.51.100.1/24")};
        w.note("create", w.links->create_bridge("nc-parlk", 1400, addr));
        w.note("create again", w.links->create_bridge("nc-parlk", 1400, addr));
        auto l = w.links->get("nc-parlk");
        REQUIRE(l);
        REQUIRE(l->has_value());
        const LinkInfo& b = **l;
        w.out.push_back(fmt::format("get: {} mtu {} up {} {}", b.kind, b.mtu, b.up,
                                    b.addresses.empty() ? "-" : b.addresses[0].str()));
        auto all = w.links->list();
        REQUIRE(all);
        bool listed = std::any_of(all->begin(), all->end(),
                                  [](const LinkInfo& x) { return x.name == "nc-parlk"; });
        w.out.push_back(fmt::format("listed: {}", listed));
        auto used = w.links->used_prefixes();
        REQUIRE(used);
        bool subnet = std::any_of(used->begin(), used->end(), [](const Prefix& p) {
          return p.str() == "198.51.100.0/24" || p.str() == "198.51.100.1/24";
        });
        w.out.push_back(fmt::format("used prefix: {}", subnet));
        std::vector<std::string> names{"nc-parlk", "nc-parnone"};
        w.note("delete with a missing one", w.links->delete_links(names));
        w.note("delete again", w.links->delete_links(names));
        auto gone = w.links->get("nc-parlk");
        REQUIRE(gone);
        w.out.push_back(fmt::format("after delete: {}", gone->has_value() ? "there" : "gone"));
      },
      {"create: ok", "create again: code 4", "get: bridge mtu 1400 up true 198.51.100.1/24",
       "listed: true", "used prefix: true", "delete with a missing one: ok", "delete again: ok",
       "after delete: gone"});
}

}  // namespace
}  // namespace cnm::kernel

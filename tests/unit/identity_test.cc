// Ownership and identity (issue 23): a namespace that got the inode of one that ended is not
// confused with it, and a --mac equal to another address's derived MAC only moves automatic
// allocation on.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/unit/controller_fixture.h"

using cnm::Code;

namespace {

constexpr cnm::kernel::NetnsId kReusedIno{.dev = 4, .ino = 4026539999};

// Networks n1 (10.88.0.0/24) and n2 (10.89.0.0/24), and processes that each run in their own
// namespace at /proc/<pid>/ns/net.
struct IdentityNets : ControllerFixture {
  IdentityNets() {
    make_network("n1", {"10.88.0.0/24"});
    make_network("n2", {"10.89.0.0/24"});
  }
  static std::string ident_proc(int pid) { return fmt::format("/proc/{}/ns/net", pid); }
  // Process `pid` (started at `pid`) in a new namespace that has identity `id`.
  void ident_start(int pid, cnm::kernel::NetnsId id) {
    namespaces.netns[ident_proc(pid)] = {"lo"};
    namespaces.ids[ident_proc(pid)] = id;
    namespaces.starts[pid] = static_cast<uint64_t>(pid);
  }
  // The process exits: its namespace ends, and with it every veth pair it held.
  void ident_exit(int pid) { REQUIRE(namespaces.remove(ident_proc(pid))); }
  std::vector<std::string> ident_targets() {
    auto eps = ctl->endpoints({});
    REQUIRE(eps);
    std::vector<std::string> out;
    for (const auto& e : *eps) out.push_back(e.target);
    std::sort(out.begin(), out.end());
    return out;
  }
  cnm::Result<cnm::Endpoint> ident_connect(const std::string& net, int pid,
                                           const std::string& mac = "") {
    auto r = connect_req(net, fmt::format("pid:{}", pid));
    r.mac = mac;
    return ctl->connect(r);
  }
};

}  // namespace

TEST_CASE("a namespace with the inode of an ended one is attached; the ended one's records go") {
  IdentityNets f;
  f.ident_start(500, kReusedIno);
  auto published = connect_req("n1", "pid:500");
  published.publish = {"8080:80"};
  auto old1 = f.ctl->connect(published);
  REQUIRE(old1);
  REQUIRE(f.ident_connect("n2", 500));
  f.ident_exit(500);
  CHECK_FALSE(f.links.links.contains(old1->host_ifname));

  f.ident_start(501, kReusedIno);  // the kernel hands the freed inode to the next namespace
  auto ep = f.ident_connect("n1", 501);
  REQUIRE(ep);  // before: "pid:501 is already connected to network n1"
  CHECK(ep->ifname == "eth0");
  CHECK(ep->default_route);  // the ended namespace's route is not this one's
  CHECK(ep->addresses.at(0).str() == "10.88.0.3/24");  // .2 was still held while planning
  CHECK(f.ident_targets() == std::vector<std::string>{"pid:501@501"});
  CHECK(f.address_count() == 2);  // its address and MAC; the old rows and port went too
  CHECK(f.intent_count() == 0);
  auto d = f.ctl->doctor();
  REQUIRE(d);
  CHECK(d->empty());
  // The released address is found again: the hint came down with the drop.
  f.ident_start(502, {.dev = 4, .ino = 4026538888});
  auto next = f.ident_connect("n1", 502);
  REQUIRE(next);
  CHECK(next->addresses.at(0).str() == "10.88.0.2/24");
  // A record whose namespace is alive still refuses a second connect.
  auto again = f.ident_connect("n1", 501);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Code::kConflict);
  CHECK(again.error().message == "pid:501 is already connected to network n1");
}

TEST_CASE("twenty namespaces in a row on one reused inode, never disconnected, all attach") {
  IdentityNets f;
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    f.ident_start(600 + i, kReusedIno);
    REQUIRE(f.ident_connect("n1", 600 + i));
    f.ident_exit(600 + i);
  }
  CHECK(f.endpoint_count() == 1);  // only the last one's record is left, for gc
  auto d = f.ctl->doctor();
  REQUIRE(d);
  CHECK(d->dead_endpoints.size() == 1);
  REQUIRE(f.ctl->gc());
  CHECK(f.ctl->doctor()->empty());
  CHECK(f.address_count() == 0);
}

TEST_CASE("disconnecting a namespace never removes the records of an ended one with its inode") {
  IdentityNets f;
  f.ident_start(700, kReusedIno);
  REQUIRE(f.ident_connect("n2", 700));
  f.ident_exit(700);
  f.ident_start(701, kReusedIno);
  REQUIRE(f.ctl->disconnect("n2", "pid:701"));  // not connected: nothing to do
  CHECK(f.ident_targets() == std::vector<std::string>{"pid:700@700"});  // before: removed
  REQUIRE(f.ctl->disconnect("n2", "pid:700"));  // the record's own target removes it
  CHECK(f.endpoint_count() == 0);
  CHECK(f.address_count() == 0);
}

TEST_CASE("a --mac equal to a free address's derived MAC moves allocation past that address") {
  IdentityNets f;
  for (int pid = 800; pid < 830; ++pid) f.ident_start(pid, {.dev = 4, .ino = 4026531000u + pid});
  REQUIRE(f.ident_connect("n1", 800));                           // 10.88.0.2
  auto taker = f.ident_connect("n1", 801, "02:42:0A:58:00:04");  // 10.88.0.3, .4's MAC
  REQUIRE(taker);
  CHECK(taker->addresses.at(0).str() == "10.88.0.3/24");
  std::vector<std::string> got, macs;
  for (int pid = 802; pid < 806; ++pid) {
    auto ep = f.ident_connect("n1", pid);
    REQUIRE(ep);  // before: "MAC address 02:42:0a:58:00:04 is already in use on network n1"
    got.push_back(ep->addresses.at(0).str());
    macs.push_back(ep->mac);
  }
  CHECK(got ==
        std::vector<std::string>{"10.88.0.5/24", "10.88.0.6/24", "10.88.0.7/24", "10.88.0.8/24"});
  CHECK(macs == std::vector<std::string>{"02:42:0a:58:00:05", "02:42:0a:58:00:06",
                                         "02:42:0a:58:00:07", "02:42:0a:58:00:08"});
  // The holder leaves: .4 is allocatable again, and the hint knows it.
  REQUIRE(f.ctl->disconnect("n1", "pid:801"));
  auto back = f.ident_connect("n1", 806);
  REQUIRE(back);
  CHECK(back->addresses.at(0).str() == "10.88.0.3/24");
  auto four = f.ident_connect("n1", 807);
  REQUIRE(four);
  CHECK(four->addresses.at(0).str() == "10.88.0.4/24");
  CHECK(four->mac == "02:42:0a:58:00:04");
  // An explicit --ip whose derived MAC is taken is still a conflict: that address was asked for.
  REQUIRE(f.ident_connect("n1", 808, "02:42:0a:58:00:20"));
  auto wanted = connect_req("n1", "pid:809");
  wanted.ip = "10.88.0.32";
  auto r = f.ctl->connect(wanted);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Code::kConflict);
}

TEST_CASE("MAC-blocked candidates beyond the hint's probes are skipped by the full read too") {
  IdentityNets f;
  for (int pid = 900; pid < 920; ++pid) f.ident_start(pid, {.dev = 4, .ino = 4026532000u + pid});
  REQUIRE(f.ident_connect("n1", 900));  // 10.88.0.2; the hint is .3
  for (int k = 0; k < 10; ++k) {        // .100-.109 take the MACs of .3-.12
    auto r = connect_req("n1", fmt::format("pid:{}", 901 + k));
    r.ip = fmt::format("10.88.0.{}", 100 + k);
    r.mac = cnm::mac_from(*cnm::IpAddr::parse(fmt::format("10.88.0.{}", 3 + k)));
    REQUIRE(f.ctl->connect(r));
  }
  auto ep = f.ident_connect("n1", 911);
  REQUIRE(ep);
  CHECK(ep->addresses.at(0).str() == "10.88.0.13/24");
  CHECK(ep->mac == "02:42:0a:58:00:0d");
}

namespace {

// n1 with the record of pid 500 (a published port), whose namespace ended; pid 501 now has the
// inode. Returns the steps taken so far.
int ident_stale_setup(IdentityNets& f) {
  f.ident_start(500, kReusedIno);
  auto published = connect_req("n1", "pid:500");
  published.publish = {"8080:80"};
  REQUIRE(f.ctl->connect(published));
  f.ident_exit(500);
  f.ident_start(501, kReusedIno);
  return f.steps.steps;
}

bool ident_peer_in(IdentityNets& f, const std::string& path) {
  for (const auto& [host, peer] : f.endpoints.peers)
    if (peer.first == path) return true;
  return false;
}

}  // namespace

TEST_CASE("a failure at any kernel step of an attach that drops stale records makes nothing") {
  int total = 0;
  {
    IdentityNets f;
    int before = ident_stale_setup(f);
    REQUIRE(f.ident_connect("n1", 501));
    total = f.steps.steps - before;
  }
  REQUIRE(total >= 2);
  for (int k = 1; k <= total; ++k) {
    CAPTURE(k);
    IdentityNets f;
    f.steps.fail_at = ident_stale_setup(f) + k;
    auto r = f.ident_connect("n1", 501);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kFailed);
    CHECK_FALSE(ident_peer_in(f, IdentityNets::ident_proc(501)));
    auto targets = f.ident_targets();
    CHECK(std::find(targets.begin(), targets.end(), "pid:501@501") == targets.end());
    // The next command finishes or redoes it: the new namespace attached, the old record gone.
    f.steps.fail_at = 0;
    REQUIRE(f.ident_connect("n1", 501));
    CHECK(f.ident_targets() == std::vector<std::string>{"pid:501@501"});
    CHECK(f.address_count() == 2);
    CHECK(f.intent_count() == 0);
    auto d = f.ctl->doctor();
    REQUIRE(d);
    CHECK(d->empty());
  }
}

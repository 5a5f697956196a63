// Target resolution (cnm/endpoint/target.cc): netctl's own namespace is never attached, a pid is
// bound to its process start time, a namespace that changes between resolution and attach is not
// joined; and error lines escape control characters (cnm::printable).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/controller_fixture.h"

using cnm::Code;

namespace {

constexpr const char* kTgtProc = "/proc/4242/ns/net";

// Network n1 (10.88.0.0/24) and the namespace of process 4242.
struct TargetNet : ControllerFixture {
  TargetNet() {
    make_network("n1", {"10.88.0.0/24"});
    namespaces.netns[kTgtProc] = {"lo"};
  }
  // Nothing attached: no veth, no record, no address.
  void check_untouched() {
    CHECK(links.links.size() == 1);  // the bridge
    CHECK(endpoints.peers.empty());
    CHECK(endpoint_count() == 0);
    CHECK(address_count() == 0);
    CHECK(intent_count() == 0);
  }
  std::vector<std::string> targets_on_n1() {
    auto n = ctl->network("n1");
    REQUIRE(n);
    auto eps = ctl->endpoints({.parent = n->id});
    REQUIRE(eps);
    std::vector<std::string> out;
    for (const auto& e : *eps) out.push_back(e.target);
    std::sort(out.begin(), out.end());
    return out;
  }
};

}  // namespace

TEST_CASE("netctl's own namespace is refused as an attach target, by pid and by path") {
  TargetNet f;
  f.namespaces.netns["/proc/self/ns/net"] = {"lo"};
  f.namespaces.ids["/proc/self/ns/net"] = f.namespaces.own_id;
  f.namespaces.ids[kTgtProc] = f.namespaces.own_id;  // pid 4242 runs in netctl's namespace
  for (const char* target : {"pid:4242", "/proc/self/ns/net", kTgtProc}) {
    CAPTURE(target);
    auto r = f.ctl->connect(connect_req("n1", target));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kInvalid);
    CHECK(r.error().message == fmt::format("target {} is netctl's own network namespace", target));
  }
  cnm::ConnectRequest cni = connect_req("n1", "/proc/self/ns/net");
  cni.ifname = "eth0";
  auto r = f.ctl->cni_add(cni, "c1");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Code::kInvalid);
  CHECK(r.error().message.starts_with("CNI_NETNS: "));
  CHECK(r.error().subject == cnm::Subject::kNetns);  // the plugin's kInvalidEnvironment
  f.check_untouched();
  // Disconnect is never refused: an endpoint whose namespace is netctl's own by now goes.
  f.namespaces.ids[kTgtProc] = cnm::kernel::NetnsId{.dev = 4, .ino = 55};
  REQUIRE(f.ctl->connect(connect_req("n1", kTgtProc)));
  f.namespaces.ids[kTgtProc] = f.namespaces.own_id;
  REQUIRE(f.ctl->disconnect("n1", kTgtProc));
  CHECK(f.endpoint_count() == 0);
  CHECK(f.address_count() == 0);
}

TEST_CASE("a pid target is keyed by its start time; a reused pid is another process") {
  TargetNet f;
  f.namespaces.starts[4242] = 100;
  auto first = f.ctl->connect(connect_req("n1", "pid:4242"));
  REQUIRE(first);
  CHECK(first->target == "pid:4242@100");
  // 4242 exits; another process in another namespace gets the pid.
  f.namespaces.starts[4242] = 200;
  f.namespaces.ids[kTgtProc] = cnm::kernel::NetnsId{.dev = 4, .ino = 77};
  auto again = f.ctl->connect(connect_req("n1", "pid:4242@100"));
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Code::kNotFound);
  CHECK(f.endpoint_count() == 1);
  // `pid:4242` is the new process: the old one's record is not its.
  REQUIRE(f.ctl->disconnect("n1", "pid:4242"));
  CHECK(f.targets_on_n1() == std::vector<std::string>{"pid:4242@100"});
  REQUIRE(f.ctl->disconnect("n1", "pid:4242@100"));
  CHECK(f.endpoint_count() == 0);
  CHECK(f.ctl->connect(connect_req("n1", "pid:4242@0")).error().code == Code::kInvalid);
  CHECK(f.ctl->connect(connect_req("n1", "pid:4242@x")).error().code == Code::kInvalid);

  // disconnect pid:N also finds records keyed "pid:N" (written before) and, once no process has
  // the pid, every pid:N@... one.
  f.namespaces.starts.erase(4242);
  REQUIRE(f.ctl->connect(connect_req("n1", "pid:4242")));  // no start known: "pid:4242", as before
  f.namespaces.starts[4242] = 100;
  CHECK(f.targets_on_n1() == std::vector<std::string>{"pid:4242"});
  REQUIRE(f.ctl->disconnect("n1", "pid:4242"));  // the process is there: its key and the old one
  CHECK(f.endpoint_count() == 0);
  REQUIRE(f.ctl->connect(connect_req("n1", "pid:4242")));
  REQUIRE(f.namespaces.remove(kTgtProc));  // it exited: every pid:4242@... record is a dead one
  REQUIRE(f.ctl->disconnect("n1", "pid:4242"));
  CHECK(f.endpoint_count() == 0);
  CHECK(f.address_count() == 0);
}

TEST_CASE("a namespace that changes between resolution and attach is not joined") {
  TargetNet f;
  f.namespaces.after_hold = [&](const std::string& path) {
    f.namespaces.ids[path] = cnm::kernel::NetnsId{.dev = 4, .ino = 99};
  };
  auto r = f.ctl->connect(connect_req("n1", "pid:4242"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Code::kNotFound);
  CHECK(f.namespaces.netns.at(kTgtProc) == std::set<std::string>{"lo"});
  f.check_untouched();
}

TEST_CASE("printable escapes every control character and keeps the rest") {
  CHECK(cnm::printable("plain name-1.x") == "plain name-1.x");
  CHECK(cnm::printable("bad\nname\x1b[31m") == "bad\\nname\\x1b[31m");
  CHECK(cnm::printable(std::string("a\0b\tc\rd\x7f\x1f", 9)) == "a\\x00b\\tc\\rd\\x7f\\x1f");
  CHECK(cnm::printable("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 stays
}

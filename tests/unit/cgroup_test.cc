// cnm/launcher/cgroup: the v2 implementation against a fake cgroupfs tree in a temporary
// directory, the v1 layout, detection, leaves named after the state root, and the --memory/--cpus
// parsers.
#include "cnm/launcher/cgroup.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using cnm::Code;
using cnm::launcher::Limits;

namespace {

// A temporary directory shaped like a cgroup2 mount, removed at the end of the test.
struct FakeTree {
  fs::path root;
  FakeTree() {
    char tmpl[] = "/tmp/netctl-cgroup-test.XXXXXX";
    root = mkdtemp(tmpl);
    put("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    put("cgroup.subtree_control", "");
  }
  ~FakeTree() { fs::remove_all(root); }
  void put(const fs::path& rel, const std::string& text) const {
    std::ofstream(root / rel) << text;
  }
  std::string get(const fs::path& rel) const {
    std::ifstream f(root / rel);
    return {std::istreambuf_iterator<char>(f), {}};
  }
};

const std::string kId(64, 'a');
const std::string kRoot = "0123abcd";         // the state root's id: the leaf prefix
const std::string kLeaf = kRoot + "-" + kId;  // the container's directory under the parent

}  // namespace

TEST_CASE("cgroup v2: create writes limits and enables controllers down the tree") {
  FakeTree t;
  auto cg = cnm::launcher::make_cgroups(t.root.string(), "netctl-test", kRoot);
  REQUIRE(cg->version() == "v2");
  Limits l;
  l.memory = 64 << 20;
  l.cpus = 1.5;
  l.pids = 100;
  REQUIRE(cg->create(kId, l));
  CHECK(t.get("cgroup.subtree_control") == "+memory +cpu +pids");
  auto dir = fs::path("netctl-test") / kLeaf;
  CHECK(t.get(dir / "memory.max") == std::to_string(64 << 20));
  CHECK(t.get(dir / "memory.swap.max") == "0");
  CHECK(t.get(dir / "cpu.max") == "150000 100000");
  CHECK(t.get(dir / "pids.max") == "100");
  CHECK(cg->dirs(kId) == std::vector<std::string>{(t.root / dir).string()});
  CHECK(cg->list() == std::vector<std::string>{kId});
}

TEST_CASE("cgroup v2: no limits writes no limit files") {
  FakeTree t;
  auto cg = cnm::launcher::make_cgroups_v2(t.root.string(), "p", kRoot);
  REQUIRE(cg->create(kId, {}));
  CHECK_FALSE(fs::exists(t.root / "p" / kLeaf / "memory.max"));
  CHECK_FALSE(fs::exists(t.root / "p" / kLeaf / "pids.max"));
}

TEST_CASE("cgroup v2: add, pids, oom_killed from memory.events, remove") {
  FakeTree t;
  auto cg = cnm::launcher::make_cgroups_v2(t.root.string(), "p", kRoot);
  REQUIRE(cg->create(kId, {}));
  REQUIRE(cg->add(kId, 4242));
  CHECK(t.get(fs::path("p") / kLeaf / "cgroup.procs") == "4242");
  CHECK(cg->pids(kId) == std::vector<pid_t>{4242});
  t.put(fs::path("p") / kLeaf / "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n");
  CHECK_FALSE(cg->oom_killed(kId));
  t.put(fs::path("p") / kLeaf / "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n");
  CHECK(cg->oom_killed(kId));
  t.put(fs::path("p") / kLeaf / "cgroup.procs", "");  // the tasks are gone
  REQUIRE(cg->remove(kId));
  CHECK_FALSE(fs::exists(t.root / "p" / kLeaf));
  CHECK(fs::exists(t.root / "p"));  // the parent is shared with other containers
  CHECK(cg->remove(kId));           // removing again is fine
}

TEST_CASE("cgroup v2: a failed limit write removes what was made") {
  FakeTree t;
  auto cg = cnm::launcher::make_cgroups_v2(t.root.string(), "p", kRoot);
  fs::create_directories(t.root / "p" / kLeaf / "pids.max");  // a directory: the write fails
  Limits l;
  l.pids = 10;
  auto r = cg->create(kId, l);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("pids.max") != std::string::npos);
}

TEST_CASE("cgroup v1: one directory per controller with v1 file names") {
  FakeTree t;
  fs::remove(t.root / "cgroup.controllers");  // no unified memory controller: v1
  for (const char* c : {"memory", "cpu", "pids"}) fs::create_directories(t.root / c);
  auto cg = cnm::launcher::make_cgroups(t.root.string(), "n", kRoot);
  REQUIRE(cg->version() == "v1");
  Limits l;
  l.memory = 32 << 20;
  l.cpus = 0.5;
  l.pids = 20;
  REQUIRE(cg->create(kId, l));
  CHECK(t.get(fs::path("memory/n") / kLeaf / "memory.limit_in_bytes") == std::to_string(32 << 20));
  CHECK(t.get(fs::path("cpu/n") / kLeaf / "cpu.cfs_quota_us") == "50000");
  CHECK(t.get(fs::path("cpu/n") / kLeaf / "cpu.cfs_period_us") == "100000");
  CHECK(t.get(fs::path("pids/n") / kLeaf / "pids.max") == "20");
  t.put(fs::path("memory/n") / kLeaf / "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  CHECK(cg->oom_killed(kId));
  CHECK(cg->dirs(kId).size() == 3);
  REQUIRE(cg->remove(kId));
  for (const char* c : {"memory", "cpu", "pids"}) CHECK_FALSE(fs::exists(t.root / c / "n" / kLeaf));
}

TEST_CASE(
    "cgroup v1: devices: deny all, then Docker's allow list; joined and removed with the rest") {
  FakeTree t;
  fs::remove(t.root / "cgroup.controllers");
  for (const char* c : {"memory", "cpu", "pids", "devices"}) fs::create_directories(t.root / c);
  auto cg = cnm::launcher::make_cgroups_v1(t.root.string(), "n", kRoot);
  REQUIRE(cg->create(kId, {}));
  auto dev = fs::path("devices/n") / kLeaf;
  CHECK(t.get(dev / "devices.deny") == "a\n");
  CHECK(t.get(dev / "devices.allow") ==
        "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\n"
        "c 5:0 rwm\nc 5:1 rwm\nc 5:2 rwm\nc 136:* rwm\n");
  REQUIRE(cg->dirs(kId).size() == 4);
  CHECK(cg->dirs(kId)[3] == (t.root / dev).string());
  REQUIRE(cg->add(kId, 77));  // the workload and `netctl exec` join the devices cgroup too
  CHECK(t.get(dev / "cgroup.procs") == "77");
  CHECK(cg->list() == std::vector<std::string>{kId});
  t.put(fs::path("pids/n") / kLeaf / "cgroup.procs", "");  // the tasks are gone
  t.put(dev / "cgroup.procs", "");
  t.put(fs::path("memory/n") / kLeaf / "cgroup.procs", "");
  t.put(fs::path("cpu/n") / kLeaf / "cgroup.procs", "");
  REQUIRE(cg->remove(kId));
  CHECK_FALSE(fs::exists(t.root / dev));
  // A stray devices directory alone is still found by gc.
  fs::create_directories(t.root / "devices/n" / kLeaf);
  CHECK(cg->list() == std::vector<std::string>{kId});
}

TEST_CASE("cgroup leaves: two roots share a parent; each lists and removes only its own") {
  FakeTree t;
  const std::string other = "feedbeef", other_id(64, 'b');
  auto mine = cnm::launcher::make_cgroups_v2(t.root.string(), "shared", kRoot);
  auto theirs = cnm::launcher::make_cgroups_v2(t.root.string(), "shared", other);
  REQUIRE(mine->create(kId, {}));
  REQUIRE(theirs->create(other_id, {}));
  CHECK(fs::is_directory(t.root / "shared" / kLeaf));
  CHECK(fs::is_directory(t.root / "shared" / (other + "-" + other_id)));
  // Not container leaves of this root: an admin's cgroup, a bare 64-hex id (no root named it),
  // this root's prefix with a short, an upper-case or a non-hex id, a prefix without the dash.
  for (const std::string& d :
       {std::string("admin"), std::string(64, 'c'), kRoot + "-" + std::string(63, 'c'),
        kRoot + "-" + std::string(64, 'C'), kRoot + "-" + std::string(64, 'g'),
        kRoot + std::string(64, 'c'), kRoot + "-" + kId + "x"})
    fs::create_directories(t.root / "shared" / d);
  CHECK(mine->list() == std::vector<std::string>{kId});
  CHECK(theirs->list() == std::vector<std::string>{other_id});
  t.put(fs::path("shared") / kLeaf / "cgroup.procs", "");
  REQUIRE(mine->remove(kId));
  CHECK_FALSE(fs::exists(t.root / "shared" / kLeaf));
  CHECK(fs::is_directory(t.root / "shared" / (other + "-" + other_id)));
  CHECK(fs::is_directory(t.root / "shared" / std::string(64, 'c')));
  // The other root's container id through this root's object names this root's leaf only.
  REQUIRE(mine->remove(other_id));
  CHECK(fs::is_directory(t.root / "shared" / (other + "-" + other_id)));
  CHECK(mine->dirs(other_id) ==
        std::vector<std::string>{(t.root / "shared" / (kRoot + "-" + other_id)).string()});
}

TEST_CASE("cgroup leaves: an empty prefix is the bare id of containers older than root ids") {
  FakeTree t;
  fs::remove(t.root / "cgroup.controllers");
  for (const char* c : {"memory", "cpu", "pids"}) fs::create_directories(t.root / c);
  auto legacy = cnm::launcher::make_cgroups(t.root.string(), "n", "");
  REQUIRE(legacy->create(kId, {}));
  for (const char* c : {"memory", "cpu", "pids"}) CHECK(fs::is_directory(t.root / c / "n" / kId));
  CHECK(cnm::launcher::cgroup_leaf("", kId) == kId);
  CHECK(cnm::launcher::cgroup_leaf(kRoot, kId) == kLeaf);
  // A root's own object does not see the bare leaf; the legacy one does not see prefixed leaves.
  auto own = cnm::launcher::make_cgroups(t.root.string(), "n", kRoot);
  CHECK(own->list().empty());
  fs::create_directories(t.root / "pids/n" / (kRoot + "-" + std::string(64, 'e')));
  CHECK(legacy->list() == std::vector<std::string>{kId});
  for (const char* c : {"memory", "cpu", "pids"})
    t.put(fs::path(c) / "n" / kId / "cgroup.procs", "");
  REQUIRE(legacy->remove(kId));
  for (const char* c : {"memory", "cpu", "pids"}) CHECK_FALSE(fs::exists(t.root / c / "n" / kId));
}

TEST_CASE("cgroup parent: env, default, and refusals") {
  unsetenv("NETCTL_CGROUP_PARENT");
  CHECK(*cnm::launcher::cgroup_parent("") == "netctl");
  CHECK(*cnm::launcher::cgroup_parent("custom") == "custom");
  setenv("NETCTL_CGROUP_PARENT", "netctl-test-1", 1);
  CHECK(*cnm::launcher::cgroup_parent("custom") == "netctl-test-1");
  setenv("NETCTL_CGROUP_PARENT", "../escape", 1);
  CHECK(cnm::launcher::cgroup_parent("").error().code == Code::kInvalid);
  setenv("NETCTL_CGROUP_PARENT", "/abs", 1);
  CHECK(cnm::launcher::cgroup_parent("").error().code == Code::kInvalid);
  unsetenv("NETCTL_CGROUP_PARENT");
}

TEST_CASE("--memory and --cpus parsing") {
  using cnm::launcher::parse_cpus;
  using cnm::launcher::parse_memory;
  CHECK(*parse_memory("512m") == 512LL << 20);
  CHECK(*parse_memory("1g") == 1LL << 30);
  CHECK(*parse_memory("8192k") == 8LL << 20);
  CHECK(*parse_memory("10000000") == 10000000);
  for (const char* bad : {"", "m", "12x", "-5m", "1m", "1.5g", "99999999999g"})
    CHECK_MESSAGE(parse_memory(bad).error().code == Code::kInvalid, bad);
  CHECK(*parse_cpus("0.5") == doctest::Approx(0.5));
  CHECK(*parse_cpus("2") == doctest::Approx(2));
  for (const char* bad : {"", "0", "-1", "abc", "1.5x", "5000"})
    CHECK_MESSAGE(parse_cpus(bad).error().code == Code::kInvalid, bad);
}

// cnm/launcher without privileges: the child's mount program as planned, /etc file contents, and
// the cgroup-parent config key.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cnm/core/config.h"
#include "cnm/launcher/spawn.h"

using cnm::launcher::Op;
using cnm::launcher::Plan;
using cnm::launcher::SpawnSpec;

namespace {

SpawnSpec spec() {
  SpawnSpec s;
  s.argv = {"httpd", "-f"};
  s.env = {"PATH=/bin:/usr/bin", "A=b"};
  s.hostname = "web";
  s.dir = "/state/containers/abc";
  s.rootfs = "/images/bb";
  return s;
}

// Index of the first op whose label is `label`, or -1.
int find(const Plan& p, const std::string& label) {
  for (size_t i = 0; i < p.ops().size(); ++i)
    if (p.label(i) == label) return static_cast<int>(i);
  return -1;
}

}  // namespace

TEST_CASE("plan: order of the child's steps") {
  Plan p(spec());
  // The cgroup namespace is unshared first (the launcher moved the child before releasing it);
  // the overlay is mounted first of all mounts; nothing under the container's root is touched
  // before pivot_root (its files are hostile): /proc, /sys, /dev and /etc come after it, the /etc
  // sources are cloned from the container directory before it.
  CHECK(find(p, "unshare the cgroup namespace") == 0);
  int priv = find(p, "make mounts private"), overlay = find(p, "mount the overlay root");
  int open_hosts = find(p, "open /state/containers/abc/hosts");
  int hosts = find(p, "bind /etc/hosts"), dev = find(p, "mount /dev");
  int pivot = find(p, "pivot_root"), proc = find(p, "mount /proc");
  int ro = find(p, "read-only /proc/sys"), kcore = find(p, "mask /proc/kcore");
  for (int i : {priv, overlay, open_hosts, hosts, dev, pivot, proc, ro, kcore}) REQUIRE(i >= 0);
  CHECK(priv < overlay);
  CHECK(overlay < open_hosts);
  CHECK(open_hosts < pivot);
  CHECK(pivot < proc);
  CHECK(pivot < dev);
  CHECK(pivot < hosts);
  CHECK(proc < ro);
  CHECK(proc < kcore);
  CHECK(dev < kcore);  // a masked file is covered by /dev/null
  for (size_t i = static_cast<size_t>(pivot) + 1; i < p.ops().size(); ++i) {
    const Op& o = p.ops()[i];
    for (const char* path : {o.a, o.b})
      CHECK_MESSAGE((!path || !std::string(path).starts_with("/state/")), p.label(i));
  }
  const Op& o = p.ops()[overlay];
  CHECK(std::string(o.d) ==
        "lowerdir=/images/bb,upperdir=/state/containers/abc/upper,workdir=/state/containers/abc/"
        "work");
  CHECK(std::string(p.ops()[pivot].a) == "/state/containers/abc/merged");
  CHECK(std::string(p.ops()[open_hosts].a) == "/state/containers/abc/hosts");
  CHECK(std::string(p.ops()[hosts].b) == "/etc/hosts");
  for (const char* n : {"null", "zero", "full", "random", "urandom", "tty"})
    CHECK_MESSAGE(find(p, std::string("mknod /dev/") + n) > 0, n);
}

TEST_CASE("plan: the stub's argv, then the workload's, and envp") {
  auto s = spec();
  s.report_fd = 9;
  Plan p(s);
  CHECK(std::string(p.argv()[0]) == "httpd");
  CHECK(std::string(p.argv()[1]) == "-f");
  CHECK(p.argv()[2] == nullptr);
  std::vector<std::string> dmz;
  for (char* const* a = p.dmz_argv(); *a; ++a) dmz.push_back(*a);
  CHECK(dmz == std::vector<std::string>{"netctl-dmz", "exec", "9", std::to_string(p.exec_step()),
                                        "httpd", "-f"});
  CHECK(std::string(p.envp()[1]) == "A=b");
  CHECK(p.envp()[2] == nullptr);
  CHECK(p.seccomp() == nullptr);  // no program: unconfined
}

TEST_CASE("plan: without a rootfs the lower layer is the container's empty dir plus host binds") {
  auto s = spec();
  s.rootfs.clear();
  s.host_ro = {"/usr"};
  Plan p(s);
  int overlay = find(p, "mount the overlay root");
  CHECK(std::string(p.ops()[overlay].d).starts_with("lowerdir=/state/containers/abc/lower,"));
  int bind = find(p, "bind /usr"), ro = find(p, "read-only /usr");
  REQUIRE(bind > overlay);
  CHECK(ro == bind + 1);
  CHECK(std::string(p.ops()[bind].b) == "/state/containers/abc/merged/usr");
}

TEST_CASE("/etc/hosts and resolv.conf contents") {
  CHECK(cnm::launcher::hosts_file("web", {"10.0.0.5"}) ==
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.5\tweb\n");
  CHECK(cnm::launcher::resolv_file("nameserver 127.0.0.53\nnameserver 9.9.9.9\nsearch x\n") ==
        "nameserver 9.9.9.9\nsearch x\n");
  CHECK(cnm::launcher::resolv_file("nameserver ::1\n") == "");
}

TEST_CASE("config: cgroup-parent") {
  unsetenv("NETCTL_CGROUP_PARENT");
  char tmpl[] = "/tmp/netctl-config-test.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/ok.yaml") << "cgroup-parent: netctl-ci\n";
  std::ofstream(dir + "/bad.yaml") << "cgroup-parent: ../up\n";
  auto ok = cnm::load_config(dir + "/ok.yaml", true);
  REQUIRE(ok);
  CHECK(ok->cgroup_parent == "netctl-ci");
  auto bad = cnm::load_config(dir + "/bad.yaml", true);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == cnm::Code::kInvalid);
  CHECK(bad.error().message.find("line 1") != std::string::npos);
  std::filesystem::remove_all(dir);
}

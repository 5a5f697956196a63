// Namespaces against the real kernel: bind-mounted network namespaces that iproute2 sees too.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/links.h"
#include "tests/literals.h"
#include "tests/priv/priv.h"

namespace cnm::kernel {
namespace {

using priv::sh;
using priv::sh_rc;

using testing::own_netns;

bool listed(const std::string& name) {
  std::string out = sh("ip netns list");
  return out.find(name + "\n") != std::string::npos || out.find(name + " ") != std::string::npos;
}

TEST_CASE("namespace create, identify, interfaces, remove") {
  priv::FreshNetns ns;
  auto nss = make_linux_namespaces(priv::kMark);
  const std::string path = "/run/netns/t-life";
  std::string before = own_netns();

  REQUIRE(nss->create(path));
  CHECK(own_netns() == before);
  CHECK(listed("t-life"));
  CHECK(sh("ip netns exec t-life ip -o link show lo").find("state UNKNOWN") != std::string::npos);
  CHECK(sh("ip -n t-life -o link show up").find("lo:") != std::string::npos);
  CHECK(sh("ip netns exec t-life cat /proc/net/dev").find("lo:") != std::string::npos);

  auto id = nss->identify(path);
  REQUIRE(id);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK(id->dev == st.st_dev);
  CHECK(id->ino == st.st_ino);
  auto self = nss->identify("/proc/self/ns/net");
  REQUIRE(self);
  CHECK(*self != *id);
  // The same namespace reached through a process inside it has the same identity.
  std::string pid = sh("ip netns exec t-life sh -c 'sleep 5 >/dev/null 2>&1 & echo $!'");
  auto via_pid = nss->identify("/proc/" + pid.substr(0, pid.find('\n')) + "/ns/net");
  REQUIRE(via_pid);
  CHECK(*via_pid == *id);
  sh_rc("kill " + pid.substr(0, pid.find('\n')));

  auto ifs = nss->interfaces(path);
  REQUIRE(ifs);
  CHECK(*ifs == std::vector<std::string>{"lo"});

  auto again = nss->create(path);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Code::kConflict);
  CHECK(again.error().message == "netns /run/netns/t-life: already exists");
  CHECK(nss->identify(path).value_or(NetnsId{}) == *id);  // the existing one is untouched

  REQUIRE(nss->remove(path));
  CHECK_FALSE(listed("t-life"));
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(nss->remove(path));  // already gone: still success
  auto gone = nss->identify(path);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code == Code::kNotFound);
  CHECK(gone.error().message == "network namespace /run/netns/t-life not found");
  auto no_ifs = nss->interfaces(path);
  REQUIRE_FALSE(no_ifs);
  CHECK(no_ifs.error().code == Code::kNotFound);
  CHECK(own_netns() == before);
}

TEST_CASE("namespace create makes missing directories; identify refuses what is no netns") {
  priv::FreshNetns ns;
  auto nss = make_linux_namespaces(priv::kMark);
  const std::string path = "/run/netns/t-deep/a/b";
  REQUIRE(nss->create(path));
  CHECK(nss->identify(path));
  CHECK(nss->interfaces(path).value_or(std::vector<std::string>{}) ==
        std::vector<std::string>{"lo"});
  REQUIRE(nss->remove(path));

  for (std::string other :
       {"/proc/self/ns/mnt", "/etc/hostname", "/run/netns/t-deep", "/dev/null"}) {
    CAPTURE(other);
    auto r = nss->identify(other);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kInvalid);
    CHECK(r.error().message == other + " is not a network namespace");
  }
  // What a crashed create could leave: an empty file with nothing mounted on it.
  REQUIRE(sh_rc("touch /run/netns/t-empty") == 0);
  auto empty = nss->identify("/run/netns/t-empty");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code == Code::kNotFound);
  CHECK(nss->remove("/run/netns/t-empty"));
  CHECK_FALSE(std::filesystem::exists("/run/netns/t-empty"));
  // remove() never deletes a file that is not a namespace mount point.
  REQUIRE(sh_rc("echo keep > /run/netns/t-file") == 0);
  auto refused = nss->remove("/run/netns/t-file");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Code::kInvalid);
  CHECK(std::filesystem::exists("/run/netns/t-file"));
  std::filesystem::remove("/run/netns/t-file");
}

TEST_CASE("namespace mounts propagate to mount namespaces that copied the directory") {
  priv::FreshNetns ns;
  auto nss = make_linux_namespaces(priv::kMark);
  REQUIRE(nss->create("/run/netns/t-first"));  // makes /run/netns a shared mount
  // A mount namespace copied now (propagation unchanged, like a container runtime's) ...
  std::string pid =
      sh("unshare --mount --propagation unchanged sleep 30 >/dev/null 2>&1 & echo $!");
  pid = pid.substr(0, pid.find('\n'));
  REQUIRE(sh_rc("for i in $(seq 50); do [ \"$(readlink /proc/" + pid +
                "/ns/mnt)\" != \"$(readlink /proc/self/ns/mnt)\" ] && exit 0; sleep 0.02; done; "
                "exit 1") == 0);
  // ... sees a namespace created afterwards, and can enter it ...
  REQUIRE(nss->create("/run/netns/t-later"));
  CHECK(sh_rc("nsenter -t " + pid + " -m ip netns exec t-later ip link show lo >/dev/null") == 0);
  // ... and loses it when it is removed, so no stale mount keeps the namespace alive.
  REQUIRE(nss->remove("/run/netns/t-later"));
  CHECK(sh("nsenter -t " + pid + " -m grep -c t-later /proc/self/mountinfo || true") == "0\n");
  sh_rc("kill " + pid);
  CHECK(nss->remove("/run/netns/t-first"));
}

TEST_CASE("remove leaves a namespace this root did not make: another root's, `ip netns add`") {
  priv::FreshNetns ns;
  auto nss = make_linux_namespaces(priv::kMark);
  auto other = make_linux_namespaces(owner_group("12345678"));
  REQUIRE(nss->create("/run/netns/t-mine"));
  CHECK(sh("ip -n t-mine -j -d link show lo").find(std::string("\"group\":\"") + priv::kMarkIp) !=
        std::string::npos);
  REQUIRE(other->create("/run/netns/t-theirs"));
  REQUIRE(sh_rc("ip netns add t-admin") == 0);
  CHECK(nss->remove("/run/netns/t-theirs"));  // success: not ours, left as it is
  CHECK(nss->remove("/run/netns/t-admin"));
  CHECK(listed("t-theirs"));
  CHECK(listed("t-admin"));
  CHECK(nss->identify("/run/netns/t-theirs"));
  CHECK(nss->remove("/run/netns/t-mine"));
  CHECK_FALSE(listed("t-mine"));
  CHECK(other->remove("/run/netns/t-theirs"));
  CHECK_FALSE(listed("t-theirs"));
  CHECK(sh_rc("ip netns del t-admin") == 0);
}

}  // namespace
}  // namespace cnm::kernel

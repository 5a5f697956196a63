// The cgroup device program against the real kernel, on a host in any cgroup mode: Cgroups v2
// makes a container cgroup under the cgroup2 mount (its parent the test's own) and attaches the
// program; a child moved into it opens /dev/null but gets EPERM for nodes outside Docker's list
// (which it may still mknod).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "cnm/launcher/cgroup.h"

namespace {

// The first cgroup2 mount point ("/sys/fs/cgroup/unified" here, "/sys/fs/cgroup" on v2 hosts).
std::string devtest_cgroup2_mount() {
  std::string out;
  if (FILE* f = setmntent("/proc/self/mounts", "r")) {
    while (mntent* m = getmntent(f))
      if (std::string(m->mnt_type) == "cgroup2") {
        out = m->mnt_dir;
        break;
      }
    endmntent(f);
  }
  return out;
}

// A temporary directory for the device nodes, removed at the end of the test.
struct DevtestNodes {
  std::string path;
  ~DevtestNodes() { std::filesystem::remove_all(path); }
};

const std::string kDevtestId(64, 'd');

// A cgroup parent of the test's own under the cgroup2 mount and one container cgroup in it, made
// by Cgroups v2 as `netctl run` makes them; both removed at the end of the test.
struct DevtestCgroup {
  std::string mount, parent = "netctl-priv-devices-" + std::to_string(getpid());
  std::unique_ptr<cnm::launcher::Cgroups> cgs =
      cnm::launcher::make_cgroups_v2(mount, parent, "0123abcd");
  ~DevtestCgroup() {
    (void)cgs->remove(kDevtestId);
    rmdir((mount + "/" + parent).c_str());
  }
};

// The errno of open(path, flags), 0 when it opened.
int devtest_open_errno(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

}  // namespace

TEST_CASE("device program: a task in the cgroup opens /dev/null, not /dev/mem, tun or sda") {
  std::string mount = devtest_cgroup2_mount();
  if (mount.empty()) {
    MESSAGE("skip: no cgroup2 mount in /proc/self/mounts");
    return;
  }
  char tmpl[] = "/tmp/netctl-devtest.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  DevtestNodes nodes{tmpl};
  DevtestCgroup cg{mount};
  // create() attaches the device program (attach_device_program) to the container's cgroup.
  auto made = cg.cgs->create(kDevtestId, {});
  REQUIRE_MESSAGE(made, (made ? "" : made.error().message));

  int go[2], result[2];
  REQUIRE(pipe2(go, O_CLOEXEC) == 0);
  REQUIRE(pipe2(result, O_CLOEXEC) == 0);
  const std::string mem = nodes.path + "/mem", tun = nodes.path + "/tun", sda = nodes.path + "/sda";
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // waits until it is in the cgroup; system calls only
    char c;
    if (read(go[0], &c, 1) != 1) _exit(1);
    int errs[7] = {
        devtest_open_errno("/dev/null", O_RDWR),
        devtest_open_errno("/dev/urandom", O_RDONLY),
        mknod(mem.c_str(), S_IFCHR | 0600, makedev(1, 1)) == 0 ? 0 : errno,
        devtest_open_errno(mem, O_RDONLY),
        mknod(tun.c_str(), S_IFCHR | 0600, makedev(10, 200)) == 0 ? 0 : errno,
        devtest_open_errno(tun, O_RDWR),
        mknod(sda.c_str(), S_IFBLK | 0600, makedev(8, 0)) == 0 ? 0 : errno,
    };
    _exit(write(result[1], errs, sizeof errs) == sizeof errs ? 0 : 1);
  }
  close(go[0]);
  close(result[1]);
  auto moved = cg.cgs->add(kDevtestId, child);
  CHECK(write(go[1], "g", 1) == 1);  // a child that was not moved still reports (and fails)
  close(go[1]);
  int errs[7] = {-1, -1, -1, -1, -1, -1, -1};
  CHECK(read(result[0], errs, sizeof errs) == sizeof errs);
  close(result[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE_MESSAGE(moved, (moved ? "" : moved.error().message));
  CHECK(errs[0] == 0);      // /dev/null
  CHECK(errs[1] == 0);      // /dev/urandom
  CHECK(errs[2] == 0);      // mknod c 1:1 is allowed ...
  CHECK(errs[3] == EPERM);  // ... opening it is not
  CHECK(errs[4] == 0);
  CHECK(errs[5] == EPERM);  // tun (10:200) opens without the program
  CHECK(errs[6] == 0);
  CHECK(devtest_open_errno(tun, O_RDWR) == 0);  // outside the cgroup it opens
  CHECK(devtest_open_errno(sda, O_RDONLY) != EPERM);
}

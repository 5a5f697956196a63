#include "tests/priv/priv.h"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace priv {
namespace {

[[noreturn]] void die(const std::string& doing) {
  throw std::runtime_error(doing + ": " + std::strerror(errno));
}

void set_lo_up() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  int saved = errno;
  close(fd);
  errno = saved;
  if (rc != 0) die("set lo up");
}

void mkdir_p(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    if (mkdir(path.substr(0, i).c_str(), 0755) != 0 && errno != EEXIST) die("mkdir " + path);
  }
}

// A wait status as a shell reports it: the exit code, or 128+N if killed by signal N.
int exit_code(int status) {
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace

FreshNetns::FreshNetns() {
  if (unshare(CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNET)");
  set_lo_up();
}

ShResult sh_status(const std::string& cmd) {
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) die("popen " + cmd);
  ShResult r;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int status = pclose(f);
  if (status == -1) die("pclose " + cmd);
  r.rc = exit_code(status);
  return r;
}

std::string sh(const std::string& cmd) {
  ShResult r = sh_status(cmd);
  if (r.rc != 0)
    throw std::runtime_error("`" + cmd + "` exited " + std::to_string(r.rc) + ", output: " + r.out);
  return r.out;
}

int sh_rc(const std::string& cmd) {
  int status = std::system(cmd.c_str());
  if (status == -1) die("system " + cmd);
  return exit_code(status);
}

void isolate_process() {
  if (unshare(CLONE_NEWNS | CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNS|CLONE_NEWNET)");
  if (mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("make / rprivate");
  mkdir_p("/run/netns");
  if (mount("tmpfs", "/run/netns", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") != 0)
    die("mount tmpfs on /run/netns");
  set_lo_up();
}

}  // namespace priv

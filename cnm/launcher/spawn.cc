// The workload child: a mount program run between clone and exec (see spawn.h).
#include "cnm/launcher/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cnm::launcher {
namespace {

struct Report {
  int step;
  int err;
};

// Steps after the mount program, reported with these numbers past the last op.
enum Tail { kStdio, kCaps, kCreds, kNoNewPrivs, kExec, kTailCount };
constexpr const char* kTailLabels[] = {"stdio", "drop capabilities", "set user", "no_new_privs",
                                       "exec"};

[[noreturn]] void die(int err_fd, int step, int err) {
  Report r{step, err};
  (void)!write(err_fd, &r, sizeof r);
  _exit(127);
}

int run_op(const Op& o) {
  switch (o.kind) {
    case Op::kUnshareCgroup:
      return unshare(CLONE_NEWCGROUP);
    case Op::kHostname:
      return sethostname(o.a, strlen(o.a));
    case Op::kMount:
      return mount(o.a, o.b, o.c, o.flags, o.d);
    case Op::kMkdir:
      return mkdir(o.a, o.mode) == 0 || errno == EEXIST ? 0 : -1;
    case Op::kMknod:
      return mknod(o.a, S_IFCHR | o.mode, o.dev);
    case Op::kSymlink:
      return symlink(o.a, o.b) == 0 || errno == EEXIST ? 0 : -1;
    case Op::kTouch: {
      int fd = open(o.a, O_WRONLY | O_CREAT | O_CLOEXEC, o.mode);
      return fd < 0 ? -1 : close(fd);
    }
    case Op::kPivot:
      // pivot_root(".", "."): the old root is stacked under the new one and unmounted, so the
      // host's root is unreachable afterwards.
      if (chdir(o.a) != 0 || syscall(SYS_pivot_root, ".", ".") != 0) return -1;
      if (umount2(".", MNT_DETACH) != 0) return -1;
      return chdir("/");
    case Op::kChdir:
      return chdir(o.a);
    case Op::kLoopbackUp: {
      int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (s < 0) return -1;
      ifreq ifr = {};
      memcpy(ifr.ifr_name, "lo", 3);
      int r = ioctl(s, SIOCGIFFLAGS, &ifr);
      ifr.ifr_flags |= IFF_UP;
      if (r == 0) r = ioctl(s, SIOCSIFFLAGS, &ifr);
      close(s);
      return r;
    }
  }
  return -1;
}

}  // namespace

int drop_caps(const Plan& plan) {
  for (int cap = 0; cap <= 63; ++cap) {
    if (kDefaultCaps & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -1;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return -1;
  if (plan.spec().uid && *plan.spec().uid != 0) return 0;  // setuid clears them all anyway
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2] = {};
  for (int i = 0; i < 2; ++i) {
    auto bits = static_cast<uint32_t>(kDefaultCaps >> (32 * i));
    d[i].effective = d[i].permitted = d[i].inheritable = bits;
  }
  return static_cast<int>(syscall(SYS_capset, &h, d));
}

int set_creds(const Plan& plan) {
  const auto& s = plan.spec();
  if (!s.uid) return 0;
  if (setgroups(0, nullptr) != 0) return -1;
  if (setresgid(s.gid.value_or(*s.uid), s.gid.value_or(*s.uid), s.gid.value_or(*s.uid)) != 0)
    return -1;
  return setresuid(*s.uid, *s.uid, *s.uid);
}

// execvpe without allocation: tries each PATH directory in a stack buffer.
int exec_search(const Plan& plan) {
  char* const* argv = plan.argv();
  if (strchr(argv[0], '/')) return execve(argv[0], argv, plan.envp());
  int last = ENOENT;
  char buf[4096];
  size_t n = strlen(argv[0]);
  for (const char* dir : plan.path_dirs()) {
    size_t m = strlen(dir);
    if (m + n + 2 > sizeof buf) continue;
    memcpy(buf, dir, m);
    buf[m] = '/';
    memcpy(buf + m + 1, argv[0], n + 1);
    execve(buf, argv, plan.envp());
    if (errno != ENOENT) last = errno;
  }
  errno = last;
  return -1;
}

namespace {

[[noreturn]] void child(const Plan& plan, const Pipes& p) {
  close(p.go_w);
  close(p.err_r);
  char go = 0;
  while (read(p.go_r, &go, 1) < 0 && errno == EINTR) {
  }
  if (go != 'g') _exit(126);  // the launcher gave up before releasing us
  close(p.go_r);
  umask(022);
  const auto& ops = plan.ops();
  for (size_t i = 0; i < ops.size(); ++i)
    if (run_op(ops[i]) != 0) die(p.err_w, static_cast<int>(i), errno);
  int base = static_cast<int>(ops.size());
  const auto& s = plan.spec();
  int fds[3] = {s.stdin_fd, s.stdout_fd, s.stderr_fd};
  for (int i = 0; i < 3; ++i)
    if (fds[i] >= 0 && dup2(fds[i], i) < 0) die(p.err_w, base + kStdio, errno);
  if (drop_caps(plan) != 0) die(p.err_w, base + kCaps, errno);
  if (set_creds(plan) != 0) die(p.err_w, base + kCreds, errno);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die(p.err_w, base + kNoNewPrivs, errno);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  exec_search(plan);
  die(p.err_w, base + kExec, errno);
}

}  // namespace

Result<Pipes> Pipes::make() {
  int go[2], err[2];
  if (pipe2(go, O_CLOEXEC) != 0) return fail(Code::kFailed, "pipe: {}", std::strerror(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(go[0]);
    close(go[1]);
    return fail(Code::kFailed, "pipe: {}", std::strerror(errno));
  }
  return Pipes{go[0], go[1], err[0], err[1]};
}

void Pipes::close_all() {
  for (int* fd : {&go_r, &go_w, &err_r, &err_w})
    if (*fd >= 0) close(std::exchange(*fd, -1));
}

pid_t clone_workload(const Plan& plan, const Pipes& pipes) {
  // The raw system call with no new stack behaves like fork (the child continues here); the cgroup
  // namespace is unshared later, once the launcher has moved the child into its cgroups.
  long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD;
  long pid = syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) child(plan, pipes);
  return pid < 0 ? -errno : static_cast<pid_t>(pid);
}

Status release(const Plan& plan, Pipes& p) {
  for (int* fd : {&p.go_r, &p.err_w})
    if (*fd >= 0) close(std::exchange(*fd, -1));
  char go = 'g';
  if (write(p.go_w, &go, 1) != 1)
    return fail(Code::kFailed, "start container: {}", std::strerror(errno));
  close(std::exchange(p.go_w, -1));
  Report r{};
  ssize_t n;
  while ((n = read(p.err_r, &r, sizeof r)) < 0 && errno == EINTR) {
  }
  close(std::exchange(p.err_r, -1));
  if (n == 0) return {};
  if (n != sizeof r) return fail(Code::kFailed, "start container: the child died before exec");
  size_t ops = plan.ops().size();
  std::string label = r.step >= 0 && static_cast<size_t>(r.step) < ops ? plan.label(r.step)
                      : static_cast<size_t>(r.step) < ops + kTailCount ? kTailLabels[r.step - ops]
                                                                       : "unknown step";
  if (static_cast<size_t>(r.step) == ops + kExec)
    label = fmt::format("exec {}", plan.spec().argv[0]);
  return fail(Code::kFailed, "start container: {}: {}", label, std::strerror(r.err));
}

}  // namespace cnm::launcher

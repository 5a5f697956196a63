// The workload child: a mount program run between clone and exec (see spawn.h).
#include "cnm/launcher/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
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

#include "cnm/kernel/caps.h"

namespace cnm::launcher {
namespace {

struct Report {
  int step;
  int err;
};

// Steps after the mount program, reported with these numbers past the last op.
enum Tail { kStdio, kFds, kCaps, kCreds, kNoNewPrivs, kSeccomp, kExec, kTailCount };
constexpr const char* kTailLabels[] = {"stdio",    "close descriptors", "drop capabilities",
                                       "set user", "no_new_privs",      "seccomp filter",
                                       "exec"};

// The child's detached mounts of the /etc files, made before pivot_root (clone copied the
// memory, so this array is the child's alone).
int g_slots[4] = {-1, -1, -1, -1};

[[noreturn]] void die(int err_fd, int step, int err) {
  Report r{step, err};
  (void)!write(err_fd, &r, sizeof r);
  _exit(127);
}

// A detached bind mount of `path` (open_tree), kept in a slot across pivot_root: a plain bind
// from an fd would need the old root, which is gone by the time the target can be resolved
// safely.
int open_slot(const char* path, unsigned slot) {
  g_slots[slot] =
      static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  return g_slots[slot] < 0 ? -1 : 0;
}

// Attaches the slot's mount at `target`, resolved inside the container's root.
int bind_slot(unsigned slot, const char* target) {
  return static_cast<int>(syscall(SYS_move_mount, g_slots[slot], "", AT_FDCWD, target,
                                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS));
}

int loopback_up() {
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

// Creates a regular file to bind over; a FIFO, device or socket there is refused (O_NONBLOCK: a
// FIFO with no reader fails instead of blocking the launcher).
int touch(const char* path, unsigned mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  struct stat st;
  int r = fstat(fd, &st);
  close(fd);
  if (r == 0 && !S_ISREG(st.st_mode)) errno = EINVAL, r = -1;
  return r;
}

int dir_no_link(const char* path) {
  if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
  struct stat st;
  if (lstat(path, &st) != 0) return -1;
  if (!S_ISDIR(st.st_mode)) errno = ENOTDIR;
  return S_ISDIR(st.st_mode) ? 0 : -1;
}

int mask(const char* path) {
  struct stat st;
  if (stat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
  if (S_ISDIR(st.st_mode)) return mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0");
  return mount("/dev/null", path, nullptr, MS_BIND, nullptr);
}

int read_only(const char* path) {
  if (mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) != 0) return errno == ENOENT ? 0 : -1;
  return mount(nullptr, path, nullptr,
               MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REC,
               nullptr);
}

int pivot(const char* root) {
  // pivot_root(".", "."): the old root is stacked under the new one and unmounted, so the
  // host's root is unreachable afterwards.
  if (chdir(root) != 0 || syscall(SYS_pivot_root, ".", ".") != 0) return -1;
  if (umount2(".", MNT_DETACH) != 0) return -1;
  return chdir("/");
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
    case Op::kTouch:
      return touch(o.a, o.mode);
    case Op::kPivot:
      return pivot(o.a);
    case Op::kChdir:
      return chdir(o.a);
    case Op::kLoopbackUp:
      return loopback_up();
    case Op::kOpenSlot:
      return open_slot(o.a, o.mode);
    case Op::kBindSlot:
      return bind_slot(o.mode, o.b);
    case Op::kDirNoLink:
      return dir_no_link(o.a);
    case Op::kMask:
      return mask(o.a);
    case Op::kReadOnly:
      return read_only(o.a);
  }
  return -1;
}

using kernel::drop_bounding;
using kernel::set_caps;

int set_creds(const SpawnSpec& s) {
  if (!s.uid) return 0;
  gid_t gid = s.gid.value_or(*s.uid);
  if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0) return -1;
  return setresuid(*s.uid, *s.uid, *s.uid);
}

}  // namespace

size_t Plan::exec_step() const { return ops_.size() + kExec; }

int confine(const Plan& plan, int& step) {
  const auto& s = plan.spec();
  bool root = !s.uid || *s.uid == 0;
  if (step = kFds; syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) return -1;
  if (step = kCaps; drop_bounding(s.caps) != 0) return -1;
  if (step = kCreds; set_creds(s) != 0) return -1;
  if (step = kCaps; root && set_caps(s.caps) != 0) return -1;  // setuid cleared them otherwise
  if (step = kNoNewPrivs; prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  step = kSeccomp;
  const sock_fprog* f = plan.seccomp();
  return f ? prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, f, 0, 0) : 0;
}

int exec_dmz(const Plan& plan) {
  // The stub reports a failed exec of the workload on the error pipe: it must survive this exec.
  if (int fd = plan.spec().report_fd; fd >= 0 && fcntl(fd, F_SETFD, 0) != 0) return -1;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  return static_cast<int>(
      syscall(SYS_execveat, plan.spec().dmz_fd, "", plan.dmz_argv(), plan.envp(), AT_EMPTY_PATH));
}

namespace {

[[noreturn]] void child(const Plan& plan, const Pipes& p) {
  // Not dumpable: until the stub is exec'd, no process of the container may open this one's
  // /proc/PID/exe (the host's netctl), its memory or its descriptors.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
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
  int step = 0;
  if (confine(plan, step) != 0) die(p.err_w, base + step, errno);
  exec_dmz(plan);
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

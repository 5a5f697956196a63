// cnm/launcher/seccomp: what a loaded program does. Each probe runs in a forked child that sets
// no_new_privs and loads the program, then reports the errno of one call over a pipe. The calls
// are chosen to be harmless when allowed (bad arguments, names that do not exist, a namespace
// only the child joins).
#include "cnm/launcher/seccomp.h"

#include <doctest/doctest.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include "cnm/launcher/spawn.h"

namespace sc = cnm::launcher::seccomp;
using cnm::launcher::compile;
using cnm::launcher::kDefaultCaps;
using cnm::launcher::load_seccomp;
using cnm::launcher::seccomp_for;
using cnm::launcher::SeccompProgram;

namespace {

constexpr uint64_t kSysAdmin = 1ULL << 21;
constexpr int kKilledBase = 1000;  // a probe killed by signal S reports kKilledBase + S

// errno of a raw call (0 when it succeeded).
int sc_err(long rc) { return rc < 0 ? errno : 0; }

// Runs `probe` in a child under `program` (none: unfiltered); its result, or kKilledBase + signal.
int sc_in_child(const SeccompProgram* program, const std::function<int()>& probe) {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    rlimit no_core{0, 0};  // a probe killed by SIGSYS leaves no core file behind
    setrlimit(RLIMIT_CORE, &no_core);
    int out = -1;
    if (program && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || load_seccomp(*program) != 0))
      out = -errno;
    else
      out = probe();
    (void)!write(p[1], &out, sizeof out);
    _exit(0);
  }
  close(p[1]);
  int out = -1;
  ssize_t n = read(p[0], &out, sizeof out);
  close(p[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  if (WIFSIGNALED(status)) return kKilledBase + WTERMSIG(status);
  REQUIRE(n == sizeof out);
  return out;
}

SeccompProgram sc_default(uint64_t caps, std::optional<uint32_t> deny_errno = std::nullopt) {
  sc::Profile p = sc::default_profile();
  if (deny_errno) p.default_errno = deny_errno;
  auto prog = compile(p, caps);
  REQUIRE(prog);
  return *prog;
}

// Calls the default profile refuses without CAP_SYS_ADMIN and friends.
const std::vector<std::pair<const char*, std::function<int()>>>& sc_refused() {
  static const std::vector<std::pair<const char*, std::function<int()>>> probes = {
      {"unshare(CLONE_NEWUSER)", [] { return sc_err(unshare(CLONE_NEWUSER)); }},
      {"unshare(CLONE_NEWNET)", [] { return sc_err(unshare(CLONE_NEWNET)); }},
      {"clone(CLONE_NEWUSER)",
       [] {
         long rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
         if (rc == 0) _exit(0);
         if (rc > 0) waitpid(static_cast<pid_t>(rc), nullptr, 0);
         return sc_err(rc);
       }},
      {"mount", [] { return sc_err(mount("none", "/proc/self/no-such-dir", "tmpfs", 0, "")); }},
      {"umount2", [] { return sc_err(umount2("/proc/self/no-such-dir", 0)); }},
      {"keyctl",
       [] {
         return sc_err(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
       }},
      {"add_key", [] { return sc_err(syscall(SYS_add_key, "user", nullptr, nullptr, 0, 0)); }},
      {"request_key",
       [] { return sc_err(syscall(SYS_request_key, "user", "netctl-no-such-key", nullptr, 0)); }},
      {"bpf", [] { return sc_err(syscall(SYS_bpf, 9999, nullptr, 0)); }},
      {"perf_event_open",
       [] { return sc_err(syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0)); }},
      {"kexec_load", [] { return sc_err(syscall(SYS_kexec_load, 0, 0, nullptr, 0xdead0000UL)); }},
      {"init_module", [] { return sc_err(syscall(SYS_init_module, nullptr, 0, "")); }},
      {"finit_module", [] { return sc_err(syscall(SYS_finit_module, -1, "", 0)); }},
      {"delete_module", [] { return sc_err(syscall(SYS_delete_module, "netctl_no_such", 0)); }},
      {"setns", [] { return sc_err(setns(-1, 0)); }},
      {"open_by_handle_at", [] { return sc_err(syscall(SYS_open_by_handle_at, -1, nullptr, 0)); }},
      {"personality(PER_BSD)", [] { return sc_err(personality(PER_BSD)); }},
      {"socket(AF_VSOCK)", [] { return sc_err(socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0)); }},
      {"socket(AF_ALG)", [] { return sc_err(socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)); }},
      {"io_uring_setup", [] { return sc_err(syscall(SYS_io_uring_setup, 0, nullptr)); }},
  };
  return probes;
}

std::string sc_seccomp_mode() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("Seccomp:")) return line.substr(line.find_first_not_of(" \t", 8));
  return "?";
}

}  // namespace

TEST_CASE("seccomp: the default program refuses privileged calls with EPERM") {
  SeccompProgram prog = sc_default(kDefaultCaps);
  for (const auto& [name, probe] : sc_refused()) {
    CAPTURE(name);
    CHECK(sc_in_child(&prog, probe) == EPERM);
  }
  // clone3 reports ENOSYS so the C library falls back to clone.
  CHECK(sc_in_child(&prog, [] { return sc_err(syscall(SYS_clone3, nullptr, 0)); }) == ENOSYS);
}

TEST_CASE("seccomp: the filter itself refuses (a distinct errno proves it)") {
  // The same profile with errno 42 for refusals: a kernel EPERM (no privilege) cannot pass for
  // the filter's answer, so this holds as root and as an unprivileged user alike.
  SeccompProgram prog = sc_default(kDefaultCaps, 42);
  for (const auto& [name, probe] : sc_refused()) {
    CAPTURE(name);
    CHECK(sc_in_child(&prog, probe) == 42);
    CHECK(sc_in_child(nullptr, probe) != 42);
  }
}

TEST_CASE("seccomp: ordinary calls still work under the default program") {
  SeccompProgram prog = sc_default(kDefaultCaps);
  pid_t me = getpid();
  CHECK(sc_in_child(&prog, [me] { return getpid() > 0 && getpid() != me ? 0 : 1; }) == 0);
  CHECK(sc_in_child(&prog, [] {
          char buf[256];
          return getcwd(buf, sizeof buf) ? 0 : errno;
        }) == 0);
  CHECK(sc_in_child(&prog, [] { return sc_seccomp_mode() == "2" ? 0 : 1; }) == 0);
  // fork (clone without namespace flags), a unix socket, the personality query, chroot (the
  // default set holds CAP_SYS_CHROOT: the kernel, not the filter, answers ENOENT).
  CHECK(sc_in_child(&prog, [] {
          pid_t c = fork();
          if (c == 0) _exit(7);
          int st = 0;
          return c > 0 && waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 7 ? 0 : 1;
        }) == 0);
  CHECK(sc_in_child(&prog, [] {
          int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
          return fd < 0 ? errno : close(fd);
        }) == 0);
  CHECK(sc_in_child(&prog, [] { return sc_err(personality(0xffffffff)); }) == 0);
  CHECK(sc_in_child(&prog, [] { return sc_err(chroot("/proc/self/no-such-dir")); }) == ENOENT);
  // Without CAP_SYS_CHROOT the filter refuses chroot.
  SeccompProgram nochroot = sc_default(kDefaultCaps & ~(1ULL << 18), 42);
  CHECK(sc_in_child(&nochroot, [] { return sc_err(chroot("/proc/self/no-such-dir")); }) == 42);
}

TEST_CASE("seccomp: CAP_SYS_ADMIN lets namespace calls through the filter") {
  // Refusals answer 42: with CAP_SYS_ADMIN the filter passes unshare and clone with namespace
  // flags to the kernel (which answers 0 as root, EPERM unprivileged); without it, 42.
  SeccompProgram admin = sc_default(kDefaultCaps | kSysAdmin, 42);
  SeccompProgram plain = sc_default(kDefaultCaps, 42);
  auto uts = [] { return sc_err(unshare(CLONE_NEWUTS)); };
  auto clone_uts = [] {
    long rc = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
    if (rc == 0) _exit(0);
    if (rc > 0) waitpid(static_cast<pid_t>(rc), nullptr, 0);
    return sc_err(rc);
  };
  int allowed = sc_in_child(&admin, uts);
  CHECK(allowed != 42);
  CHECK(allowed == sc_in_child(nullptr, uts));
  if (geteuid() == 0) CHECK(allowed == 0);
  CHECK(sc_in_child(&admin, clone_uts) != 42);
  CHECK(sc_in_child(&plain, uts) == 42);
  CHECK(sc_in_child(&plain, clone_uts) == 42);
  // clone3 goes to the kernel too (EINVAL for no arguments) instead of ENOSYS.
  CHECK(sc_in_child(&admin, [] { return sc_err(syscall(SYS_clone3, nullptr, 0)); }) == EINVAL);
}

TEST_CASE("seccomp: a JSON profile's own errno, and unknown names skipped") {
  auto prog = seccomp_for(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["no_such_call", "getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]})",
                          kDefaultCaps);
  REQUIRE(prog);
  auto cwd = [] {
    char buf[256];
    return getcwd(buf, sizeof buf) ? 0 : errno;
  };
  CHECK(sc_in_child(&*prog, cwd) == 42);
  CHECK(sc_in_child(nullptr, cwd) == 0);
  CHECK(sc_in_child(&*prog, [] { return getpid() > 0 ? 0 : 1; }) == 0);
  // SCMP_ACT_KILL_PROCESS ends the child with SIGSYS.
  auto kill = seccomp_for(R"({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_KILL_PROCESS"}]})",
                          kDefaultCaps);
  REQUIRE(kill);
  CHECK(sc_in_child(&*kill, cwd) == kKilledBase + SIGSYS);
}

TEST_CASE("seccomp: unconfined loads nothing") {
  auto prog = seccomp_for("unconfined", kDefaultCaps);
  REQUIRE(prog);
  CHECK(prog->unconfined);
  CHECK(sc_in_child(&*prog, [] { return sc_seccomp_mode() == "0" ? 0 : 1; }) == 0);
  if (geteuid() == 0)
    CHECK(sc_in_child(&*prog, [] { return sc_err(syscall(SYS_bpf, 9999, nullptr, 0)); }) == EINVAL);
  // An empty program that is not marked unconfined is refused, not loaded as "allow all".
  SeccompProgram empty;
  errno = 0;
  CHECK(load_seccomp(empty) == -1);
  CHECK(errno == EINVAL);
}

#ifdef __x86_64__
namespace {

// A 32-bit system call from this 64-bit process (the i386 table, AUDIT_ARCH_I386).
long sc_int80(long nr, long a) {
  long ret;
  asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a) : "memory", "r8", "r9", "r10", "r11");
  return ret;
}

}  // namespace

TEST_CASE("seccomp: 32-bit x86 calls are filtered too") {
  constexpr long kI386Getpid = 20, kI386Unshare = 310;
  if (sc_in_child(nullptr, [] { return sc_int80(kI386Getpid, 0) > 0 ? 0 : 1; }) != 0) {
    MESSAGE("no IA32 emulation in this kernel: skipped");
    return;
  }
  SeccompProgram prog = sc_default(kDefaultCaps);
  CHECK(sc_in_child(&prog, [] { return sc_int80(kI386Getpid, 0) > 0 ? 0 : 1; }) == 0);
  CHECK(sc_in_child(&prog, [] {
          return static_cast<int>(-sc_int80(kI386Unshare, CLONE_NEWUSER));
        }) == EPERM);
  // A profile without the 32-bit architecture kills such a call instead of running it.
  auto native = seccomp_for(R"({"defaultAction": "SCMP_ACT_ALLOW",
      "architectures": ["SCMP_ARCH_X86_64"]})",
                            kDefaultCaps);
  REQUIRE(native);
  CHECK(sc_in_child(&*native, [] { return sc_int80(kI386Getpid, 0) > 0 ? 0 : 1; }) >= kKilledBase);
}
#endif

// The default seccomp profile: the effect of Docker's default (moby/profiles seccomp v0.2.3, as
// moby vendors it), written as groups of system call names. Calls outside every group fail with
// EPERM; io_uring_* among them, as in Docker's profile.
#include <errno.h>
#include <sched.h>

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "cnm/launcher/seccomp.h"

namespace cnm::launcher::seccomp {
namespace {

// Allowed for every container, whatever its capabilities.
constexpr const char* kAlways = R"(
  accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
  clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
  clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2
  dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
  epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64
  fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat
  fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64
  fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64
  futex_wait futex_waitv futex_wake futimesat get_robust_list get_thread_area getcpu getcwd
  getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32
  getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid
  getresgid32 getresuid getresuid32 getrlimit getrusage getsid getsockname getsockopt gettid
  gettimeofday getuid getuid32 getxattr getxattrat inotify_add_watch inotify_init inotify_init1
  inotify_rm_watch io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup
  io_submit ioctl ioprio_get ioprio_set ipc kill landlock_add_rule landlock_create_ruleset
  landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listmount listxattr
  listxattrat llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
  map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock
  mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
  mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget
  msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect
  open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free
  pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease
  pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv
  recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat
  rename renameat renameat2 restart_syscall riscv_hwprobe rmdir rseq rt_sigaction rt_sigpending
  rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
  rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_get_priority_max sched_get_priority_min
  sched_getaffinity sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval
  sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
  sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile
  sendfile64 sendmmsg sendmsg sendto set_robust_list set_thread_area set_tid_address setfsgid
  setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid
  setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
  setrlimit setsid setsockopt setuid setuid32 setxattr setxattrat shmat shmctl shmdt shmget
  shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat
  stat64 statfs statfs64 statmount statx symlink symlinkat sync sync_file_range syncfs sysinfo
  tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
  timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
  timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat
  uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write
  writev
)";

// Allowed with one capability (the call is what the capability governs).
struct CapGroup {
  const char* cap;
  const char* names;
};
constexpr CapGroup kWithCap[] = {
    {"CAP_DAC_READ_SEARCH", "open_by_handle_at"},
    {"CAP_SYS_ADMIN",
     "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie "
     "lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount "
     "open_tree perf_event_open quotactl quotactl_fd setdomainname "
     "sethostname setns syslog umount umount2 unshare"},
    {"CAP_SYS_BOOT", "reboot"},
    {"CAP_SYS_CHROOT", "chroot"},
    {"CAP_SYS_MODULE", "delete_module init_module finit_module"},
    {"CAP_SYS_PACCT", "acct"},
    {"CAP_SYS_PTRACE",
     "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"},
    {"CAP_SYS_RAWIO", "iopl ioperm"},
    {"CAP_SYS_TIME", "settimeofday stime clock_settime clock_settime64"},
    {"CAP_SYS_TTY_CONFIG", "vhangup"},
    {"CAP_SYS_NICE", "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"},
    {"CAP_SYSLOG", "syslog"},
    {"CAP_BPF", "bpf"},
    {"CAP_PERFMON", "perf_event_open"},
};

// Allowed on one family of native architectures (Go's names, as Docker matches them).
struct ArchGroup {
  std::initializer_list<const char*> arches;
  const char* names;
};
const ArchGroup kOnArch[] = {
    {{"ppc64le"}, "sync_file_range2 swapcontext"},
    {{"arm", "arm64"},
     "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls"},
    {{"amd64", "x32"}, "arch_prctl"},
    {{"amd64", "x32", "x86"}, "modify_ldt"},
    {{"s390", "s390x"}, "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr"},
    {{"riscv64"}, "riscv_flush_icache"},
};

// Personas a container may switch to: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and
// 0xffffffff (a query that changes nothing).
constexpr uint64_t kPersonas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
// socket(2) families refused: AF_ALG (38, the kernel's crypto API) and AF_VSOCK (40, reaches the
// host). On 32-bit x86, socketcall(2) reaches them anyway, as in Docker.
constexpr uint64_t kAfAlg = 38, kAfVsock = 40;

// Bump when default_profile() builds different rules from the same tables (the cache key follows
// the tables by itself; tests/unit/seccomp_profile_test.cc pins the pair).
constexpr int kRevision = 1;

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  out.reserve(text.size() / 8);
  for (size_t i = text.find_first_not_of(" \n"); i != std::string_view::npos;) {
    size_t end = std::min(text.find_first_of(" \n", i), text.size());
    out.emplace_back(text.substr(i, end - i));
    i = text.find_first_not_of(" \n", end);
  }
  return out;
}

Rule allow(const char* names) {
  Rule r;
  r.names = words(names);
  return r;
}

}  // namespace

Profile default_profile() {
  Profile p;
  p.default_action = Action::kErrno;
  p.default_errno = EPERM;
  p.arch_map = {
      {"SCMP_ARCH_X86_64", {"SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"SCMP_ARCH_AARCH64", {"SCMP_ARCH_ARM"}},
      {"SCMP_ARCH_MIPS64", {"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"}},
      {"SCMP_ARCH_MIPS64N32", {"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"}},
      {"SCMP_ARCH_MIPSEL64", {"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"}},
      {"SCMP_ARCH_MIPSEL64N32", {"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"}},
      {"SCMP_ARCH_S390X", {"SCMP_ARCH_S390"}},
      {"SCMP_ARCH_RISCV64", {}},
  };
  auto& r = p.rules;
  r.push_back(allow(kAlways));
  // Without CAP_SYS_PTRACE only from 4.8 on, where ptrace no longer bypasses seccomp.
  r.push_back(allow("process_vm_readv process_vm_writev ptrace"));
  r.back().includes.min_kernel = {{4, 8}};
  for (auto [op, family] :
       {std::pair{Op::kLt, kAfAlg}, {Op::kEq, kAfAlg + 1}, {Op::kGt, kAfVsock}}) {
    r.push_back(allow("socket"));
    r.back().args = {{.index = 0, .value = family, .op = op}};
  }
  for (uint64_t persona : kPersonas) {
    r.push_back(allow("personality"));
    r.back().args = {{.index = 0, .value = persona, .op = Op::kEq}};
  }
  for (const auto& g : kOnArch) {
    r.push_back(allow(g.names));
    r.back().includes.arches.assign(g.arches.begin(), g.arches.end());
  }
  for (const auto& g : kWithCap) {
    r.push_back(allow(g.names));
    r.back().includes.caps = {g.cap};
  }
  // Without CAP_SYS_ADMIN: clone without namespace flags (flags are argument 0, argument 1 on
  // s390), and clone3, whose flags sit in memory a filter cannot read, fails with ENOSYS so that
  // the C library falls back to clone.
  r.push_back(allow("clone"));
  r.back().args = {{.index = 0, .value = kNamespaceFlags, .value_two = 0, .op = Op::kMaskedEq}};
  r.back().excludes.caps = {"CAP_SYS_ADMIN"};
  r.back().excludes.arches = {"s390", "s390x"};
  r.push_back(allow("clone"));
  r.back().args = {{.index = 1, .value = kNamespaceFlags, .value_two = 0, .op = Op::kMaskedEq}};
  r.back().includes.arches = {"s390", "s390x"};
  r.back().excludes.caps = {"CAP_SYS_ADMIN"};
  r.push_back(allow("clone3"));
  r.back().action = Action::kErrno;
  r.back().errno_ret = ENOSYS;
  r.back().excludes.caps = {"CAP_SYS_ADMIN"};
  return p;
}

std::string default_profile_key() {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    h = (h ^ 0x100) * 0x100000001b3ULL;  // a separator no byte can fake
  };
  auto mix_number = [&mix](uint64_t n) { mix(std::string_view(reinterpret_cast<char*>(&n), 8)); };
  mix(kAlways);
  for (const auto& g : kWithCap) {
    mix(g.cap);
    mix(g.names);
  }
  for (const auto& g : kOnArch) {
    for (const char* a : g.arches) mix(a);
    mix(g.names);
  }
  for (uint64_t n : kPersonas) mix_number(n);
  for (uint64_t n : {kNamespaceFlags, kAfAlg, kAfVsock}) mix_number(n);
  return fmt::format("default r{} {:016x}", kRevision, h);
}

}  // namespace cnm::launcher::seccomp

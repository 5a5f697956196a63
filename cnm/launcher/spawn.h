// Starting a workload in new namespaces (docs: cnm/launcher/README.md). The parent prepares
// everything that allocates (paths, the mount program, argv/envp, the seccomp program) before
// clone; the child then runs only system calls: it waits on the go pipe while the parent moves it
// into its cgroups and attaches its endpoints, then mounts, pivots, drops privileges and execs the
// sealed exec stub (dmz.h), which execs the workload. A failing step is reported to the parent as
// {step, errno} over a close-on-exec pipe, so EOF on that pipe means the workload was exec'd.
//
// Nothing under the container's root is touched before pivot_root: its files are hostile (a
// symlink /etc -> /root/.ssh, a FIFO at /etc/hosts), and after pivot_root every path, symlinks
// included, resolves inside the container.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnm/model/error.h"

namespace cnm::launcher {

// Docker's default capability set (CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID,
// SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP).
inline constexpr uint64_t kDefaultCaps = 0xa80425fbULL;

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is searched in PATH inside the container
  std::vector<std::string> env;   // K=V
  std::string hostname;
  std::string dir;     // the container directory: upper/, work/, lower/, merged/, hosts, ...
  std::string rootfs;  // read-only lower layer; "" = dir/lower with the host's /usr read-only
  std::vector<std::string> host_ro;  // host directories bind-mounted read-only (no rootfs)
  std::string workdir = "/";
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  uint64_t caps = kDefaultCaps;      // bounding, effective, permitted and inheritable sets
  std::vector<sock_filter> seccomp;  // loaded right before exec; empty: unconfined
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // -1: inherited
  bool fork_first = false;  // `netctl exec`: the stub forks into the joined pid namespace first
  int dmz_fd = -1;          // sealed_dmz(), held by the caller until the child has exec'd
  int report_fd = -1;       // the error pipe's write end: the stub reports a failed exec there
};

// One step of the child's program; the parent keeps a label per step for error messages.
struct Op {
  enum Kind {
    kUnshareCgroup,
    kHostname,
    kMount,
    kMkdir,
    kMknod,
    kSymlink,
    kTouch,
    kPivot,
    kChdir,
    kLoopbackUp,
    kOpenSlot,   // a: path cloned as a detached mount into fd slot `mode` (before pivot_root)
    kBindSlot,   // b: where the mount in fd slot `mode` is attached (after pivot_root)
    kDirNoLink,  // a: mkdir if missing, then it must be a directory, not a symlink
    kMask,       // a: an empty read-only tmpfs over a directory, /dev/null over a file
    kReadOnly    // a: bound onto itself read-only
  };
  Kind kind = kMount;
  const char* a = nullptr;  // source / path
  const char* b = nullptr;  // target
  const char* c = nullptr;  // fstype
  const char* d = nullptr;  // mount data
  unsigned long flags = 0;
  unsigned mode = 0;
  dev_t dev = 0;
};

// Everything the child needs, built before clone (owns the strings the ops point into).
class Plan {
 public:
  explicit Plan(const SpawnSpec& spec);
  Plan(const Plan&) = delete;  // argv, envp and the ops point into the plan's own strings
  Plan& operator=(const Plan&) = delete;
  const std::string& label(size_t step) const { return labels_[step]; }
  const std::vector<Op>& ops() const { return ops_; }
  const SpawnSpec& spec() const { return spec_; }
  char* const* argv() const { return argv_.data(); }          // the workload's, null-terminated
  char* const* dmz_argv() const { return dmz_argv_.data(); }  // the stub's, then the workload's
  char* const* envp() const { return envp_.data(); }
  const sock_fprog* seccomp() const { return spec_.seccomp.empty() ? nullptr : &fprog_; }
  size_t exec_step() const;  // the step number the stub reports a failed exec with

 private:
  const char* keep(std::string s);
  void add(std::string label, Op op);
  void add_root();        // the overlay root and, without a rootfs, the host's directories
  void add_etc();         // /etc/hosts, resolv.conf, hostname bound from the container dir
  void add_dev();         // a tmpfs /dev with the minimal nodes, pts and shm
  void add_after_root();  // /proc, /sys, /dev, /etc, masked and read-only paths, chdir
  void add_exec();        // argv and envp of the stub and the workload
  SpawnSpec spec_;
  std::deque<std::string> strings_;
  std::vector<Op> ops_;
  std::vector<std::string> labels_;
  std::vector<char*> argv_, dmz_argv_, envp_;
  sock_fprog fprog_{};
};

// The pipes between launcher and child, all close-on-exec.
struct Pipes {
  int go_r = -1, go_w = -1, err_r = -1, err_w = -1;
  static Result<Pipes> make();
  void close_all();
};

// Async-signal-safe (usable right after fork): clones the child with new pid, mount, uts, ipc
// and net namespaces; it exits quietly if go_w closes without a byte. Returns its pid or -errno.
pid_t clone_workload(const Plan& plan, const Pipes& pipes);

// In the launcher after clone: closes the child's pipe ends it holds, sends the go byte and waits
// for exec. A failed step is Code::kFailed "start container: <label>: <strerror>".
Status release(const Plan& plan, Pipes& pipes);

// Async-signal-safe, shared with exec_in (proc.h): the last steps before exec, each returning
// -1 with errno on failure and, through `step`, which one failed (a Tail value, spawn.cc):
// descriptors above 2 close-on-exec, bounding and ambient capability sets reduced to the plan's
// set,
// --user, the capability sets, no_new_privs, the seccomp filter; then execveat of the stub.
int confine(const Plan& plan, int& step);
int exec_dmz(const Plan& plan);

// Contents for the container's /etc/hosts and /etc/resolv.conf.
std::string hosts_file(const std::string& hostname, const std::vector<std::string>& ips);
// The host's resolv.conf without loopback name servers (unreachable from a network namespace).
// With `nameserver` (netctl's DNS server, on the gateway of the container's first DNS network):
// the host's lines but its name servers and options, then that one name server and
// "options ndots:0" (every name is tried as given first, as Docker's embedded DNS has it).
std::string resolv_file(const std::string& host_resolv, const std::string& nameserver = {});

}  // namespace cnm::launcher

// Starting a workload in new namespaces (DESIGN section 8). The parent prepares everything that
// allocates (paths, the mount program, argv/envp) before clone; the child then runs only system
// calls: it waits on the go pipe while the parent moves it into its cgroups and attaches its
// endpoints, then mounts, pivots, drops privileges and execs. A failing step is reported to the
// parent as {step, errno} over a close-on-exec pipe, so EOF on that pipe means exec succeeded.
#pragma once

#include <sys/types.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnm/error.h"

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
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // -1: inherited
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
    kLoopbackUp
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
  const std::string& label(size_t step) const { return labels_[step]; }
  const std::vector<Op>& ops() const { return ops_; }
  const SpawnSpec& spec() const { return spec_; }
  char* const* argv() const { return argv_.data(); }
  char* const* envp() const { return envp_.data(); }
  const std::vector<const char*>& path_dirs() const { return path_dirs_; }

 private:
  const char* keep(std::string s);
  void add(std::string label, Op op);
  void add_etc();         // /etc/hosts, resolv.conf, hostname bound from the container dir
  void add_dev();         // a tmpfs /dev with the minimal nodes, pts and shm
  void add_after_root();  // /sys, pivot_root, /proc, /proc/sys read-only, chdir
  void add_exec();        // argv, envp and the PATH directories
  SpawnSpec spec_;
  std::deque<std::string> strings_;
  std::vector<Op> ops_;
  std::vector<std::string> labels_;
  std::vector<char*> argv_, envp_;
  std::vector<const char*> path_dirs_;
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

// Async-signal-safe pieces of the child, shared with exec_in (proc.h): the bounding, ambient and
// process capability sets reduced to kDefaultCaps (unless the plan sets a non-root uid), and
// execve of argv[0] searched in the plan's PATH. Both return -1 with errno on failure.
int drop_caps(const Plan& plan);
int exec_search(const Plan& plan);

// Contents for the container's /etc/hosts and /etc/resolv.conf.
std::string hosts_file(const std::string& hostname, const std::vector<std::string>& ips);
// The host's resolv.conf without loopback name servers (unreachable from a network namespace).
std::string resolv_file(const std::string& host_resolv);

}  // namespace cnm::launcher

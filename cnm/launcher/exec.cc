// exec_in (proc.h): a process inside a running container's namespaces and cgroups.
//
// The forked netctl joins the namespaces through a pidfd, confines itself (user, capabilities,
// no_new_privs, seccomp) and execs the sealed stub, which forks the new process into the
// container's pid namespace. So the only processes that ever appear inside the container run the
// stub's private copy, never the host's netctl, and nothing is read from the container's files.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cnm/kernel/fd.h"
#include "cnm/launcher/dmz.h"
#include "cnm/launcher/proc.h"

namespace cnm::launcher {
namespace {

constexpr int kAllNamespaces =
    CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS;

[[noreturn]] void join_and_exec(const Plan& plan, int pidfd,
                                const std::vector<const char*>& procs) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  for (const char* p : procs) {  // "0" is the writer itself, on v1 and v2
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) continue;  // a controller the container was started without
    if (fd < 0 || write(fd, "0", 1) != 1) _exit(125);
    close(fd);
  }
  // One call joins them all, and fails (ESRCH) if the process is gone.
  if (setns(pidfd, kAllNamespaces) != 0) _exit(125);
  if (chdir(plan.spec().workdir.c_str()) != 0) _exit(125);
  int step = 0;
  if (confine(plan, step) != 0) _exit(125);
  exec_dmz(plan);
  _exit(125);
}

// A pidfd of `pid`, checked to be the process that started at `start`: opened first, so that a
// pid reused after the check cannot be the one the descriptor names.
Result<kernel::Fd> open_process(pid_t pid, uint64_t start) {
  kernel::Fd fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!fd.valid() || start_time(pid) != start)
    return fail(Code::kConflict, "exec: the container's process {} is gone", pid);
  return fd;
}

}  // namespace

Result<int> exec_in(pid_t pid, uint64_t start, const std::vector<std::string>& procs,
                    SpawnSpec spec) {
  auto pidfd = CNM_VALUE(open_process(pid, start));
  auto dmz = CNM_VALUE(sealed_dmz());
  spec.dmz_fd = dmz.get();
  spec.fork_first = true;
  Plan plan(spec);
  std::vector<const char*> proc_paths;
  for (const auto& p : procs) proc_paths.push_back(p.c_str());
  pid_t child = fork();
  if (child < 0) return fail(Code::kFailed, "exec: fork: {}", std::strerror(errno));
  if (child == 0) join_and_exec(plan, pidfd.get(), proc_paths);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 125)
    return fail(Code::kFailed, "exec: could not enter the container (exit 125)");
  return exit_code_of(status);
}

}  // namespace cnm::launcher

// exec_in (proc.h): a process inside a running container's namespaces and cgroups.
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cnm/kernel/fd.h"
#include "cnm/launcher/proc.h"

namespace cnm::launcher {
namespace {

// setns order: the mount namespace last, since /proc/<pid>/ns of the others must still resolve.
constexpr const char* kNamespaces[] = {"cgroup", "ipc", "uts", "net", "pid", "mnt"};

[[noreturn]] void join_and_exec(const Plan& plan, const std::vector<kernel::Fd>& ns,
                                const std::vector<const char*>& procs) {
  for (const char* p : procs) {  // "0" is the writer itself, on v1 and v2
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) _exit(125);
    close(fd);
  }
  for (const auto& fd : ns)
    if (setns(fd.get(), 0) != 0) _exit(125);
  // A new pid namespace applies to children only: fork once more to be inside it.
  pid_t inner = fork();
  if (inner < 0) _exit(125);
  if (inner == 0) {
    if (chdir("/") != 0 || drop_caps(plan) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      _exit(125);
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    exec_search(plan);
    _exit(errno == ENOENT ? 127 : 126);
  }
  int status = 0;
  while (waitpid(inner, &status, 0) < 0 && errno == EINTR) {
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

}  // namespace

Result<int> exec_in(pid_t pid, const std::vector<std::string>& procs,
                    const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  std::vector<kernel::Fd> ns;
  for (const char* n : kNamespaces) {
    auto path = fmt::format("/proc/{}/ns/{}", pid, n);
    kernel::Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return fail(Code::kFailed, "exec: open {}: {}", path, std::strerror(errno));
    ns.push_back(std::move(fd));
  }
  SpawnSpec spec;
  spec.argv = argv;
  spec.env = env;
  Plan plan(spec);
  std::vector<const char*> proc_paths;
  for (const auto& p : procs) proc_paths.push_back(p.c_str());
  pid_t child = fork();
  if (child < 0) return fail(Code::kFailed, "exec: fork: {}", std::strerror(errno));
  if (child == 0) join_and_exec(plan, ns, proc_paths);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return exit_code_of(status);
}

}  // namespace cnm::launcher

// Launcher processes (proc.h).
#include "cnm/launcher/proc.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "cnm/kernel/proc_stat.h"

namespace cnm::launcher {
namespace {

std::string slurp(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[1024];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, n);
  close(fd);
  return out;
}

}  // namespace

uint64_t start_time(pid_t pid) {
  char state = 0;
  uint64_t start = 0;
  if (pid <= 0) return 0;
  return kernel::parse_proc_stat(slurp(fmt::format("/proc/{}/stat", pid)), state, start) ? start
                                                                                         : 0;
}

bool alive(pid_t pid, uint64_t start) {
  char state = 0;
  uint64_t started = 0;
  if (pid <= 0 ||
      !kernel::parse_proc_stat(slurp(fmt::format("/proc/{}/stat", pid)), state, started))
    return false;
  return state != 'Z' && state != 'X' && (start == 0 || started == start);
}

bool wait_gone(pid_t pid, uint64_t start, int timeout_ms) {
  if (!alive(pid, start)) return true;
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (alive(pid, start)) {
    if (timeout_ms >= 0 && std::chrono::steady_clock::now() >= deadline) break;
    if (fd >= 0) {
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, 20);  // readable once it exits; the loop also catches a zombie
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  if (fd >= 0) close(fd);
  return !alive(pid, start);
}

Result<Detached> spawn_detached(const Plan& plan, Pipes& pipes,
                                const std::vector<std::string>& shim_argv, int log_pipe,
                                int log_file) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return fail(Code::kFailed, "pipe: {}", std::strerror(errno));
  // Built before fork: the supervisor only makes system calls until it execs the shim.
  std::vector<std::string> args = shim_argv;
  args.push_back("");  // the workload's pid, written in the child below
  char pidbuf[16] = {};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.back() = pidbuf;
  argv.push_back(nullptr);
  pid_t sup = fork();
  if (sup < 0) return fail(Code::kFailed, "fork the supervisor: {}", std::strerror(errno));
  if (sup == 0) {
    close(report[0]);
    setsid();
    pid_t w = clone_workload(plan, pipes);
    (void)!write(report[1], &w, sizeof w);
    if (w < 0) _exit(1);
    int n = 0;
    char tmp[16];
    for (pid_t v = w; v > 0; v /= 10) tmp[n++] = static_cast<char>('0' + v % 10);
    for (int i = 0; i < n; ++i) pidbuf[i] = tmp[n - 1 - i];
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) dup2(null, fd);
    if (log_pipe >= 0 && log_file >= 0) {  // to 3 and 4, by way of fds no dup2 can hit
      int r = fcntl(log_pipe, F_DUPFD, 100), f = fcntl(log_file, F_DUPFD, 100);
      dup2(r, 3);
      dup2(f, 4);
      syscall(SYS_close_range, 5, ~0U, 0);  // the pipe's write end too: EOF when the workload ends
    } else {
      syscall(SYS_close_range, 3, ~0U, 0);  // nothing of netctl's (store, lock) stays open
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(report[1]);
  pid_t w = -1;
  ssize_t n = read(report[0], &w, sizeof w);
  close(report[0]);
  if (n != sizeof w || w < 0) {
    waitpid(sup, nullptr, 0);
    return fail(Code::kFailed, "start container: clone: {}",
                std::strerror(n == sizeof w ? -w : ECHILD));
  }
  return Detached{sup, w};
}

std::string exit_record(int wait_status) { return fmt::format("{}\n", wait_status); }

int exit_code_of(int s) {
  if (WIFEXITED(s)) return WEXITSTATUS(s);
  if (WIFSIGNALED(s)) return 128 + WTERMSIG(s);
  return 1;
}

}  // namespace cnm::launcher

#include "cnm/core/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "cnm/kernel/fd.h"

namespace cnm::daemon {
namespace {

using kernel::Fd;
using Clock = std::chrono::steady_clock;

// In the forked child: forks again (the daemon is no child of the command), starts a session,
// sets up fds 0-3, closes every other one, and execs. Only async-signal-safe calls.
[[noreturn]] void exec_detached(char** argv, const char* log, int ready) {
  pid_t pid = fork();
  if (pid != 0) _exit(pid < 0 ? 1 : 0);
  setsid();
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  int err = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (null < 0) _exit(127);
  if (err < 0) err = null;
  // Copies above 10 first: a dup2 onto the same number would keep O_CLOEXEC.
  int n = fcntl(null, F_DUPFD, 10), e = fcntl(err, F_DUPFD, 10), r = fcntl(ready, F_DUPFD, 10);
  if (n < 0 || e < 0 || r < 0) _exit(127);
  if (dup2(n, 0) < 0 || dup2(n, 1) < 0 || dup2(e, 2) < 0 || dup2(r, 3) < 0) _exit(127);
  close_range(4, ~0U, 0);
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE}) sigaction(sig, &dfl, nullptr);
  execv(argv[0], argv);
  _exit(127);
}

}  // namespace

std::optional<std::string> read_line(int fd, int timeout_ms, size_t max) {
  std::string line;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (line.size() < max) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return std::nullopt;
    char c = 0;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line += c;
  }
  return line;
}

Result<std::string> spawn(std::vector<std::string> args, const std::string& log, int timeout_ms,
                          std::string_view what) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return fail(Code::kFailed, "pipe: {}", std::strerror(errno));
  Fd rd(p[0]), wr(p[1]);
  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return fail(Code::kFailed, "fork: {}", std::strerror(errno));
  if (pid == 0) exec_detached(argv.data(), log.c_str(), wr.get());
  wr.reset();
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  auto line = read_line(rd.get(), timeout_ms);
  if (!line) return fail(Code::kFailed, "{} {} did not start in time", what, args[0]);
  return *line;
}

Result<bool> lock_held(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return false;
    return fail(Code::kFailed, "open {}: {}", path, std::strerror(errno));
  }
  if (flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return false;  // closing fd releases it
  if (errno == EWOULDBLOCK) return true;
  return fail(Code::kFailed, "lock {}: {}", path, std::strerror(errno));
}

std::string last_log_line(const std::string& log) {
  Fd fd(open(log.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "no log";
  off_t size = lseek(fd.get(), 0, SEEK_END);
  off_t from = std::max<off_t>(0, size - 1024);
  std::string buf(static_cast<size_t>(size - from), '\0');
  ssize_t n = pread(fd.get(), buf.data(), buf.size(), from);
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  while (!buf.empty() && buf.back() == '\n') buf.pop_back();
  auto nl = buf.rfind('\n');
  std::string last = printable(nl == std::string::npos ? buf : buf.substr(nl + 1));
  return last.empty() ? "no log line" : last;
}

std::string sibling_path(std::string_view name) {
  std::string exe(4096, '\0');
  ssize_t n = readlink("/proc/self/exe", exe.data(), exe.size() - 1);
  if (n <= 0) return std::string(name);
  exe.resize(static_cast<size_t>(n));
  auto slash = exe.rfind('/');
  return (slash == std::string::npos ? std::string(".") : exe.substr(0, slash)) + "/" +
         std::string(name);
}

}  // namespace cnm::daemon

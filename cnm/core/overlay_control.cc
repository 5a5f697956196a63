#include "cnm/core/overlay_control.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "cnm/kernel/fd.h"

namespace cnm {
namespace {

using kernel::Fd;
using Clock = std::chrono::steady_clock;
// From exec to "ok LEASE" on the ready pipe: a lease grant and a transaction, each within the
// etcd client's 1 s deadline, plus the republication of this host's peers.
constexpr int kAgentStartTimeoutMs = 5000;
constexpr auto kWaitFor = std::chrono::seconds(2);  // for a lease (another than `stale`)
constexpr off_t kMaxLogBytes = 1 << 20;

// Reads up to '\n' (not kept), EOF or `max` bytes, waiting at most `timeout_ms` in all.
// nullopt: timed out.
std::optional<std::string> ovc_read_line(int fd, int timeout_ms, size_t max = 512) {
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

// A lease ID as the agent writes it: decimal, positive.
std::optional<int64_t> ovc_parse_lease(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

class RealOverlayControl : public OverlayControl {
 public:
  explicit RealOverlayControl(OverlayAgentSettings s)
      : s_(std::move(s)), dir_(s_.root + "/overlay") {}

  Result<int64_t> ensure(int64_t stale) override {
    auto deadline = Clock::now() + kWaitFor;
    for (int starts = 0;;) {
      if (CNM_VALUE(running())) {
        auto lease = read_lease();
        if (lease && *lease != stale) return *lease;
      } else if (starts < 2) {
        ++starts;
        std::string said = CNM_VALUE(spawn());
        if (said.starts_with("ok ")) {
          auto lease = ovc_parse_lease(std::string_view(said).substr(3));
          if (lease && *lease != stale) return *lease;
        } else if (said != "busy") {
          return fail(Code::kFailed, "overlay agent {} did not start: {}", s_.agent,
                      said.starts_with("err ") ? printable(said.substr(4)) : last_log_line());
        }
      }
      if (Clock::now() > deadline) {
        if (stale != 0)
          return fail(Code::kFailed, "overlay agent of {} has not registered again within 2 s",
                      s_.root);
        return fail(Code::kFailed, "overlay agent of {} has written no lease within 2 s: {}",
                    s_.root, last_log_line());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  Result<bool> running() override {
    Fd fd(open((dir_ + "/agent.lock").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) return false;
      return fail(Code::kFailed, "open {}/agent.lock: {}", dir_, std::strerror(errno));
    }
    if (flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return false;  // closing fd releases it
    if (errno == EWOULDBLOCK) return true;
    return fail(Code::kFailed, "lock {}/agent.lock: {}", dir_, std::strerror(errno));
  }

 private:
  std::optional<int64_t> read_lease() const {
    Fd fd(open((dir_ + "/lease").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return std::nullopt;
    char buf[32];
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n <= 0 || n == static_cast<ssize_t>(sizeof buf)) return std::nullopt;
    return ovc_parse_lease(std::string_view(buf, static_cast<size_t>(n)));
  }

  // Starts the agent detached and returns its first line on the ready pipe ("ok LEASE", "busy",
  // "err MESSAGE"), or "" when it ended without one.
  Result<std::string> spawn() {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return fail(Code::kFailed, "pipe: {}", std::strerror(errno));
    Fd rd(p[0]), wr(p[1]);
    // Everything the child needs is made before fork: after it, only async-signal-safe calls.
    std::string log = dir_ + "/agent.log";
    std::vector<std::string> args = {s_.agent,     "--root", s_.root,
                                     "--store",    s_.store, "--advertise",
                                     s_.advertise, "--ttl",  std::to_string(s_.ttl_seconds),
                                     "--ready-fd", "3"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (const std::string& d : {s_.root, dir_})
      if (mkdir(d.c_str(), 0700) != 0 && errno != EEXIST)
        return fail(Code::kFailed, "mkdir {}: {}", d, std::strerror(errno));
    // The log is kept to two files of kMaxLogBytes at most: one line per change adds up.
    struct stat st {};
    if (stat(log.c_str(), &st) == 0 && st.st_size > kMaxLogBytes)
      (void)rename(log.c_str(), (log + ".1").c_str());
    pid_t pid = fork();
    if (pid < 0) return fail(Code::kFailed, "fork: {}", std::strerror(errno));
    if (pid == 0) exec_detached(argv.data(), log.c_str(), wr.get());
    wr.reset();
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    auto line = ovc_read_line(rd.get(), kAgentStartTimeoutMs);
    if (!line) return fail(Code::kFailed, "overlay agent {} did not start in time", s_.agent);
    return *line;
  }

  // In the forked child: forks again (the agent is no child of the command), starts a session,
  // stdin/stdout on /dev/null, stderr on the log, the ready pipe as fd 3, every other fd closed
  // (the store's write lock above all: the agent takes it only to leave).
  [[noreturn]] static void exec_detached(char** argv, const char* log, int ready) {
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

  std::string last_log_line() const {
    Fd fd(open((dir_ + "/agent.log").c_str(), O_RDONLY | O_CLOEXEC));
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

  OverlayAgentSettings s_;
  std::string dir_;  // <root>/overlay
};

}  // namespace

std::unique_ptr<OverlayControl> make_overlay_control(OverlayAgentSettings settings) {
  return std::make_unique<RealOverlayControl>(std::move(settings));
}

std::string default_overlay_agent_path() {
  std::string exe(4096, '\0');
  ssize_t n = readlink("/proc/self/exe", exe.data(), exe.size() - 1);
  if (n <= 0) return "netctl-overlay";
  exe.resize(static_cast<size_t>(n));
  auto slash = exe.rfind('/');
  return (slash == std::string::npos ? std::string(".") : exe.substr(0, slash)) + "/netctl-overlay";
}

Result<int> parse_overlay_ttl(const char* value) {
  if (value == nullptr || *value == '\0') return kOverlayTtlDefault;
  std::string_view s(value);
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < kOverlayTtlMin || v > kOverlayTtlMax)
    return fail(Code::kInvalid, "{}='{}': not a number of seconds in {}-{}", kOverlayTtlEnv,
                printable(s), kOverlayTtlMin, kOverlayTtlMax);
  return v;
}

}  // namespace cnm

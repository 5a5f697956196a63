#include "cnm/core/dns_control.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
constexpr int kReplyTimeoutMs = 2000;  // a sync of a running server takes a few ms
constexpr int kStartTimeoutMs = 3000;  // from exec to "ok" on the ready pipe
constexpr auto kRetryFor = std::chrono::seconds(2);

// Reads up to '\n' (not kept), EOF or `max` bytes, waiting at most `timeout_ms` in all.
// nullopt: timed out.
std::optional<std::string> dns_read_line(int fd, int timeout_ms, size_t max = 256) {
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

class RealDnsControl : public DnsControl {
 public:
  RealDnsControl(std::string root, std::string server)
      : dir_(std::move(root) + "/dns"), server_(std::move(server)) {}

  Status ensure(std::span<const IpAddr> gateways) override {
    if (!gateways.empty() && serves(gateways) && CNM_VALUE(running())) return {};
    if (CNM_VALUE(sync())) return {};
    auto deadline = Clock::now() + kRetryFor;
    for (int starts = 0;;) {
      if (!CNM_VALUE(running()) && starts < 3) {
        ++starts;
        std::string said = CNM_VALUE(spawn());
        if (said == "ok" || said == "idle") return {};  // idle: no DNS network has endpoints
        if (said != "busy")
          return fail(Code::kFailed, "dns server {} did not start: {}", server_, last_log_line());
      }
      if (CNM_VALUE(sync())) return {};
      if (Clock::now() > deadline)
        return fail(Code::kFailed, "dns server of {} does not answer on {}/sock", dir_, dir_);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  Result<bool> running() override {
    Fd fd(open((dir_ + "/lock").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) return false;
      return fail(Code::kFailed, "open {}/lock: {}", dir_, std::strerror(errno));
    }
    if (flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return false;  // closing fd releases it
    if (errno == EWOULDBLOCK) return true;
    return fail(Code::kFailed, "lock {}/lock: {}", dir_, std::strerror(errno));
  }

 private:
  // Whether ROOT/dns/serving (the addresses the server listens on, one per line, replaced after
  // every change and removed before it exits) lists each of `gateways`.
  bool serves(std::span<const IpAddr> gateways) const {
    Fd fd(open((dir_ + "/serving").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return false;
    char buf[4096];
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n <= 0 || n == static_cast<ssize_t>(sizeof buf)) return false;
    std::string text = "\n" + std::string(buf, static_cast<size_t>(n));
    return std::ranges::all_of(gateways, [&](const IpAddr& g) {
      return text.find("\n" + g.str() + "\n") != std::string::npos;
    });
  }

  // Asks the running server to read the store again. false: none listens on the socket.
  Result<bool> sync() {
    std::string path = dir_ + "/sock";
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path)
      return fail(Code::kFailed, "dns socket path {} is too long", path);
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return fail(Code::kFailed, "socket: {}", std::strerror(errno));
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      if (errno == ENOENT || errno == ECONNREFUSED) return false;
      return fail(Code::kFailed, "connect {}: {}", path, std::strerror(errno));
    }
    if (send(fd.get(), "sync\n", 5, MSG_NOSIGNAL) != 5) return false;  // it is going away
    auto line = dns_read_line(fd.get(), kReplyTimeoutMs);
    if (!line) return fail(Code::kFailed, "dns server does not answer on {}", path);
    if (*line == "ok") return true;
    if (line->starts_with("err "))
      return fail(Code::kFailed, "dns server: {}", printable(line->substr(4)));
    return false;  // closed without a word: it is exiting
  }

  // Starts the server detached and returns its first word on the ready pipe ("ok", "idle",
  // "busy"), or "" when it ended without one.
  Result<std::string> spawn() {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return fail(Code::kFailed, "pipe: {}", std::strerror(errno));
    Fd rd(p[0]), wr(p[1]);
    // Everything the child needs is made before fork: after it, only async-signal-safe calls.
    std::string root = dir_.substr(0, dir_.size() - 4), log = dir_ + "/log";
    std::vector<std::string> args = {server_, "--root", root, "--ready-fd", "3"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (mkdir(root.c_str(), 0700) != 0 && errno != EEXIST)
      return fail(Code::kFailed, "mkdir {}: {}", root, std::strerror(errno));
    if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
      return fail(Code::kFailed, "mkdir {}: {}", dir_, std::strerror(errno));
    pid_t pid = fork();
    if (pid < 0) return fail(Code::kFailed, "fork: {}", std::strerror(errno));
    if (pid == 0) exec_detached(argv.data(), log.c_str(), wr.get());
    wr.reset();
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    auto line = dns_read_line(rd.get(), kStartTimeoutMs);
    if (!line) return fail(Code::kFailed, "dns server {} did not start in time", server_);
    return *line;
  }

  // In the forked child: forks again (the server is no child of the command), starts a session,
  // stdin/stdout on /dev/null, stderr on the log, the ready pipe as fd 3, every other fd closed.
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
    Fd fd(open((dir_ + "/log").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return "no log";
    off_t size = lseek(fd.get(), 0, SEEK_END);
    off_t from = std::max<off_t>(0, size - 1024);
    std::string buf(static_cast<size_t>(size - from), '\0');
    ssize_t n = pread(fd.get(), buf.data(), buf.size(), from);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    while (!buf.empty() && buf.back() == '\n') buf.pop_back();
    auto nl = buf.rfind('\n');
    return printable(nl == std::string::npos ? buf : buf.substr(nl + 1));
  }

  std::string dir_;  // <root>/dns
  std::string server_;
};

}  // namespace

std::unique_ptr<DnsControl> make_dns_control(std::string root, std::string server) {
  return std::make_unique<RealDnsControl>(std::move(root), std::move(server));
}

std::string default_dns_server_path() {
  std::string exe(4096, '\0');
  ssize_t n = readlink("/proc/self/exe", exe.data(), exe.size() - 1);
  if (n <= 0) return "netctl-dns";
  exe.resize(static_cast<size_t>(n));
  auto slash = exe.rfind('/');
  return (slash == std::string::npos ? std::string(".") : exe.substr(0, slash)) + "/netctl-dns";
}

}  // namespace cnm

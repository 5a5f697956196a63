#include "cnm/core/dns_control.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "cnm/core/daemon.h"
#include "cnm/kernel/fd.h"

namespace cnm {
namespace {

using kernel::Fd;
using Clock = std::chrono::steady_clock;
constexpr int kReplyTimeoutMs = 2000;  // a sync of a running server takes a few ms
constexpr int kStartTimeoutMs = 3000;  // from exec to "ok" on the ready pipe
constexpr auto kRetryFor = std::chrono::seconds(2);

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

  Result<bool> running() override { return daemon::lock_held(dir_ + "/lock"); }

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
    auto line = daemon::read_line(fd.get(), kReplyTimeoutMs, 256);
    if (!line) return fail(Code::kFailed, "dns server does not answer on {}", path);
    if (*line == "ok") return true;
    if (line->starts_with("err "))
      return fail(Code::kFailed, "dns server: {}", printable(line->substr(4)));
    return false;  // closed without a word: it is exiting
  }

  // Starts the server detached and returns its first word on the ready pipe ("ok", "idle",
  // "busy"), or "" when it ended without one.
  Result<std::string> spawn() {
    std::string root = dir_.substr(0, dir_.size() - 4);
    for (const std::string& d : {root, dir_})
      if (mkdir(d.c_str(), 0700) != 0 && errno != EEXIST)
        return fail(Code::kFailed, "mkdir {}: {}", d, std::strerror(errno));
    return daemon::spawn({server_, "--root", root, "--ready-fd", "3"}, dir_ + "/log",
                         kStartTimeoutMs, "dns server");
  }

  std::string last_log_line() const { return daemon::last_log_line(dir_ + "/log"); }

  std::string dir_;  // <root>/dns
  std::string server_;
};

}  // namespace

std::unique_ptr<DnsControl> make_dns_control(std::string root, std::string server) {
  return std::make_unique<RealDnsControl>(std::move(root), std::move(server));
}

std::string default_dns_server_path() { return daemon::sibling_path("netctl-dns"); }

}  // namespace cnm

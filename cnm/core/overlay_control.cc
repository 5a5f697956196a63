#include "cnm/core/overlay_control.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "cnm/core/daemon.h"
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

  Result<bool> running() override { return daemon::lock_held(dir_ + "/agent.lock"); }

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
    const std::string log = dir_ + "/agent.log";
    for (const std::string& d : {s_.root, dir_})
      if (mkdir(d.c_str(), 0700) != 0 && errno != EEXIST)
        return fail(Code::kFailed, "mkdir {}: {}", d, std::strerror(errno));
    // The log is kept to two files of kMaxLogBytes at most: one line per change adds up.
    struct stat st {};
    if (stat(log.c_str(), &st) == 0 && st.st_size > kMaxLogBytes)
      (void)rename(log.c_str(), (log + ".1").c_str());
    return daemon::spawn({s_.agent, "--root", s_.root, "--store", s_.store, "--advertise",
                          s_.advertise, "--ttl", std::to_string(s_.ttl_seconds), "--ready-fd", "3"},
                         log, kAgentStartTimeoutMs, "overlay agent");
  }

  std::string last_log_line() const { return daemon::last_log_line(dir_ + "/agent.log"); }

  OverlayAgentSettings s_;
  std::string dir_;  // <root>/overlay
};

}  // namespace

std::unique_ptr<OverlayControl> make_overlay_control(OverlayAgentSettings settings) {
  return std::make_unique<RealOverlayControl>(std::move(settings));
}

std::string default_overlay_agent_path() { return daemon::sibling_path("netctl-overlay"); }

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

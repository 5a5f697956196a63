// netctl-dns --root ROOT [--ready-fd N] [--rate QPS]: the DNS server of one state root
// (cnm/dns/server.h). Started detached by cnm/core/dns_control.cc; one per root (ROOT/dns/lock).
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include "cnm/dns/server.h"
#include "cnm/kernel/caps.h"
#include "cnm/kernel/fd.h"

namespace {

constexpr off_t kMaxLog = 1 << 20;  // a longer log (ROOT/dns/log) starts over

int usage() {
  std::fputs("usage: netctl-dns --root ROOT [--ready-fd N] [--rate QPS]\n", stderr);
  return 2;
}

bool parse_int(std::string_view text, long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Takes ROOT/dns/lock. Another server holds it: false. A command that only looks (running())
// holds it for a moment: tried for up to a second.
bool take_lock(const std::string& dir, cnm::kernel::Fd& lock) {
  lock.reset(open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) {
    std::fprintf(stderr, "netctl-dns: open %s/lock: %s\n", dir.c_str(), std::strerror(errno));
    return false;
  }
  for (int i = 0; i < 200; ++i) {
    if (flock(lock.get(), LOCK_EX | LOCK_NB) == 0) {
      std::string pid = std::to_string(getpid()) + "\n";  // for tests and operators
      if (ftruncate(lock.get(), 0) == 0 && pwrite(lock.get(), pid.data(), pid.size(), 0) < 0) {
        // informational only
      }
      return true;
    }
    if (errno != EWOULDBLOCK && errno != EINTR) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  cnm::dns::ServerOptions opt;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    long n = 0;
    if (i + 1 >= argc) return usage();
    std::string_view v = argv[++i];
    if (a == "--root") {
      opt.root = v;
    } else if (a == "--ready-fd" && parse_int(v, n) && n >= 0) {
      opt.ready_fd = static_cast<int>(n);
    } else if (a == "--rate" && parse_int(v, n) && n >= 0) {
      opt.limits.rate = static_cast<double>(n);
      opt.limits.burst = 2.0 * static_cast<double>(n);
    } else {
      return usage();
    }
  }
  if (opt.root.empty()) return usage();
  signal(SIGPIPE, SIG_IGN);
  if (struct stat st{}; fstat(2, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > kMaxLog) {
    if (ftruncate(2, 0) != 0) {
      // a log that cannot start over keeps growing: no reason not to serve
    }
  }
  std::string dir = opt.root + "/dns";
  mkdir(opt.root.c_str(), 0700);  // missing on a fresh root; Store::open checks it
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "netctl-dns: mkdir %s: %s\n", dir.c_str(), std::strerror(errno));
    return 1;
  }
  cnm::kernel::Fd lock;
  if (!take_lock(dir, lock)) {
    if (opt.ready_fd >= 0 && write(opt.ready_fd, "busy\n", 5) < 0) {
      // the starter then sees the pipe close, and asks the socket anyway
    }
    return lock.valid() ? 0 : 1;
  }
  // From here on only port 53 needs privilege (binding a new gateway's address later): every
  // other capability goes, for good, and nothing exec'd could regain one.
  constexpr uint64_t kKeep = 1ULL << CAP_NET_BIND_SERVICE;
  if (cnm::kernel::drop_bounding(kKeep) != 0 || cnm::kernel::set_caps(kKeep) != 0 ||
      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    std::fprintf(stderr, "netctl-dns: dropping capabilities: %s\n", std::strerror(errno));
    return 1;
  }
  return cnm::dns::serve(opt);
}

// netctl-overlay: the per-host agent of overlay networks (plugins/overlay/README.md).
// Usage: netctl-overlay --root ROOT --store etcd://H:P[,H:P...] --advertise IP --ttl N
//                       [--ready-fd FD]
// Started on demand by commands (cnm/core/overlay_control.h); one per state root.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "cnm/cluster/cluster_config.h"
#include "cnm/core/overlay_control.h"
#include "cnm/kernel/links.h"
#include "plugins/overlay/agent.h"
#include "plugins/overlay/log.h"

namespace {

// Bad arguments: one line, exit 2 (the usage is at the top of this file and in the README).
int usage(const std::string& why, int ready_fd) {
  fmt::print(stderr, "netctl-overlay: {}\n", why);
  if (ready_fd >= 0) {
    std::string line = "err " + why + "\n";
    (void)!write(ready_fd, line.data(), line.size());
  }
  return 2;
}

std::optional<int> int_arg(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

struct Args {
  std::string root, store, advertise, ttl, ready;
};

// Parses argv into `o`; "" or the reason it cannot.
std::string parse_args(int argc, char** argv, overlay::AgentOptions& o) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view k = argv[i];
    std::string* into = k == "--root"        ? &a.root
                        : k == "--store"     ? &a.store
                        : k == "--advertise" ? &a.advertise
                        : k == "--ttl"       ? &a.ttl
                        : k == "--ready-fd"  ? &a.ready
                                             : nullptr;
    if (into == nullptr) return fmt::format("unknown argument '{}'", cnm::printable(k));
    if (i + 1 >= argc) return fmt::format("{} needs a value", k);
    *into = argv[++i];
  }
  if (!a.ready.empty()) {
    auto fd = int_arg(a.ready);
    if (!fd || *fd < 0) return "--ready-fd: not a descriptor";
    o.ready_fd = *fd;
  }
  if (a.root.empty() || a.root[0] != '/') return "--root must be an absolute path";
  o.root = a.root;
  auto store = cnm::cluster::parse_cluster_store(a.store);
  if (!store) return "--store: " + store.error().message;
  for (const auto& e : *store) o.urls.push_back(e.url());
  auto adv = cnm::cluster::parse_cluster_advertise(a.advertise);
  if (!adv) return "--advertise: " + adv.error().message;
  o.advertise = *cnm::IpAddr::parse(*adv);
  auto ttl = cnm::parse_overlay_ttl(a.ttl.empty() ? nullptr : a.ttl.c_str());
  if (!ttl) return "--ttl: " + ttl.error().message;
  o.ttl = *ttl;
  return "";
}

// Takes ROOT/overlay/agent.lock for the life of the process: its descriptor, or -1 when another
// agent holds it.
cnm::Result<int> take_agent_lock(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return cnm::fail(cnm::Code::kFailed, "mkdir {}: {}", dir, std::strerror(errno));
  int fd = open((dir + "/agent.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return cnm::fail(cnm::Code::kFailed, "open {}/agent.lock: {}", dir, std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return fd;
  int err = errno;
  close(fd);
  if (err == EWOULDBLOCK) return -1;
  return cnm::fail(cnm::Code::kFailed, "lock {}/agent.lock: {}", dir, std::strerror(err));
}

// ROOT/overlay/agent.pid, replaced atomically.
void write_pid(const std::string& dir) {
  std::string tmp = dir + "/agent.pid.tmp", text = fmt::format("{}\n", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  if (ok) rename(tmp.c_str(), (dir + "/agent.pid").c_str());
}

}  // namespace

int main(int argc, char** argv) {
  overlay::AgentOptions o;
  if (auto why = parse_args(argc, argv, o); !why.empty()) return usage(why, o.ready_fd);
  const std::string dir = o.root + "/overlay";
  auto fail_start = [&](const std::string& why) {
    overlay::log("{}", why);
    if (o.lock_fd >= 0) {  // released before the starter reads why
      unlink((dir + "/agent.pid").c_str());
      close(o.lock_fd);
    }
    if (o.ready_fd >= 0) {
      std::string line = "err " + why + "\n";
      (void)!write(o.ready_fd, line.data(), line.size());
    }
    return 1;
  };
  auto locked = take_agent_lock(dir);
  if (!locked) return fail_start(locked.error().message);
  if (*locked < 0) {  // one runs already
    if (o.ready_fd >= 0) (void)!write(o.ready_fd, "busy\n", 5);
    return 0;
  }
  o.lock_fd = *locked;
  unlink((dir + "/lease").c_str());  // a dead agent's: never read as this one's
  write_pid(dir);
  // One store handle per thread (the watch thread reads the local networks too).
  auto rt = cnm::Runtime::open(cnm::Config{}, o.root);
  if (!rt) return fail_start("open the store: " + rt.error().message);
  auto watch_rt = cnm::Runtime::open(cnm::Config{}, o.root);
  if (!watch_rt) return fail_start("open the store: " + watch_rt.error().message);
  auto root_id = (*rt)->controller().store().root_id();
  if (!root_id) return fail_start("root id: " + root_id.error().message);
  auto vx = cnm::kernel::make_linux_vxlans(cnm::kernel::owner_group(*root_id));
  overlay::Agent agent(std::move(o), **rt, **watch_rt, std::move(vx), *root_id);
  int rc = agent.run();
  // The watch thread is still running: no destructor may run under it.
  std::fflush(nullptr);
  std::_Exit(rc);
}

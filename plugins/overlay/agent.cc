// The agent's main thread: registration, keepalive, lost leases, leaving and SIGTERM (watcher.cc:
// the watch thread; sync.cc: the kernel).
#include "plugins/overlay/agent.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <thread>

#include "plugins/overlay/log.h"

namespace overlay {
namespace {

using cnm::Code;
using cnm::fail;
using Clock = std::chrono::steady_clock;

using std::chrono::milliseconds;

// How often the main thread looks for SIGTERM and for a resync request the watch thread has not
// taken (no peer event came to carry it): then the watch is interrupted.
constexpr milliseconds kTick(100);

sigset_t stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  return s;
}

// Waits up to `wait` for SIGTERM or SIGINT (blocked in every thread): true if one came.
bool stop_signalled(const sigset_t& stop, milliseconds wait) {
  timespec ts{0, static_cast<long>(wait.count()) * 1000000L};
  return sigtimedwait(&stop, nullptr, &ts) > 0;
}

// Writes `lease` to DIR/lease: a new file, synced, then renamed over the old one, so a reader sees
// the old lease or the new one, never part of one.
cnm::Status write_lease_file(const std::string& dir, int64_t lease) {
  const std::string tmp = dir + "/lease.tmp", path = dir + "/lease";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Code::kFailed, "open {}: {}", tmp, std::strerror(errno));
  std::string text = fmt::format("{}\n", lease);
  bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok) return fail(Code::kFailed, "write {}: {}", tmp, std::strerror(err));
  if (rename(tmp.c_str(), path.c_str()) != 0)
    return fail(Code::kFailed, "rename {}: {}", path, std::strerror(errno));
  return {};
}

}  // namespace

Agent::Agent(AgentOptions o, cnm::Runtime& rt, cnm::Runtime& watch_rt,
             std::unique_ptr<cnm::kernel::Vxlans> vxlans, std::string host_id)
    : o_(std::move(o)),
      rt_(rt),
      host_(std::move(host_id)),
      etcd_(cnm::cluster::EtcdOptions{o_.urls}),
      state_(etcd_),
      watcher_(o_, watch_rt, std::move(vxlans), host_, shared_) {}

void Agent::ready(const std::string& line) {
  if (line.starts_with("err ") && o_.lock_fd >= 0) {
    // Gone before the starter reads why: its next ensure() finds no agent and starts one.
    unlink((o_.root + "/overlay/agent.pid").c_str());
    close(o_.lock_fd);
    o_.lock_fd = -1;
  }
  if (o_.ready_fd < 0) return;
  std::string text = line + "\n";
  (void)!write(o_.ready_fd, text.data(), text.size());
  close(o_.ready_fd);
  o_.ready_fd = -1;
}

void Agent::ask_resync() {
  resync_asked_ = Clock::now();
  interrupted_ = false;
  shared_.resync = true;
}

cnm::Status Agent::register_host() {
  lease_ = CNM_VALUE(state_.register_host(host_, o_.advertise, o_.ttl));
  shared_.lease = lease_;
  CNM_TRY(write_lease_file(o_.root + "/overlay", lease_));
  log("registered host {} (VTEP {}) under lease {:x}, TTL {} s", host_, o_.advertise.str(), lease_,
      o_.ttl);
  // Asked before the records are published again: their events carry the request to the watch
  // thread, which then syncs in full and acknowledges under the new lease.
  if (lost_) ask_resync();
  auto local = CNM_VALUE(read_local(rt_));
  for (const auto& [name, n] : local) {
    for (const auto& ep : n.endpoints) {
      if (ep.addresses.empty() || ep.addresses[0].is_v6()) continue;
      const cnm::IpAddr ip = ep.addresses[0].addr();
      auto r = state_.publish_peer(name, {ip, ep.mac, o_.advertise, host_, ep.id}, lease_);
      if (!r) {
        log("publish {} of network {}: {}", ip.str(), name, r.error().message);
        if (r.error().code != Code::kConflict) return std::unexpected(r.error());
      }
    }
  }
  lost_ = false;
  return {};
}

cnm::Status Agent::round() {
  if (lost_) CNM_TRY(register_host());
  auto k = state_.keepalive_host(lease_);
  if (k) return {};
  if (k.error().code != Code::kNotFound) return std::unexpected(k.error());
  log("lease {:x} is gone: registering again", lease_);
  lost_ = true;
  return register_host();
}

bool Agent::busy() {
  auto local = read_local(rt_);
  if (!local) {
    log("read the store: {}", local.error().message);
    return true;
  }
  bool any = false;
  for (const auto& [name, n] : *local) {
    // A network new here (or made again under its name) the watch thread has not synced: no peer
    // event may come to make it, so the request ends the watch if need be.
    if (!shared_.synced(n.id) && !shared_.resync) ask_resync();
    any = any || !n.endpoints.empty();
  }
  return any;
}

bool Agent::leave_if_idle(bool force) {
  if (!force && busy()) return false;
  // Commands call OverlayControl::ensure() holding the store's write lock: the agent decides to
  // leave under it too, and keeps it until it has exited, so no command sees a leaving agent.
  int lock = open((o_.root + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) return false;
  auto stay = [lock] {
    close(lock);
    return false;
  };
  auto until = Clock::now() + std::chrono::seconds(force ? 5 : 0);
  while (flock(lock, LOCK_EX | LOCK_NB) != 0) {
    if (Clock::now() >= until) {
      if (!force) return stay();
      log("store lock busy for 5 s: leaving without it");
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  if (!force && busy()) return stay();  // an endpoint came before the lock
  if (lease_ != 0) {
    auto st = state_.unregister_host(lease_);
    if (!st) log("revoke lease {:x}: {}", lease_, st.error().message);
  }
  unlink((o_.root + "/overlay/lease").c_str());
  unlink((o_.root + "/overlay/agent.pid").c_str());
  log("{}: host {} unregistered, exiting", force ? "stopped" : "no overlay endpoint left", host_);
  return true;  // `lock` stays open: the exit releases it
}

int Agent::run() {
  std::signal(SIGPIPE, SIG_IGN);
  // Blocked here, so in the watch thread too: only sigtimedwait below takes them.
  const sigset_t stop = stop_signals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  if (auto st = register_host(); !st) {
    log("register host {}: {}", host_, st.error().message);
    ready("err " + st.error().message);
    return 1;
  }
  ready(fmt::format("ok {}", lease_));
  std::thread([this] { watcher_.run(); }).detach();
  const milliseconds period(std::min(1000, o_.ttl * 1000 / 3));
  auto next_round = Clock::now() + period;
  int failures = 0;
  while (!stop_signalled(stop, kTick)) {
    if (shared_.resync && !interrupted_ && Clock::now() - resync_asked_ >= kTick) {
      shared_.interrupt = true;  // no peer event took the request: end the watch
      interrupted_ = true;
    }
    if (Clock::now() < next_round) continue;
    if (leave_if_idle(false)) return 0;
    auto st = round();
    // etcd unreachable: keep trying (the lease may outlive the outage), slower each time.
    if (!st) log("{}", st.error().message);
    failures = st ? 0 : failures + 1;
    next_round = Clock::now() + (st ? period : milliseconds(100 << std::min(failures, 4)));
  }
  leave_if_idle(true);
  return 0;
}

}  // namespace overlay

// The agent's life: registration, the watch rounds, lost leases and leaving (sync.cc: the kernel).
#include "plugins/overlay/agent.h"

#include <fcntl.h>
#include <fmt/format.h>
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

volatile std::sig_atomic_t g_stop = 0;

void request_stop(int) { g_stop = 1; }

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

Agent::Agent(AgentOptions o, cnm::Runtime& rt, std::unique_ptr<cnm::kernel::Vxlans> vxlans,
             std::string host_id)
    : o_(std::move(o)),
      rt_(rt),
      vx_(std::move(vxlans)),
      host_(std::move(host_id)),
      etcd_(cnm::cluster::EtcdOptions{o_.urls}),
      state_(etcd_) {}

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

cnm::Status Agent::register_host() {
  lease_ = CNM_VALUE(state_.register_host(host_, o_.advertise, o_.ttl));
  last_keepalive_ = Clock::now();
  acked_ = 0;  // the old lease's ack went with it
  CNM_TRY(write_lease_file(o_.root + "/overlay", lease_));
  log("registered host {} (VTEP {}) under lease {:x}, TTL {} s", host_, o_.advertise.str(), lease_,
      o_.ttl);
  CNM_TRY(refresh_local());
  for (const auto& [name, n] : local_) {
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
  using std::chrono::milliseconds;
  const milliseconds period(std::min(1000, o_.ttl * 1000 / 3));
  if (lost_) {
    CNM_TRY(register_host());
    dirty_ = true;
  }
  if (dirty_ || next_ == 0) {
    dirty_ = false;
    int64_t rev = CNM_VALUE(resync());
    next_ = rev + 1;
    on_batch(rev);
  }
  auto on_ev = [this](const cnm::cluster::PeerEvent& e) { return on_event(e); };
  auto on_b = [this](int64_t rev) { return on_batch(rev); };
  auto next = state_.watch_peers("", next_, on_ev, period, on_b);
  if (!next) {
    if (next.error().code == Code::kConflict) {
      log("watch from revision {}: history compacted, reading every peer again", next_);
      next_ = 0;
    } else {
      return std::unexpected(next.error());
    }
  } else {
    next_ = *next;
  }
  if (Clock::now() - last_keepalive_ >= period) {
    auto k = state_.keepalive_host(lease_);
    if (k) {
      last_keepalive_ = Clock::now();
    } else if (k.error().code == Code::kNotFound) {
      log("lease {:x} is gone: registering again", lease_);
      lost_ = true;
    } else {
      return std::unexpected(k.error());
    }
  }
  return {};
}

bool Agent::on_batch(int64_t revision) {
  // A change that could not be applied is not acknowledged: the next round syncs in full first.
  if (dirty_ || revision <= acked_) return false;
  auto st = state_.put_ack(host_, revision, lease_);
  if (st) {
    acked_ = revision;
  } else {
    log("ack of revision {}: {}", revision, st.error().message);
    if (st.error().code == Code::kNotFound) lost_ = true;
  }
  return false;  // end the watch: the round keeps the lease alive and checks for leaving
}

bool Agent::leave_if_idle(bool force) {
  // The local view is read again each round: that also brings a network new here to the next
  // round's sync.
  auto busy = [this] {
    if (auto st = refresh_local(); !st) {
      log("read the store: {}", st.error().message);
      return true;
    }
    return std::ranges::any_of(local_, [](const auto& kv) { return !kv.second.endpoints.empty(); });
  };
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
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
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
  std::signal(SIGTERM, request_stop);
  std::signal(SIGINT, request_stop);
  std::signal(SIGPIPE, SIG_IGN);
  if (auto st = register_host(); !st) {
    log("register host {}: {}", host_, st.error().message);
    ready("err " + st.error().message);
    return 1;
  }
  ready(fmt::format("ok {}", lease_));
  int failures = 0;
  while (g_stop == 0) {
    if (leave_if_idle(false)) return 0;
    auto st = round();
    if (st) {
      failures = 0;
      continue;
    }
    // etcd unreachable: keep trying (the lease may outlive the outage), slower each time.
    log("{}", st.error().message);
    dirty_ = true;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min(1000, 100 << std::min(failures++, 4))));
  }
  leave_if_idle(true);
  return 0;
}

}  // namespace overlay

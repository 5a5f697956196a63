// The commands' handle on the state root's overlay agent (netctl-overlay, plugins/overlay): start
// it when none runs, and learn the etcd lease it holds for this host, to which the commands bind
// the peer records they publish. Plain POSIX: no etcd code here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cnm/model/error.h"

namespace cnm {

class OverlayControl {
 public:
  virtual ~OverlayControl() = default;
  // Makes sure this root's agent runs (starts one when none holds ROOT/overlay/agent.lock) and
  // returns the lease it registered the host under (ROOT/overlay/lease). `stale`: a lease the
  // caller's publish was refused under; waits (up to 2 s) until the agent has registered another.
  // Called with the store's write lock held: an agent leaves only under that lock, so one found
  // running stays. Errors are one line, Code::kFailed.
  virtual Result<int64_t> ensure(int64_t stale = 0) = 0;
  // Whether this root's agent runs (its lock is held).
  virtual Result<bool> running() = 0;
};

struct OverlayAgentSettings {
  std::string root;       // the state root
  std::string store;      // cluster-store as configured: "etcd://H:P[,H:P...]"
  std::string advertise;  // cluster-advertise: this host's VTEP address
  int ttl_seconds = 10;   // the host's lease (overlay_ttl)
  std::string agent;      // the netctl-overlay binary (default_overlay_agent_path())
};

std::unique_ptr<OverlayControl> make_overlay_control(OverlayAgentSettings settings);
// netctl-overlay next to /proc/self/exe.
std::string default_overlay_agent_path();

inline constexpr const char* kOverlayTtlEnv = "NETCTL_OVERLAY_TTL";
inline constexpr int kOverlayTtlDefault = 10;
inline constexpr int kOverlayTtlMin = 2;
inline constexpr int kOverlayTtlMax = 3600;
// The lease TTL in seconds from `value` ($NETCTL_OVERLAY_TTL; null or empty: the default 10):
// an integer in 2-3600, else Code::kInvalid naming the variable.
Result<int> parse_overlay_ttl(const char* value);

}  // namespace cnm

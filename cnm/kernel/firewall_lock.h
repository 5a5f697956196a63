// Private to cnm/kernel: the lock every iptables process takes around a table replacement.
#pragma once

#include <chrono>

#include "cnm/kernel/fd.h"
#include "cnm/model/error.h"

namespace cnm::kernel {

// flock(LOCK_EX) on $XTABLES_LOCKFILE, else /run/xtables.lock, opened like iptables 1.8.9 does
// (O_RDONLY|O_CREAT, 0600), so netctl, netctl-cni and iptables-legacy never replace a table from
// the same snapshot. iptables waits forever; take() gives up after `wait` (Code::kFailed).
// Held until destruction.
class XtablesLock {
 public:
  static Result<XtablesLock> take(std::chrono::milliseconds wait = std::chrono::seconds(30));

 private:
  explicit XtablesLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace cnm::kernel

// Capability sets of this process, by raw syscalls (safe between fork and exec: no allocation).
// `caps`: a bit per capability (1 << CAP_X).
#pragma once

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace cnm::kernel {

// The bounding set reduced to `caps` and the ambient set cleared: nothing this process execs can
// gain more. 0, or -1 with errno.
inline int drop_bounding(uint64_t caps) {
  for (int cap = 0; cap <= 63; ++cap) {
    if (caps & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -1;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return -1;
  return 0;
}

// The effective, permitted and inheritable sets set to `caps`. 0, or -1 with errno.
inline int set_caps(uint64_t caps) {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2] = {};
  for (int i = 0; i < 2; ++i) {
    auto bits = static_cast<uint32_t>(caps >> (32 * i));
    d[i].effective = d[i].permitted = d[i].inheritable = bits;
  }
  return static_cast<int>(syscall(SYS_capset, &h, d));
}

}  // namespace cnm::kernel

// Device access of `netctl run` containers: Docker's default rules (mknod of any node; open only
// of null, zero, full, random, urandom, tty, console, ptmx and the pts), applied through the v1
// devices controller or, on cgroup v2, a BPF_PROG_TYPE_CGROUP_DEVICE program on the container's
// cgroup. Without them a container keeps CAP_MKNOD and could make and open any host device.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cnm/model/error.h"

namespace cnm::launcher {

// Access bits, the values of BPF_DEVCG_ACC_* ("m", "r", "w" in v1 rules).
inline constexpr uint32_t kDevMknod = BPF_DEVCG_ACC_MKNOD;
inline constexpr uint32_t kDevRead = BPF_DEVCG_ACC_READ;
inline constexpr uint32_t kDevWrite = BPF_DEVCG_ACC_WRITE;
inline constexpr uint32_t kDevAll = kDevMknod | kDevRead | kDevWrite;
inline constexpr int kAnyNumber = -1;  // "*" as a major or minor number

struct DeviceRule {
  char type;        // 'c' or 'b'
  int major;        // or kAnyNumber
  int minor;        // or kAnyNumber
  uint32_t access;  // kDev* bits allowed
};

// Docker's default allow list; everything else is denied.
std::span<const DeviceRule> default_device_rules();

// A rule in devices.allow syntax: "c 1:3 rwm", "b *:* m".
std::string device_rule_line(const DeviceRule& rule);

// The v1 writes, in order, as {file, line}: "a" to devices.deny (deny everything, drop inherited
// exceptions), then one devices.allow line per rule (the file takes one rule per write).
std::vector<std::pair<std::string, std::string>> device_writes_v1();

// The cgroup device program for `rules`: reads struct bpf_cgroup_dev_ctx from R1, returns 1 when
// a rule allows the type, numbers and every requested access bit, else 0 (EPERM).
std::vector<bpf_insn> device_program(std::span<const DeviceRule> rules);

// Loads device_program(default_device_rules()) and attaches it (BPF_CGROUP_DEVICE, no flags: a
// program attached earlier is replaced) to the cgroup2 directory `cgroup_dir`. The attachment
// holds the program; removing the cgroup frees it.
Status attach_device_program(const std::string& cgroup_dir);

}  // namespace cnm::launcher

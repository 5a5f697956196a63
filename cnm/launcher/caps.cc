// Capability names and Docker's --cap-add/--cap-drop rules (caps.h).
#include "cnm/launcher/caps.h"

#include <linux/capability.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "cnm/launcher/spawn.h"

namespace cnm::launcher {
namespace {

// Indexed by capability number (linux/capability.h).
constexpr std::array<std::string_view, 41> kCapNames = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
static_assert(CAP_LAST_CAP < kCapNames.size(), "a capability without a name");
static_assert(CAP_SYS_ADMIN == 21 && CAP_BPF == 39 && CAP_CHECKPOINT_RESTORE == 40);

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_all(std::string_view name) { return upper(name) == "ALL"; }

// The mask of the named capabilities, "ALL" skipped.
Result<uint64_t> mask_of(const std::vector<std::string>& names) {
  uint64_t mask = 0;
  for (const auto& n : names) {
    if (is_all(n)) continue;
    auto cap = cap_number(n);
    if (!cap) return fail(Code::kInvalid, "unknown capability '{}'", n);
    mask |= 1ULL << *cap;
  }
  return mask;
}

}  // namespace

uint64_t all_caps() { return (2ULL << CAP_LAST_CAP) - 1; }

std::string_view cap_name(int cap) {
  return cap >= 0 && cap <= CAP_LAST_CAP ? kCapNames[static_cast<size_t>(cap)] : "";
}

std::optional<int> cap_number(std::string_view name) {
  std::string n = upper(name);
  if (!n.starts_with("CAP_")) n = "CAP_" + n;
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap)
    if (kCapNames[static_cast<size_t>(cap)] == n) return cap;
  return std::nullopt;
}

Result<uint64_t> capability_set(const std::vector<std::string>& add,
                                const std::vector<std::string>& drop) {
  auto added = CNM_VALUE(mask_of(add));
  auto dropped = CNM_VALUE(mask_of(drop));
  if (std::ranges::any_of(add, is_all)) return all_caps() & ~dropped;
  if (std::ranges::any_of(drop, is_all)) return added;
  return (kDefaultCaps & ~dropped) | added;
}

std::string cap_list(uint64_t caps) {
  std::string out;
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (!(caps & (1ULL << cap))) continue;
    if (!out.empty()) out += ',';
    out += cap_name(cap);
  }
  return out;
}

}  // namespace cnm::launcher

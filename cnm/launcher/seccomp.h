// The workload's system call filter (seccomp). A Profile is Docker's JSON seccomp profile as a
// value: the default action, the architectures and rules whose inclusion depends on the
// container's capabilities, the native architecture and the kernel version. default_profile() has
// the effect of Docker's default profile; parse_profile() reads Docker's JSON format. compile()
// turns a profile into classic BPF with libseccomp before clone, and load_seccomp() installs it in
// the child with one system call, after no_new_privs and right before exec.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cnm/model/error.h"

namespace cnm::launcher {

namespace seccomp {

enum class Action { kAllow, kErrno, kKillThread, kKillProcess, kTrap, kTrace, kLog };
enum class Op { kNe, kLt, kLe, kEq, kGe, kGt, kMaskedEq };

// One argument comparison: for kMaskedEq, (arg & value) == value_two; otherwise arg <op> value.
struct ArgCond {
  unsigned index = 0;  // 0..5
  uint64_t value = 0, value_two = 0;
  Op op = Op::kEq;
};

// When a rule applies (Docker's includes/excludes): `includes` needs every listed capability, the
// native architecture among `arches` ("amd64", "x86", "arm64", ...) and a kernel >= min_kernel;
// `excludes` drops the rule on any listed capability, on a listed architecture, or on a kernel
// >= min_kernel. Empty fields do not count.
struct Filter {
  std::vector<std::string> caps;  // "CAP_SYS_ADMIN"
  std::vector<std::string> arches;
  std::optional<std::pair<unsigned, unsigned>> min_kernel;  // {4, 8}
};

struct Rule {
  std::vector<std::string> names;  // system call names; unknown ones are skipped
  Action action = Action::kAllow;
  std::optional<uint32_t> errno_ret;  // kErrno / kTrace; EPERM when absent
  std::vector<ArgCond> args;          // all must hold (one index each); see compile()
  Filter includes, excludes;
};

struct ArchMap {
  std::string arch;               // "SCMP_ARCH_X86_64"
  std::vector<std::string> subs;  // "SCMP_ARCH_X86", "SCMP_ARCH_X32"
};

struct Profile {
  Action default_action = Action::kErrno;
  std::optional<uint32_t> default_errno;   // EPERM when absent
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", ...: all of them are filtered
  std::vector<ArchMap> arch_map;           // or: the native entry and its subarchitectures
  std::vector<Rule> rules;                 // in order; a later rule for the same call adds to it
};

// Docker's default profile (moby profiles/seccomp/default.json): an allowlist with EPERM for the
// rest, personality(2) limited to a few personas, clone without namespace flags and clone3 ENOSYS
// unless CAP_SYS_ADMIN, and extra calls for CAP_SYS_ADMIN, SYS_PTRACE, SYS_MODULE, SYS_BOOT, ...
Profile default_profile();

// Names default_profile() without building it (a hash of its tables and a revision): the cache key
// of the default, 0.1 ms cheaper than fingerprint(default_profile()).
std::string default_profile_key();

// Docker's JSON profile: defaultAction, defaultErrnoRet, architectures or archMap, syscalls[] with
// names (or name), action, errnoRet, args [{index, value, valueTwo, op}], includes and excludes
// {caps, arches, minKernel}; other keys are ignored. Malformed JSON, a missing defaultAction, an
// unknown action or op, an index past 5 or an unknown architecture is Code::kInvalid with one line
// naming the field.
Result<Profile> parse_profile(std::string_view json);

// A stable text of everything compile() reads from a profile (the cache key's base).
std::string fingerprint(const Profile& profile);

// libseccomp's token for a profile's architecture name ("SCMP_ARCH_X86" -> SCMP_ARCH_X86), 0 for
// a name this libseccomp does not know.
uint32_t arch_token(std::string_view name);

}  // namespace seccomp

// A loadable filter. `unconfined`: nothing is loaded (insns empty).
struct SeccompProgram {
  std::vector<sock_filter> insns;
  bool unconfined = false;
};

// The profile's rules that apply to a container holding `caps` on this machine (native
// architecture, running kernel), compiled with libseccomp for the profile's architectures. Names
// libseccomp does not know are skipped (as Docker does); rules whose action is the default action
// add nothing. A rule with two conditions on one argument becomes one rule per condition (runc's
// reading). Code::kFailed if libseccomp refuses or the program exceeds BPF_MAXINSNS.
Result<SeccompProgram> compile(const seccomp::Profile& profile, uint64_t caps);

// Async-signal-safe, allocates nothing: installs the program in the calling thread
// (PR_SET_SECCOMP, SECCOMP_MODE_FILTER). No_new_privs must be set already unless the caller has
// CAP_SYS_ADMIN. Returns 0 (also for an unconfined program) or -1 with errno.
int load_seccomp(const SeccompProgram& program);

// The front door: `spec` is "" (the default profile), "unconfined", or the text of a JSON profile.
// With a `cache_dir`, the compiled program is kept in cache_dir/<hash>.bpf (0600, written with a
// rename; the directory is made 0700 if missing) and read back on the next call with the same
// profile, capabilities, libseccomp version, architecture and kernel; a cache file that does not
// match exactly, is not a regular file of ours or cannot be read is ignored and rewritten.
Result<SeccompProgram> seccomp_for(const std::string& spec, uint64_t caps,
                                   const std::string& cache_dir = "");

}  // namespace cnm::launcher

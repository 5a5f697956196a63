// Helpers for privileged tests (netctl_priv). main.cc has already moved the whole process into a
// private mount namespace (tmpfs on /run/netns) and a throwaway network namespace, so nothing a
// test does can reach the host's own network namespace.
#pragma once

#include <cstdint>
#include <string>

namespace priv {

// The owner mark (link group) of the state root the priv tests play: what make_linux_links and
// make_linux_endpoints are made with. kMarkIp is the same for `ip link ... group`.
inline constexpr uint32_t kMark = 0x2a1b2c3d;
inline constexpr const char* kMarkIp = "706423869";

// Moves the calling process into a new network namespace with lo up. Put one at the top of every
// TEST_CASE: each case then starts from an empty namespace; the previous one disappears when
// nothing references it any more. Throws std::runtime_error on failure.
struct FreshNetns {
  FreshNetns();
};

// What a command printed on stdout and its exit status (128+N if killed by signal N).
struct ShResult {
  std::string out;
  int rc = 0;
};

// Runs `cmd` with /bin/sh in the current namespaces and returns its stdout (stderr passes
// through). Throws std::runtime_error if the shell cannot be started or `cmd` exits non-zero, so
// a check of the output never reads what a failed command left behind.
std::string sh(const std::string& cmd);

// Like sh() for a command whose failure is an expected outcome: the caller checks `rc`.
ShResult sh_status(const std::string& cmd);

// Runs `cmd` with /bin/sh and returns its exit status (128+N if killed by signal N).
int sh_rc(const std::string& cmd);

// Called once by main() before any test: unshare mount + network namespaces, make / private,
// mount a tmpfs on /run/netns. Throws std::runtime_error on failure.
void isolate_process();

}  // namespace priv

// Processes of the launcher: identity across pid reuse, waiting for a non-child, the detached
// supervisor, and exec into a running container.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cnm/launcher/spawn.h"
#include "cnm/model/error.h"

namespace cnm::launcher {

// The start time of `pid` (field 22 of /proc/N/stat), 0 when there is no such process.
uint64_t start_time(pid_t pid);
// Whether `pid` still is the process that had `start` (a zombie counts as gone).
bool alive(pid_t pid, uint64_t start);
// Waits up to `timeout_ms` (-1: forever) for the process to be gone; true if it is.
bool wait_gone(pid_t pid, uint64_t start, int timeout_ms);

struct Detached {
  pid_t supervisor = 0;
  pid_t workload = 0;
};
// Forks the supervisor, which clones the workload (held on the go pipe) and then execs
// `shim_argv` (the workload's pid is appended) with `log_pipe` (the read end of the workload's
// output) as fd 3 and `log_file` as fd 4 when both are given. Returns both pids; release() the
// workload next.
Result<Detached> spawn_detached(const Plan& plan, Pipes& pipes,
                                const std::vector<std::string>& shim_argv, int log_pipe = -1,
                                int log_file = -1);

// Runs spec.argv inside every namespace of the process `pid` (which must still be the one that
// started at `start`), in the cgroups whose cgroup.procs files are `procs`, as spec.uid/gid in
// spec.workdir with spec.env, the capability set spec.caps, no_new_privs and spec.seccomp, through
// the sealed exec stub. Returns its exit code (127: not found, 126: not executable).
Result<int> exec_in(pid_t pid, uint64_t start, const std::vector<std::string>& procs,
                    SpawnSpec spec);

// The exit status the supervisor writes: "<wait status>\n".
std::string exit_record(int wait_status);
// Exit code of a wait status: the code, or 128+N for signal N.
int exit_code_of(int wait_status);

}  // namespace cnm::launcher

// What the commands' controls of a state root's helper processes share (netctl-dns,
// cnm/core/dns_control.h; netctl-overlay, cnm/core/overlay_control.h): starting one detached with
// a ready pipe, asking whether one runs (its flock is held), reading its log's last line. Plain
// POSIX.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/model/error.h"

namespace cnm::daemon {

// Reads up to '\n' (not kept), EOF or `max` bytes from `fd`, waiting at most `timeout_ms` in all.
// nullopt: timed out.
std::optional<std::string> read_line(int fd, int timeout_ms, size_t max = 512);

// Starts `args` (args[0] the binary) detached from the caller: a grandchild in a session of its
// own, stdin and stdout on /dev/null, stderr appended to `log`, the write end of a ready pipe as
// fd 3 and no other descriptor (the store's write lock above all), default signal dispositions.
// Returns the first line it writes on the pipe, or "" when it ended without one; kFailed naming
// `what` when none came within `timeout_ms`.
Result<std::string> spawn(std::vector<std::string> args, const std::string& log, int timeout_ms,
                          std::string_view what);

// Whether another process holds the flock on `path` (a missing file: no).
Result<bool> lock_held(const std::string& path);

// The last line of the file `log` (read from its last KiB), printable; "no log" when it cannot be
// read, "no log line" when it is empty.
std::string last_log_line(const std::string& log);

// The program `name` in the directory of this process's executable.
std::string sibling_path(std::string_view name);

}  // namespace cnm::daemon

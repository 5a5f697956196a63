// The log of a detached container: `--log-opt` limits (Docker's json-file option names) and
// reading the live and rotated files in order. netctl-shim writes and rotates them
// (shim/log_writer.h): `log` is the live file, `log.1` the newest rotated one, up to
// `log.<max_file - 1>`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cnm/kernel/fd.h"
#include "cnm/model/error.h"

namespace cnm::launcher {

inline constexpr int64_t kLogMaxSize = int64_t{10} << 20;  // bytes per file
inline constexpr int kLogMaxFile = 2;                      // files, the live one included
inline constexpr int64_t kLogMaxSizeLimit = int64_t{1} << 40;
inline constexpr int kLogMaxFileLimit = 100;

struct LogLimits {
  int64_t max_size = kLogMaxSize;
  int max_file = kLogMaxFile;
};

// `max-size=SIZE` (100, 10k, 5m, 1g; also kb/kib forms; 1024-based, case-insensitive) and
// `max-file=N` (1 to 100), the defaults for what is not given; a later option overrides an
// earlier one. Code::kInvalid for an unknown name, a missing '=' or a bad value.
Result<LogLimits> parse_log_opts(const std::vector<std::string>& opts);
// Limits as recorded: 0 stands for the default.
LogLimits log_limits(int64_t max_size, int max_file);
// `bytes` in the shortest exact SIZE form: 10485760 -> "10m", 102400 -> "100k", 100 -> "100".
std::string size_text(int64_t bytes);

// Copies a container's log to a descriptor in the order it was written: on the first call the
// rotated files oldest first, then the live one; on later calls what was written since, across
// rotations (the live file renamed to log.1: what it still held, the files rotated after it,
// then the new live file) and truncations (max-file=1). Files rotated out between two calls are
// lost to the reader, as they are to the directory.
class LogReader {
 public:
  LogReader(std::string dir, int max_file);
  void copy_new(int out);

 private:
  struct Snapshot {
    std::vector<kernel::Fd> fds;  // log.<max_file - 1> .. log.1, then log; -1 where missing
    std::vector<ino_t> inos;
  };
  std::string path(int i) const;  // 0: the live file
  Snapshot snapshot() const;

  std::string dir_;
  int max_file_;
  kernel::Fd live_;
  ino_t live_ino_ = 0;
  off_t at_ = 0;
};

}  // namespace cnm::launcher

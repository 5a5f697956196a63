// The log netctl-shim writes a detached workload's output into, capped and rotated as with
// Docker's json-file `max-size` and `max-file` (cnm/launcher/logs.h reads it back). System calls
// only: the shim is static and small.
//
// The live file never passes `max_size`: a chunk that does not fit in what is left of it goes to
// a fresh file, and a chunk larger than `max_size` is split across rotations (nothing is dropped
// while files rotate; the oldest file goes). Rotating renames log.<max_file-2> -> log.<max_file-1>
// ... log -> log.1 (replacing the oldest) and opens a fresh `log`; with max_file=1 it truncates
// `log` instead. Every name is resolved under `dir`, a descriptor of the container directory, so
// renaming the directory cannot redirect writes, and no other name is ever created there: the
// files total at most max_size * max_file bytes whatever the workload writes.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

namespace netctl_shim {

struct LogWriter {
  int dir = -1;            // the container directory
  const char* name = "";   // the live file's name in it ("log")
  int fd = -1;             // the live file, O_APPEND
  long long size = 0;      // bytes in it
  long long max_size = 1;  // >= 1
  int max_file = 1;        // >= 1, the live file included
  bool ok = true;          // false once a write or a rotation failed: output is then dropped

  // Takes `log_fd` (the live file, already open) and its size.
  void start(int log_fd) {
    fd = log_fd;
    struct stat st;
    size = fstat(fd, &st) == 0 ? st.st_size : 0;
  }

  void write_all(const char* p, size_t n) {
    while (ok && n > 0) {
      if (size > 0 && size + static_cast<long long>(n) > max_size) ok = rotate();
      if (!ok) break;
      size_t room = static_cast<size_t>(max_size - size);  // > 0: size < max_size here
      ssize_t w = write(fd, p, n < room ? n : room);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        ok = false;
        break;
      }
      size += w;
      p += w;
      n -= static_cast<size_t>(w);
    }
  }

  void finish() {
    if (fd >= 0) close(fd);
    if (dir >= 0) close(dir);
    fd = dir = -1;
  }

 private:
  bool rotate() {
    if (max_file > 1 && shift_names()) {
      int fresh =
          openat(dir, name, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
      if (fresh < 0) return false;
      close(fd);
      fd = fresh;
    } else if (ftruncate(fd, 0) != 0) {  // max-file=1, or the live file could not be renamed
      return false;
    }
    size = 0;
    return true;
  }

  // log.<i> -> log.<i+1> from the oldest kept, then log -> log.1; false if the last one failed.
  bool shift_names() {
    char from[300], to[300];
    for (int i = max_file - 2; i >= 1; --i) {
      snprintf(from, sizeof from, "%s.%d", name, i);
      snprintf(to, sizeof to, "%s.%d", name, i + 1);
      renameat(dir, from, dir, to);  // a missing one (fewer rotations so far) is fine
    }
    snprintf(to, sizeof to, "%s.1", name);
    return renameat(dir, name, dir, to) == 0;
  }
};

}  // namespace netctl_shim

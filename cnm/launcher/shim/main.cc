// netctl-shim: the supervisor of a detached container (cnm/launcher/README.md). It is the
// workload's parent (the launcher cloned the workload, then exec'd this), so it can wait for it.
// It stays small (static, system calls only) because one runs per container: it waits, writes
// the wait status to EXIT_FILE atomically, then execs `NETCTL ARGS...` to tear the network down.
//
// With --log it first copies the workload's output from fd 3 (a pipe) into fd 4 (the live log,
// LOG) until the last writer is gone, which in a pid namespace is when the workload's PID 1 has
// exited. The log is capped at MAX_SIZE bytes per file and rotated over MAX_FILE files, the live
// one included (log_writer.h); LOG's directory is opened here and every rotation is made in it.
//
// Usage: netctl-shim [--log LOG MAX_SIZE MAX_FILE] EXIT_FILE NETCTL [ARGS...] WORKLOAD_PID
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cnm/launcher/shim/log_writer.h"

namespace {

// A decimal number from 1 to `max`, or -1.
long long positive(const char* s, long long max) {
  long long v = 0;
  if (*s == '\0') return -1;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || v > max / 10) return -1;
    v = v * 10 + (*s - '0');
  }
  return v >= 1 && v <= max ? v : -1;
}

// The log of `--log LOG MAX_SIZE MAX_FILE` with fd 4 as its live file; false on bad arguments.
bool open_log(char** arg, netctl_shim::LogWriter& log) {
  log.max_size = positive(arg[1], 1LL << 40);
  log.max_file = static_cast<int>(positive(arg[2], 100));
  char* slash = strrchr(arg[0], '/');
  if (log.max_size < 0 || log.max_file < 0 || slash == nullptr || slash == arg[0]) return false;
  *slash = '\0';
  log.dir = open(arg[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  *slash = '/';
  log.name = slash + 1;
  log.start(4);
  // fd 4 must be LOG in that directory, or rotations would happen somewhere it is not.
  struct stat live, named;
  log.ok = log.dir >= 0 && fstat(4, &live) == 0 &&
           fstatat(log.dir, log.name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
           live.st_dev == named.st_dev && live.st_ino == named.st_ino;
  return true;
}

// Copies fd 3 into the log until end of file; a log that cannot be written is given up, not the
// wait.
void copy_log(netctl_shim::LogWriter& log) {
  static char buf[16384];  // static: the supervisor's stack and heap stay small
  for (;;) {
    ssize_t n = read(3, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    log.write_all(buf, static_cast<size_t>(n));
  }
  close(3);
  log.finish();
}

}  // namespace

int main(int argc, char** argv) {
  netctl_shim::LogWriter writer;
  bool log = argc > 4 && strcmp(argv[1], "--log") == 0;
  if (log) {
    if (!open_log(argv + 2, writer)) return 2;
    argv += 4;
    argc -= 4;
  }
  if (argc < 4) return 2;
  pid_t pid = static_cast<pid_t>(atoi(argv[argc - 1]));
  argv[argc - 1] = nullptr;  // the remaining argv[2..] is the teardown command
  // Stray terminal and session signals must not take the supervisor down before the workload.
  sigset_t block;
  sigemptyset(&block);
  const int kBlocked[] = {SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2};
  for (int s : kBlocked) sigaddset(&block, s);
  sigprocmask(SIG_BLOCK, &block, nullptr);
  if (log) copy_log(writer);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 1;
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]) >= static_cast<int>(sizeof tmp)) return 1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    char line[32];
    int n = snprintf(line, sizeof line, "%d\n", status);
    bool ok = write(fd, line, n) == n && fsync(fd) == 0;
    close(fd);
    if (ok) rename(tmp, argv[1]);
  }
  sigprocmask(SIG_UNBLOCK, &block, nullptr);
  // A fault plan (cnm/kernel/fault.h) was meant for the `run` that started us, not for the report.
  unsetenv("NETCTL_FAIL_AT");
  unsetenv("NETCTL_FAIL_TRACE");
  execv(argv[2], argv + 2);
  return 127;
}

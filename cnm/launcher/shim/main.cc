// netctl-shim: the supervisor of a detached container (cnm/launcher/README.md). It is the
// workload's parent (the launcher cloned the workload, then exec'd this), so it can wait for it.
// It stays small (static, system calls only) because one runs per container: it waits, writes
// the wait status to EXIT_FILE atomically, then execs `NETCTL ARGS...` to tear the network down.
//
// With --log it first copies the workload's output from fd 3 (a pipe) into fd 4 (the log) until
// the last writer is gone, which in a pid namespace is when the workload's PID 1 has exited.
//
// Usage: netctl-shim [--log] EXIT_FILE NETCTL [ARGS...] WORKLOAD_PID
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

// Copies fd 3 into fd 4 until end of file; a log that cannot be written is given up, not the wait.
void copy_log() {
  static char buf[16384];  // static: the supervisor's stack and heap stay small
  bool writable = true;
  for (;;) {
    ssize_t n = read(3, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (ssize_t done = 0; writable && done < n;) {
      ssize_t w = write(4, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0)
        writable = false;
      else
        done += w;
    }
  }
  close(3);
  close(4);
}

int main(int argc, char** argv) {
  bool log = argc > 1 && strcmp(argv[1], "--log") == 0;
  if (log) {
    ++argv;
    --argc;
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
  if (log) copy_log();
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

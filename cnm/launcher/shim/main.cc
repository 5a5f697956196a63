// netctl-shim: the supervisor of a detached container (cnm/launcher/README.md). It is the
// workload's parent (the launcher cloned the workload, then exec'd this), so it can wait for it.
// It stays small (static, system calls only) because one runs per container: it waits, writes
// the wait status to EXIT_FILE atomically, then execs `NETCTL ARGS...` to tear the network down.
//
// Usage: netctl-shim EXIT_FILE NETCTL [ARGS...] WORKLOAD_PID
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  pid_t pid = static_cast<pid_t>(atoi(argv[argc - 1]));
  argv[argc - 1] = nullptr;  // the remaining argv[2..] is the teardown command
  // Stray terminal and session signals must not take the supervisor down before the workload.
  sigset_t block;
  sigemptyset(&block);
  const int kBlocked[] = {SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2};
  for (int s : kBlocked) sigaddset(&block, s);
  sigprocmask(SIG_BLOCK, &block, nullptr);
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
  execv(argv[2], argv + 2);
  return 127;
}

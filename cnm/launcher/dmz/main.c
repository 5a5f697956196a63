// netctl-dmz: the only program that execs a workload inside a container. netctl keeps a copy of
// it in a sealed memfd and execs that copy as the container's last step, so no process inside a
// container ever has the host's netctl as its executable: a workload that reaches
// /proc/PID/exe (for instance through a script whose interpreter is /proc/self/exe) finds this
// stub's sealed, private copy, and cannot rewrite anything on the host (CVE-2019-5736).
//
// It is built with musl, statically, a few KiB: the copy per container costs a few pages.
//
// Usage (argv[0] must be "netctl-dmz"; anything else is refused, so a script naming
// /proc/self/exe as its interpreter gets exit 126 instead of a loop of execs):
//   netctl-dmz exec REPORT_FD STEP PROG [ARG...]  exec PROG (PATH searched); on failure write
//       {STEP, errno} to REPORT_FD (the launcher's error pipe) and exit 127.
//   netctl-dmz fork - - PROG [ARG...]  fork, exec PROG in the child, wait, and exit with its
//       code (128+N for signal N): `netctl exec`, whose new process must be a child in the
//       container's pid namespace.
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct Report {
  int step;
  int err;
};

// Writes the strings up to a null pointer to stderr (no stdio: the stub stays a few pages).
static void say(const char* s, ...) {
  va_list ap;
  va_start(ap, s);
  for (; s; s = va_arg(ap, const char*)) (void)!write(2, s, strlen(s));
  va_end(ap);
}

static int exec_code(int err) { return err == ENOENT ? 127 : 126; }

static int run_exec(int report_fd, int step, char** argv) {
  if (report_fd >= 0) fcntl(report_fd, F_SETFD, FD_CLOEXEC);
  execvp(argv[0], argv);
  int err = errno;
  if (report_fd >= 0) {
    struct Report r = {step, err};
    (void)!write(report_fd, &r, sizeof r);
  }
  return exec_code(err);
}

static int run_fork(char** argv) {
  pid_t child = fork();
  if (child < 0) return 125;
  if (child == 0) {
    execvp(argv[0], argv);
    int err = errno;
    say("netctl exec: ", argv[0], ": ", strerror(err), "\n", (const char*)0);
    _exit(exec_code(err));
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return 125;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char** argv) {
  if (argc < 5 || strcmp(argv[0], "netctl-dmz") != 0) {
    say("netctl-dmz: not started by netctl\n", (const char*)0);
    return 126;
  }
  if (strcmp(argv[1], "exec") == 0) return run_exec(atoi(argv[2]), atoi(argv[3]), argv + 4);
  if (strcmp(argv[1], "fork") == 0) return run_fork(argv + 4);
  return 126;
}

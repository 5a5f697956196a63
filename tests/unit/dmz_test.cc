// The sealed exec stub (cnm/launcher/dmz.h): sealed against any change, refusing to run unless
// netctl started it, and running the workload when it did.
#include "cnm/launcher/dmz.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace {

// Runs the stub from `fd` with `argv` in a child; its exit code.
int run_stub(int fd, std::vector<const char*> argv) {
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    const char* envp[] = {"PATH=/usr/bin:/bin", nullptr};
    syscall(SYS_execveat, fd, "", argv.data(), envp, AT_EMPTY_PATH);
    _exit(99);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("dmz: the stub's copy is sealed: no write, no resize, no new seal") {
  auto fd = cnm::launcher::sealed_dmz();
  REQUIRE(fd);
  int seals = fcntl(fd->get(), F_GET_SEALS);
  CHECK((seals & F_SEAL_WRITE) != 0);
  CHECK((seals & F_SEAL_SEAL) != 0);
  CHECK(pwrite(fd->get(), "x", 1, 0) == -1);
  CHECK(errno == EPERM);
  CHECK(ftruncate(fd->get(), 0) == -1);
  // Reopened for writing through /proc, as a container would try with /proc/PID/exe.
  int w = open(fmt::format("/proc/self/fd/{}", fd->get()).c_str(), O_WRONLY);
  if (w >= 0) {
    CHECK(write(w, "x", 1) == -1);
    close(w);
  }
}

TEST_CASE("dmz: runs the workload only when netctl starts it") {
  auto fd = cnm::launcher::sealed_dmz();
  REQUIRE(fd);
  CHECK(run_stub(fd->get(), {"netctl-dmz", "exec", "-1", "0", "sh", "-c", "exit 7"}) == 7);
  CHECK(run_stub(fd->get(), {"netctl-dmz", "fork", "-", "-", "sh", "-c", "exit 5"}) == 5);
  CHECK(run_stub(fd->get(), {"netctl-dmz", "exec", "-1", "0", "/no/such"}) == 127);
  // What a script with "#!/proc/self/exe" gets: argv[0] is the interpreter's path.
  CHECK(run_stub(fd->get(), {"/proc/self/exe", "exec", "-1", "0", "sh"}) == 126);
}

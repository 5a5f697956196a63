// Store::lock: a second lock by the process that holds it fails at once (it used to wait on its
// own flock forever); once released the lock can be taken again; other processes still wait.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>

#include "cnm/store/store.h"

namespace {

struct LockTestRoot {
  std::string dir;
  LockTestRoot() {
    char tmpl[] = "/tmp/netctl-unit-lock.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
  }
  ~LockTestRoot() { std::filesystem::remove_all(dir); }
};

// Runs `body` in a forked child that SIGALRM kills after `seconds`; returns its wait status.
template <class F>
int lock_test_in_child(unsigned seconds, F body) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(seconds);
    _exit(body());
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

}  // namespace

TEST_CASE("store lock: nested lock in one process fails instead of deadlocking") {
  LockTestRoot root;
  int status = lock_test_in_child(5, [&] {
    auto s = cnm::store::Store::open(root.dir + "/state");
    if (!s) return 10;
    auto first = (*s)->lock();
    if (!first) return 11;
    auto nested = (*s)->lock();  // before the token's flag this blocked until SIGALRM
    if (nested) return 12;
    if (nested.error().code != cnm::Code::kFailed) return 13;
    if (nested.error().message != "write lock already held by this process") return 14;
    return 0;
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("store lock: taken again once released, also after a move") {
  LockTestRoot root;
  auto s = cnm::store::Store::open(root.dir + "/state");
  REQUIRE(s);
  {
    auto first = (*s)->lock();
    REQUIRE(first);
    cnm::store::WriteLock moved = std::move(*first);  // the moved-from token releases nothing
    auto nested = (*s)->lock();
    REQUIRE_FALSE(nested);
    CHECK(nested.error().message == "write lock already held by this process");
  }
  auto again = (*s)->lock();
  CHECK(again);
}

TEST_CASE("store lock: another process still waits for the holder") {
  LockTestRoot root;
  auto s = cnm::store::Store::open(root.dir + "/state");
  REQUIRE(s);
  auto held = (*s)->lock();
  REQUIRE(held);
  int status = lock_test_in_child(1, [&] {
    auto other = cnm::store::Store::open(root.dir + "/state");
    if (!other) return 10;
    auto l = (*other)->lock();  // blocks on the parent's flock until SIGALRM
    return l ? 11 : 12;
  });
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGALRM);
}

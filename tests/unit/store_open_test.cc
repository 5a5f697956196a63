// Store::open from several processes at once on a state root that does not exist yet: the first
// CNI ADDs on a new machine do exactly this. Every process must get a usable store; none may see
// SQLite's "database is locked" from the schema set-up of another.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cnm/store/store.h"

namespace {

// Runs in a forked child: 0 when the store opened and answered a query.
int open_and_read(const std::string& root) {
  auto s = cnm::store::Store::open(root);
  if (!s) return 1;
  auto nets = (*s)->list(cnm::store::kNetworks, {});
  return nets && nets->empty() ? 0 : 2;
}

}  // namespace

TEST_CASE("store: processes creating one store at once all open it") {
  char tmpl[] = "/tmp/netctl-unit-store.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string base = tmpl;
  int failed = 0;
  constexpr int kRounds = 25, kProcs = 8;  // before the fix about one round in four failed
  for (int r = 0; r < kRounds; ++r) {
    const std::string root = base + "/r" + std::to_string(r);
    std::vector<pid_t> kids;
    for (int i = 0; i < kProcs; ++i) {
      pid_t pid = fork();
      REQUIRE(pid >= 0);
      if (pid == 0) _exit(open_and_read(root));
      kids.push_back(pid);
    }
    for (pid_t pid : kids) {
      int status = 0;
      REQUIRE(waitpid(pid, &status, 0) == pid);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
    }
  }
  CHECK(failed == 0);
  // The schema is there once: a later open sees version 1 and the tables.
  auto s = cnm::store::Store::open(base + "/r0");
  REQUIRE(s);
  CHECK((*s)->list(cnm::store::kSandboxes, {}));
  std::filesystem::remove_all(base);
}

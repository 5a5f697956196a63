// The store's WAL between processes, and how Store::get resolves a reference.
// Every command is a process that opens the store, and each one rebuilds SQLite's WAL index by
// reading the whole WAL: so a process whose writes leave the WAL at kCheckpointFrames or more
// empties it (a TRUNCATE checkpoint) when it finishes, and one below leaves it alone (no fsync).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cnm/model.h"
#include "cnm/store/store.h"

namespace {

namespace st = cnm::store;

struct Root {
  std::string path;
  Root() {
    char tmpl[] = "/tmp/netctl-unit-wal.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~Root() { std::filesystem::remove_all(path); }
  std::uintmax_t wal_size() const {
    std::error_code ec;
    auto n = std::filesystem::file_size(path + "/netctl.db-wal", ec);
    return ec ? 0 : n;
  }
};

// `n` records, each in a batch of its own: `n` commits, so at least `n` WAL frames.
void put_sandboxes(st::Store& s, int n, const std::string& prefix) {
  for (int i = 0; i < n; ++i) {
    st::Batch b;
    b.puts.push_back(
        {st::kSandboxes, {cnm::new_id(), prefix + std::to_string(i), "", std::string(900, 'x')}});
    REQUIRE(s.apply(b));
  }
}

}  // namespace

TEST_CASE("store: a process that leaves a long WAL empties it when it finishes") {
  Root root;
  {
    auto s = st::Store::open(root.path);
    REQUIRE(s);
    put_sandboxes(**s, 3, "few");
  }
  // A few frames: left for later processes, no checkpoint.
  CHECK(root.wal_size() > 0);
  {
    auto s = st::Store::open(root.path);
    REQUIRE(s);
    put_sandboxes(**s, 80, "many");
    CHECK(root.wal_size() > 64 * 4096);
    (*s)->finish();  // what end_process() runs before _exit
    CHECK(root.wal_size() == 0);
    put_sandboxes(**s, 1, "after");  // the store stays usable
  }
  auto s = st::Store::open(root.path);
  REQUIRE(s);
  auto all = (*s)->list(st::kSandboxes, {});
  REQUIRE(all);
  CHECK(all->size() == 84);  // nothing was lost to the truncation
}

TEST_CASE("store: get resolves an id, then a name, then an id prefix") {
  Root root;
  auto s = st::Store::open(root.path);
  REQUIRE(s);
  const std::string a = cnm::new_id(), b = cnm::new_id();
  REQUIRE(a.size() == 64);
  st::Batch batch;
  batch.puts.push_back({st::kNetworks, {a, "net-a", "", "{}"}});
  // A name that is itself hex and long enough to be taken for an id prefix.
  batch.puts.push_back({st::kNetworks, {b, a.substr(0, 12), "", "{}"}});
  REQUIRE((*s)->apply(batch));
  auto id_of = [&](const std::string& key) -> std::string {
    auto r = (*s)->get(st::kNetworks, key);
    REQUIRE(r);
    return *r ? (**r).id : "";
  };
  CHECK(id_of(a) == a);  // full id
  CHECK(id_of(b) == b);
  CHECK(id_of("net-a") == a);          // name
  CHECK(id_of(a.substr(0, 12)) == b);  // a name wins over an id prefix, as in Docker
  CHECK(id_of(a.substr(0, 13)) == a);  // prefix of 12+ hex characters
  CHECK(id_of(b.substr(0, 20)) == b);
  CHECK(id_of(a.substr(0, 11)).empty());  // too short to be a prefix
  CHECK(id_of("NET-A").empty());          // names are exact
  CHECK(id_of(std::string(64, 'f')).empty());
  CHECK(id_of("no-such-network-at-all").empty());
}

// The store's WAL between processes, and how Store::get resolves a reference.
// Every command is a process that opens the store, and each one rebuilds SQLite's WAL index by
// reading the WAL: so a process whose writes leave the WAL at kCheckpointFrames or more copies it
// back and starts it over when it finishes, and one below leaves it alone (no fsync).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cnm/model/model.h"
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
  // Frames the next process's rebuild of the WAL index would read: those after the WAL header
  // whose salts are the header's (SQLite's WAL format: a 32-byte header with the salts at 16, then
  // frames of a 24-byte header, salts at 8, and a page). Frames of an earlier round of the WAL,
  // under other salts, end it.
  int live_frames() const {
    std::ifstream f(path + "/netctl.db-wal", std::ios::binary);
    unsigned char hdr[32];
    if (!f.read(reinterpret_cast<char*>(hdr), sizeof hdr)) return 0;
    const uint32_t page = uint32_t(hdr[8]) << 24 | hdr[9] << 16 | hdr[10] << 8 | hdr[11];
    std::vector<char> frame(24 + page);
    int n = 0;
    while (f.read(frame.data(), std::streamsize(frame.size())) &&
           std::memcmp(frame.data() + 8, hdr + 16, 8) == 0)
      ++n;
    return n;
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

TEST_CASE("store: a process that leaves a long WAL starts it over when it finishes") {
  Root root;
  {
    auto s = st::Store::open(root.path);
    REQUIRE(s);
    put_sandboxes(**s, 3, "few");
  }
  // A few frames: left for later processes, no checkpoint.
  const int few = root.live_frames();
  CHECK(few >= 3);
  std::uintmax_t size = 0;
  {
    auto s = st::Store::open(root.path);
    REQUIRE(s);
    put_sandboxes(**s, 80, "many");  // 4-5 pages each: over kCheckpointFrames, under kWalKeepBytes
    CHECK(root.live_frames() >= few + st::Store::kCheckpointFrames);
    size = root.wal_size();
    CHECK(size < std::uintmax_t{st::Store::kWalKeepBytes});
    (*s)->finish();  // what end_process() runs before _exit
    // Copied back and started over with one page: the next process reads one frame. The file is
    // overwritten in place, not truncated.
    CHECK(root.live_frames() == 1);
    CHECK(root.wal_size() == size);
    put_sandboxes(**s, 1, "after");  // the store stays usable
  }
  const int after = root.live_frames();
  CHECK(after > 1);
  CHECK(after < 20);
  {
    // A new process's commit goes after the live frames, not behind the old round's ones.
    auto s = st::Store::open(root.path);
    REQUIRE(s);
    put_sandboxes(**s, 1, "next");
    CHECK(root.live_frames() > after);
    CHECK(root.live_frames() < 40);
    CHECK(root.wal_size() == size);
  }
  auto s = st::Store::open(root.path);
  REQUIRE(s);
  auto all = (*s)->list(st::kSandboxes, {});
  REQUIRE(all);
  CHECK(all->size() == 85);  // nothing was lost to the new round
}

TEST_CASE("store: a process that writes a lot keeps its WAL file within kWalKeepBytes") {
  Root root;
  {
    auto s = st::Store::open(root.path);
    REQUIRE(s);
    // ~2700 frames (~11 MiB): copied back at each kCopyBackFrames, then started over and cut back.
    put_sandboxes(**s, 600, "big");
    CHECK(root.wal_size() <= std::uintmax_t{st::Store::kWalKeepBytes});
    CHECK(root.live_frames() < st::Store::kCopyBackFrames);
  }
  auto s = st::Store::open(root.path);
  REQUIRE(s);
  auto all = (*s)->list(st::kSandboxes, {});
  REQUIRE(all);
  CHECK(all->size() == 600);
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

// Endpoint addresses through the controller with the store's allocation hints
// (cnm/endpoint/addresses.cc): the lowest free address whatever the order of connects, disconnects,
// --ip and releases the hint does not see; and an old (version 1) database gains the hints table.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include "cnm/core/records.h"
#include "tests/unit/controller_fixture.h"

namespace {

cnm::ConnectRequest conn(std::string target, std::string ip = "") {
  cnm::ConnectRequest r;
  r.network = "n1";
  r.target = std::move(target);
  r.ip = std::move(ip);
  return r;
}

// Network n1 on 10.88.0.0/29 (five usable addresses: .2 to .6) and sandboxes s1..s6.
struct Small : ControllerFixture {
  std::string pool;
  Small() {
    cnm::NetworkCreateRequest r;
    r.name = "n1";
    r.subnets = {"10.88.0.0/29"};
    auto n = ctl->create_network(r);
    REQUIRE(n);
    pool = cnm::pool_key(*n, n->pools.at(0));
    for (int i = 1; i <= 6; ++i) REQUIRE(ctl->create_sandbox("s" + std::to_string(i)));
  }
  std::string attach(const std::string& sb, const std::string& ip = "") {
    auto ep = ctl->connect(conn(sb, ip));
    if (!ep) return ep.error().message;
    return ep->addresses.at(0).addr().str();
  }
  std::string hint() { return *store->ipam_hint(pool); }
};

}  // namespace

TEST_CASE("the hint follows allocations and comes down with releases") {
  Small f;
  CHECK(f.hint() == "");  // unknown until the first allocation reads the pool
  CHECK(f.attach("s1") == "10.88.0.2");
  CHECK(f.hint() == "10.88.0.3");
  CHECK(f.attach("s2") == "10.88.0.3");
  CHECK(f.attach("s3") == "10.88.0.4");
  CHECK(f.hint() == "10.88.0.5");
  REQUIRE(f.ctl->disconnect("n1", "s2"));
  CHECK(f.hint() == "10.88.0.3");
  REQUIRE(f.ctl->disconnect("n1", "s3"));
  CHECK(f.hint() == "10.88.0.3");  // the lower release wins
  CHECK(f.attach("s4") == "10.88.0.3");
  CHECK(f.attach("s5") == "10.88.0.4");
  CHECK(f.attach("s6") == "10.88.0.5");
}

TEST_CASE("addresses taken with --ip are stepped over, and a full pool is refused") {
  Small f;
  CHECK(f.attach("s1") == "10.88.0.2");
  CHECK(f.attach("s2", "10.88.0.3") == "10.88.0.3");  // at the hint
  CHECK(f.attach("s3", "10.88.0.5") == "10.88.0.5");
  CHECK(f.hint() == "10.88.0.3");  // --ip leaves it alone
  CHECK(f.attach("s4") == "10.88.0.4");
  CHECK(f.attach("s5") == "10.88.0.6");
  CHECK(f.attach("s6") == "network n1: no free address in 10.88.0.0/29");
  REQUIRE(f.ctl->disconnect("n1", "s4"));
  CHECK(f.attach("s6") == "10.88.0.4");
  CHECK(f.address_count() == 10);  // five addresses, five MACs
}

TEST_CASE("a release the hint does not hear of makes the next allocation read the pool") {
  Small f;
  CHECK(f.attach("s1") == "10.88.0.2");
  CHECK(f.attach("s2") == "10.88.0.3");
  CHECK(f.attach("s3") == "10.88.0.4");
  // As gc releases the rows of an owner that is gone: no hint is lowered, so it is forgotten.
  auto n = f.ctl->network("n1");
  REQUIRE(n);
  cnm::store::Batch b;
  b.release_addresses.emplace_back(f.pool, "10.88.0.2");
  b.release_addresses.emplace_back(cnm::mac_pool(*n), "02:42:0a:58:00:02");
  REQUIRE(f.store->apply(b));
  CHECK(f.hint() == "");
  CHECK(f.attach("s4") == "10.88.0.2");
  CHECK(f.hint() == "10.88.0.3");
  CHECK(f.attach("s5") == "10.88.0.5");
}

TEST_CASE("network rm forgets the hints of its pools") {
  Small f;
  CHECK(f.attach("s1") == "10.88.0.2");
  REQUIRE(f.ctl->disconnect("n1", "s1"));
  CHECK(f.hint() == "10.88.0.2");
  REQUIRE(f.ctl->remove_networks({"n1"}));
  CHECK(f.hint() == "");
}

TEST_CASE("a version 1 database gains the hints table and keeps its records") {
  char tmpl[] = "/tmp/netctl-unit.XXXXXX";
  std::string root = mkdtemp(tmpl);
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((root + "/netctl.db").c_str(), &db) == SQLITE_OK);
    const char* v1 =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE networks(id TEXT PRIMARY KEY, name TEXT UNIQUE, parent TEXT, ref TEXT,"
        " body TEXT NOT NULL);"
        "CREATE TABLE endpoints(id TEXT PRIMARY KEY, name TEXT, parent TEXT, ref TEXT,"
        " body TEXT NOT NULL);"
        "CREATE TABLE sandboxes(id TEXT PRIMARY KEY, name TEXT UNIQUE, parent TEXT, ref TEXT,"
        " body TEXT NOT NULL);"
        "CREATE TABLE containers(id TEXT PRIMARY KEY, name TEXT UNIQUE, parent TEXT, ref TEXT,"
        " body TEXT NOT NULL);"
        "CREATE TABLE ipam_addresses(pool TEXT NOT NULL, addr TEXT NOT NULL, owner TEXT NOT NULL,"
        " PRIMARY KEY(pool, addr));"
        "CREATE TABLE intents(id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);"
        "INSERT INTO ipam_addresses VALUES('p', '10.0.0.2', 'e1');"
        "PRAGMA user_version=1;";
    REQUIRE(sqlite3_exec(db, v1, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  {
    auto s = cnm::store::Store::open(root);
    REQUIRE(s);
    CHECK(*(*s)->address_owner("p", "10.0.0.2") == "e1");
    CHECK(*(*s)->ipam_hint("p") == "");
    cnm::store::Batch b;
    b.set_hints.emplace_back("p", "10.0.0.3");
    REQUIRE((*s)->apply(b));
    CHECK(*(*s)->ipam_hint("p") == "10.0.0.3");
  }
  std::filesystem::remove_all(root);
}

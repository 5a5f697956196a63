// Recovery of a `container` intent touches only what this state root made: the directory under
// its containers/ and a cgroup leaf named with its own root id (or the bare id of an intent
// written before roots had ids); a leaf prefix of another root is refused and nothing removed.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/unit/controller_fixture.h"

namespace {

// A journal row declaring container `id` with cgroup leaf prefix `prefix` (no key when "").
std::string ctr_root_intent(const std::string& root, const std::string& id,
                            const std::string& prefix) {
  std::string cg = prefix.empty() ? "" : R"(,"cgroup_prefix":")" + prefix + R"(")";
  return R"({"cmd":"run c","drop":[],"objects":[{"kind":"container","id":")" + id + R"(","dir":")" +
         root + "/containers/" + id +
         R"(","cgroup_version":"v2","cgroup_parent":"netctl-unit-absent")" + cg + "}]}";
}

// Makes <root>/containers/<id> with a file in it, as create_container leaves it after a crash.
void ctr_root_make_dir(const std::string& root, const std::string& id) {
  std::filesystem::create_directories(root + "/containers/" + id + "/upper");
  REQUIRE(std::filesystem::exists(root + "/containers/" + id + "/upper"));
}

}  // namespace

TEST_CASE("container intent: this root's leaf prefix or none recovers, another root's is refused") {
  ControllerFixture f;
  auto own = f.store->root_id();
  REQUIRE(own);
  REQUIRE(own->size() == 8);
  const std::string mine(64, 'a'), old(64, 'b'), foreign(64, 'c');

  ctr_root_make_dir(f.root, mine);
  REQUIRE(f.store->add_intent(ctr_root_intent(f.root, mine, *own)));
  REQUIRE(recover_holding_lock(*f.ctl));
  CHECK_FALSE(std::filesystem::exists(f.root + "/containers/" + mine));
  CHECK(f.intent_count() == 0);

  ctr_root_make_dir(f.root, old);  // an intent from before root ids: no prefix
  REQUIRE(f.store->add_intent(ctr_root_intent(f.root, old, "")));
  REQUIRE(recover_holding_lock(*f.ctl));
  CHECK_FALSE(std::filesystem::exists(f.root + "/containers/" + old));
  CHECK(f.intent_count() == 0);

  std::string other = *own == "0badc0de" ? "feedbeef" : "0badc0de";
  ctr_root_make_dir(f.root, foreign);
  REQUIRE(f.store->add_intent(ctr_root_intent(f.root, foreign, other)));
  auto r = recover_holding_lock(*f.ctl);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("unexpected intent") != std::string::npos);
  CHECK(std::filesystem::exists(f.root + "/containers/" + foreign + "/upper"));
  CHECK(f.intent_count() == 1);
}

TEST_CASE("container record: the cgroup leaf prefix round-trips; an older record reads as none") {
  cnm::Container c;
  c.id = std::string(64, 'a');
  c.name = "c1";
  c.cgroup_parent = "netctl";
  c.cgroup_prefix = "0123abcd";
  nlohmann::json j = c;
  CHECK(j["CgroupPrefix"] == "0123abcd");
  CHECK(j.get<cnm::Container>().cgroup_prefix == "0123abcd");
  j.erase("CgroupPrefix");  // as written before root ids: its leaf is the bare id
  CHECK(j.get<cnm::Container>().cgroup_prefix.empty());
}

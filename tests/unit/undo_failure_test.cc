// An undo that fails during a rollback keeps its intent (naming exactly what it could not remove),
// the next command's recovery retries it, doctor lists it in between, and a row that keeps failing
// is parked after Recovery::kRecoverAttempts commands (docs/architecture.md section 4).
#include <doctest/doctest.h>
#include <fmt/core.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/core/txn.h"
#include "tests/unit/controller_fixture.h"

namespace {

cnm::kernel::StepCounter* undo_fail_steps = nullptr;

// Fails the commit of the next transaction and arms the shared step counter so that the
// `undo_k`-th kernel call after it (an undo of the rollback) fails too.
struct UndoFailFixture : ControllerFixture {
  static inline int undo_k = 0;
  UndoFailFixture() {
    make_network("n1", {"10.88.0.0/24"});
    undo_fail_steps = &steps;
  }
  ~UndoFailFixture() {
    cnm::Txn::set_step_hook(nullptr);
    undo_fail_steps = nullptr;
  }
  void fail_next_commit_and_undo(int k) {
    undo_k = k;
    cnm::Txn::set_step_hook([](std::string_view what) -> cnm::Status {
      if (what != "store: commit") return {};
      cnm::Txn::set_step_hook(nullptr);  // once
      undo_fail_steps->fail_at = undo_fail_steps->steps + undo_k;
      return cnm::fail(cnm::Code::kFailed, "injected commit failure");
    });
  }
  // Connects `sandbox` to n1 with a published port; its commit fails and, of the rollback's undos
  // (the port rules first, then the veth), the veth's delete fails. Returns the veth's name.
  std::string failed_connect(const std::string& sandbox, const std::string& port) {
    REQUIRE(ctl->create_sandbox(sandbox));
    auto req = connect_req("n1", sandbox);
    req.publish = {port + ":80"};
    fail_next_commit_and_undo(2);
    auto r = ctl->connect(req);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("injected commit failure") != std::string::npos);
    steps.fail_at = 0;
    for (const auto& [name, l] : links.links)
      if (name.starts_with("nv") && !known_veths.contains(name)) {
        known_veths.insert(name);
        return name;
      }
    FAIL("the failed undo left no veth");
    return "";
  }
  // The journal's rows, oldest first.
  std::vector<nlohmann::json> rows() {
    std::vector<nlohmann::json> out;
    auto intents = store->intents();
    REQUIRE(intents);
    for (const auto& [id, body] : *intents) out.push_back(nlohmann::json::parse(body));
    return out;
  }
  std::set<std::string> known_veths;
};

}  // namespace

TEST_CASE("a failed undo keeps its intent, doctor lists it, the next command finishes it") {
  UndoFailFixture f;
  auto veth = f.failed_connect("s1", "8080");
  // The port rules' undo worked; the veth's did not: the intent names the veth, and only it.
  CHECK(f.firewall.ports.empty());
  CHECK(f.endpoint_count() == 0);
  CHECK(f.address_count() == 0);
  auto rows = f.rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["objects"] == nlohmann::json::array({{{"kind", "link"}, {"name", veth}}}));

  auto d = f.ctl->doctor();
  REQUIRE(d);
  REQUIRE(d->pending_intents.size() == 1);
  CHECK(d->pending_intents[0].find("link " + veth) != std::string::npos);
  CHECK(d->pending_intents[0].find("network connect n1") != std::string::npos);
  CHECK_FALSE(d->empty());

  // The next write command retries the undo before its own work.
  REQUIRE(f.ctl->create_sandbox("s2"));
  CHECK_FALSE(f.links.links.contains(veth));
  CHECK(f.intent_count() == 0);
  d = f.ctl->doctor();
  REQUIRE(d);
  CHECK(d->pending_intents.empty());
  CHECK(d->empty());
}

TEST_CASE("a row recovery cannot finish stays, the others are finished, and it is parked") {
  UndoFailFixture f;
  auto first = f.failed_connect("s1", "8080");
  // A second row, as a command killed after its intent and its bridge left it.
  const std::string second = "nvcrashed";
  REQUIRE(f.links.create_bridge(second, 1500, {}));
  REQUIRE(f.store->add_intent(nlohmann::json{
      {"cmd", "network create crashed"},
      {"objects", nlohmann::json::array({{{"kind", "link"}, {"name", second}}})},
      {"drop",
       nlohmann::json::array()}}.dump()));
  REQUIRE(f.intent_count() == 2);

  // Each command tries the first row (its delete fails) and still finishes the second.
  for (int attempt = 1; attempt <= cnm::Recovery::kRecoverAttempts; ++attempt) {
    CAPTURE(attempt);
    f.steps.fail_at = f.steps.steps + 1;  // recovery's first kernel call: the first row's delete
    auto r = f.ctl->create_sandbox("x" + std::to_string(attempt));
    f.steps.fail_at = 0;
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(fmt::format(
              "attempt {} of {}", attempt, cnm::Recovery::kRecoverAttempts)) != std::string::npos);
    CHECK(r.error().message.find("network connect n1") != std::string::npos);
    CHECK(f.links.links.contains(first));
    CHECK_FALSE(f.links.links.contains(second));
    auto rows = f.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0]["objects"][0]["name"] == first);
    CHECK(rows[0]["attempts"] == attempt);
    CHECK_FALSE(f.store->get(cnm::store::kSandboxes, "x" + std::to_string(attempt)).value());
  }
  // Parked: later commands go on without it, doctor lists it, gc retries it.
  REQUIRE(f.ctl->create_sandbox("s3"));
  CHECK(f.links.links.contains(first));
  auto d = f.ctl->doctor();
  REQUIRE(d);
  REQUIRE(d->pending_intents.size() == 1);
  CHECK(d->pending_intents[0].find("parked after 3 failed attempt(s)") != std::string::npos);
  CHECK(d->pending_intents[0].find("injected failure") != std::string::npos);

  f.steps.fail_at = f.steps.steps + 1;  // gc's retry fails too: the row stays and is reported
  auto g = f.ctl->gc();
  f.steps.fail_at = 0;
  REQUIRE(g);
  CHECK(g->pending_intents.size() == 1);
  CHECK(f.intent_count() == 1);

  g = f.ctl->gc();
  REQUIRE(g);
  CHECK(g->pending_intents.empty());
  CHECK_FALSE(f.links.links.contains(first));
  CHECK(f.intent_count() == 0);
  d = f.ctl->doctor();
  REQUIRE(d);
  CHECK(d->empty());
}

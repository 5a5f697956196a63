// The recording fakes behave like the Linux Links and Sysctl (tests/priv/links_test.cc).
#include "tests/fakes/fake_links.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/literals.h"

namespace cnm::kernel {
namespace {

using testing::pfx;

TEST_CASE("FakeLinks create_bridge records the bridge and the call") {
  FakeLinks fake;
  REQUIRE(fake.create_bridge("nc-a", 1400, std::vector{pfx("10.0.0.1/24"), pfx("fd00::1/64")}));
  REQUIRE(fake.create_bridge("nc-b", 0, {}));
  CHECK(fake.log == std::vector<std::string>{"create_bridge nc-a mtu=1400 10.0.0.1/24 fd00::1/64",
                                             "create_bridge nc-b mtu=0"});
  auto a = fake.get("nc-a");
  REQUIRE(a);
  REQUIRE(a->has_value());
  CHECK((*a)->kind == "bridge");
  CHECK((*a)->mtu == 1400);
  CHECK((*a)->up);
  CHECK((*a)->addresses == std::vector{pfx("10.0.0.1/24"), pfx("fd00::1/64")});
  auto b = fake.get("nc-b");
  REQUIRE(b);
  REQUIRE(b->has_value());
  CHECK((*b)->mtu == 1500);
  CHECK((*b)->index != (*a)->index);
  auto none = fake.get("nc-c");
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  auto all = fake.list();
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "nc-a");
}

TEST_CASE("FakeLinks mirrors the kernel's refusals") {
  FakeLinks fake;
  REQUIRE(fake.create_bridge("nc-a", 0, {}));
  auto dup = fake.create_bridge("nc-a", 0, {});
  REQUIRE_FALSE(dup);
  CHECK(dup.error().code == Code::kConflict);
  CHECK(dup.error().message == "create bridge nc-a: File exists");
  CHECK(fake.log.back() == "create_bridge nc-a mtu=0 -> create bridge nc-a: File exists");

  auto twice = fake.create_bridge("nc-b", 0, std::vector{pfx("10.1.0.1/24"), pfx("10.1.0.1/24")});
  REQUIRE_FALSE(twice);
  CHECK(twice.error().message == "add address 10.1.0.1/24 to nc-b: File exists");
  CHECK_FALSE(fake.links.contains("nc-b"));

  auto mtu = fake.create_bridge("nc-c", 70000, {});
  REQUIRE_FALSE(mtu);
  CHECK(mtu.error().code == Code::kFailed);
  auto name = fake.create_bridge("nc-0123456789abcdef", 0, {});
  REQUIRE_FALSE(name);
  CHECK(name.error().code == Code::kInvalid);
  CHECK(fake.links.size() == 1);
}

TEST_CASE("FakeLinks delete_links: missing links count as deleted") {
  FakeLinks fake;
  REQUIRE(fake.create_bridge("nc-a", 0, {}));
  REQUIRE(fake.create_bridge("nc-b", 0, {}));
  fake.links["nv-port"] = LinkInfo{.name = "nv-port",
                                   .index = 9,
                                   .kind = "veth",
                                   .mtu = 1500,
                                   .up = true,
                                   .master = fake.links["nc-a"].index,
                                   .addresses = {}};
  std::vector<std::string> names{"nc-a", "nc-gone", "nc-b", "nc-a"};
  CHECK(fake.delete_links(names));
  CHECK(fake.log.back() == "delete nc-a nc-gone nc-b");
  REQUIRE(fake.links.size() == 1);
  CHECK(fake.links["nv-port"].master == 0);
  CHECK(fake.delete_links(names));
}

TEST_CASE("FakeLinks used_prefixes: link subnets and extra prefixes") {
  FakeLinks fake;
  fake.links["lo"] = LinkInfo{.name = "lo",
                              .index = 1,
                              .kind = "",
                              .mtu = 65536,
                              .up = true,
                              .master = 0,
                              .addresses = {pfx("127.0.0.1/8"), pfx("::1/128")}};
  REQUIRE(fake.create_bridge("nc-a", 0, std::vector{pfx("10.0.0.1/24"), pfx("fd00:1::1/64")}));
  fake.extra_prefixes.push_back(pfx("198.51.100.0/24"));
  auto used = fake.used_prefixes();
  REQUIRE(used);
  CHECK(*used == std::vector{pfx("10.0.0.0/24"), pfx("198.51.100.0/24"), pfx("fd00:1::/64")});
}

// For every k, fail step k; whatever failed, nothing may be left behind.
TEST_CASE("FakeLinks fail-at-step-k sweep leaves nothing") {
  std::vector<Prefix> addrs{pfx("10.0.0.1/24"), pfx("10.0.1.1/24")};
  int failures = 0;
  for (int k = 1;; ++k) {
    StepCounter steps{.steps = 0, .fail_at = k};
    FakeLinks fake(&steps);
    FakeSysctl sysctl(&steps);
    auto made = fake.create_bridge("nc-a", 1500, addrs);
    Status st = made ? sysctl.set("net/ipv4/ip_forward", "1") : made;
    if (!st) {
      ++failures;
      CHECK(st.error().code == Code::kFailed);
      CHECK(st.error().message == fmt::format("injected failure at step {}", k));
      std::vector<std::string> names{"nc-a"};
      CHECK(fake.delete_links(names));  // the undo; step k is past, so it succeeds
      CHECK(fake.links.empty());
      continue;
    }
    CHECK(steps.steps == 4);  // create, two addresses, sysctl
    CHECK(k == 5);
    break;
  }
  CHECK(failures == 4);
}

TEST_CASE("FakeLinks delete_links keeps going past a failing step") {
  StepCounter steps;
  FakeLinks fake(&steps);
  for (const char* n : {"nc-a", "nc-b", "nc-c"}) REQUIRE(fake.create_bridge(n, 0, {}));
  steps.fail_at = steps.steps + 2;
  std::vector<std::string> names{"nc-a", "nc-b", "nc-c"};
  auto r = fake.delete_links(names);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == fmt::format("injected failure at step {}", steps.fail_at));
  CHECK(fake.links.size() == 1);
  CHECK(fake.links.contains("nc-b"));
  CHECK(fake.log.back().starts_with("delete nc-a nc-b nc-c -> injected failure"));
}

TEST_CASE("FakeSysctl") {
  FakeSysctl sysctl;
  REQUIRE(sysctl.set("net/ipv4/ip_forward", "1"));
  CHECK(sysctl.get("net/ipv4/ip_forward") == "1");
  CHECK(sysctl.log == std::vector<std::string>{"set net/ipv4/ip_forward=1"});
  auto missing = sysctl.get("net/ipv4/nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "read sysctl net/ipv4/nope: No such file or directory");
  CHECK(sysctl.set("../x", "1").error().code == Code::kInvalid);
}

}  // namespace
}  // namespace cnm::kernel

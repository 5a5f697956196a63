// Ownership marks on links against the real kernel: what a root makes carries its group, and
// delete_links leaves every link that does not, whatever its name.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/links.h"
#include "tests/literals.h"
#include "tests/priv/priv.h"

namespace cnm::kernel {
namespace {

using nlohmann::json;
using priv::sh;
using priv::sh_rc;

bool mark_link_exists(const std::string& name) {
  return sh_rc("ip link show " + name + " >/dev/null 2>&1") == 0;
}

std::string mark_group_of(const std::string& name) {
  return json::parse(sh("ip -j -d link show dev " + name))[0]["group"].get<std::string>();
}

TEST_CASE("owner_group: 0x20000000 and the root id's low 29 bits") {
  CHECK(owner_group("0a1b2c3d") == priv::kMark);
  CHECK(owner_group("00000000") == 0x20000000u);
  CHECK(owner_group("ffffffff") == 0x3fffffffu);
}

TEST_CASE("a bridge is made in the root's group, and listed as ours") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  REQUIRE(links->create_bridge("nc-marked", 0, {}));
  CHECK(mark_group_of("nc-marked") == priv::kMarkIp);
  auto got = links->get("nc-marked");
  REQUIRE(got);
  REQUIRE(got->has_value());
  CHECK((*got)->ours);
  CHECK((*got)->group == priv::kMark);
  auto other = make_linux_links(owner_group("12345678"));  // another root on the same host
  auto seen = other->get("nc-marked");
  REQUIRE(seen);
  CHECK_FALSE((*seen)->ours);
}

TEST_CASE("delete_links leaves links without the mark, whatever their names") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  REQUIRE(
      sh_rc("ip link add nvpn0 type bridge && ip link add nc-mybridge type bridge && "
            "ip link add nv0123456789ab type bridge && ip link add nc-0123456789ab type bridge") ==
      0);
  std::vector<std::string> foreign{"nvpn0", "nc-mybridge", "nv0123456789ab", "nc-0123456789ab"};
  CHECK(links->delete_links(std::vector<std::string>{"nv0123456789ab"}));  // one: looked up
  CHECK(links->delete_links(foreign));                                     // many: batched
  for (const auto& n : foreign) CHECK(mark_link_exists(n));
  // Another root's bridge is not this root's either.
  auto other = make_linux_links(owner_group("12345678"));
  REQUIRE(other->create_bridge("nc-other", 0, {}));
  CHECK(links->delete_links(std::vector<std::string>{"nc-other", "nvpn0"}));
  CHECK(mark_link_exists("nc-other"));
  auto all = links->list();
  REQUIRE(all);
  for (const auto& l : *all) CHECK_FALSE(l.ours);
}

TEST_CASE("a link of ours in a temporary group is still ours by its alias") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  REQUIRE(links->create_bridge("nc-regroup", 0, {}));
  // What delete_links leaves when killed between regrouping and deleting.
  REQUIRE(sh_rc("ip link set nc-regroup group 1234 alias netctl:2a1b2c3d") == 0);
  auto got = links->get("nc-regroup");
  REQUIRE(got);
  CHECK((*got)->ours);
  REQUIRE(sh_rc("ip link add nc-aliasx type bridge && ip link set nc-aliasx alias netctl:other") ==
          0);
  CHECK(links->delete_links(std::vector<std::string>{"nc-regroup", "nc-aliasx"}));
  CHECK_FALSE(mark_link_exists("nc-regroup"));
  CHECK(mark_link_exists("nc-aliasx"));
}

TEST_CASE("addresses added to a bridge netctl did not make are taken back, the bridge stays") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  REQUIRE(sh_rc("ip link add br-admin type bridge && ip addr add 10.70.0.9/24 dev br-admin") == 0);
  std::vector<Prefix> add{testing::pfx("10.70.0.1/24")};
  REQUIRE(links->add_addresses("br-admin", add));
  CHECK(sh("ip -o -4 addr show dev br-admin | grep -c inet") == "2\n");
  CHECK(sh("ip -j link show dev br-admin").find("\"UP\"") != std::string::npos);
  auto again = links->add_addresses("br-admin", add);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Code::kConflict);
  REQUIRE(links->remove_addresses("br-admin", add));
  REQUIRE(links->remove_addresses("br-admin", add));  // already gone: still success
  CHECK(sh("ip -o -4 addr show dev br-admin | awk '{print $4}'") == "10.70.0.9/24\n");
  CHECK(links->delete_links(std::vector<std::string>{"br-admin"}));
  CHECK(mark_link_exists("br-admin"));
  auto gone = links->add_addresses("br-nothere", add);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code == Code::kNotFound);
  CHECK(links->remove_addresses("br-nothere", add));
}

}  // namespace
}  // namespace cnm::kernel

// doctor's warnings about others' nftables rules (firewall_neighbour_warnings), from the JSON
// `nft -j list ruleset` prints: a foreign nat prerouting chain whose table DNATs, at or before
// netctl's priority -100, is warned about; after it, without a DNAT, or netctl's own, not.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cnm/core/firewall_backend.h"

namespace {

// A ruleset with table `family name` holding nat prerouting chain `pre` at `prio` and, in chain
// `inner`, one rule ending in `action` (nft JSON for a statement).
std::string fwwarn_ruleset(const std::string& family, const std::string& name, int prio,
                           const std::string& action) {
  std::string t = "\"family\":\"" + family + "\",\"table\":\"" + name + "\"";
  return "{\"nftables\":[{\"metainfo\":{\"json_schema_version\":1}},"
         "{\"table\":{\"family\":\"" +
         family + "\",\"name\":\"" + name +
         "\"}},"
         "{\"chain\":{" +
         t + ",\"name\":\"pre\",\"type\":\"nat\",\"hook\":\"prerouting\",\"prio\":" +
         std::to_string(prio) +
         ",\"policy\":\"accept\"}},"
         "{\"chain\":{" +
         t +
         ",\"name\":\"inner\"}},"
         "{\"rule\":{" +
         t +
         ",\"chain\":\"inner\",\"expr\":[{\"match\":{\"op\":\"==\",\"left\":{\"payload\":{"
         "\"protocol\":\"tcp\",\"field\":\"dport\"}},\"right\":8080}}," +
         action + "]}}]}";
}

const std::vector<std::string> kFwwarnBridges{"nc-1"};
const std::string kFwwarnDnat = "{\"dnat\":{\"addr\":\"203.0.113.2\",\"port\":80}}";

}  // namespace

TEST_CASE("doctor warns about a foreign DNAT at or before netctl's nat priority") {
  auto same = cnm::firewall_neighbour_warnings(fwwarn_ruleset("ip", "other", -100, kFwwarnDnat),
                                               kFwwarnBridges);
  REQUIRE(same.size() == 1);
  CHECK(
      same[0].starts_with("table ip other pre: DNAT on the nat prerouting hook at priority -100,"));
  CHECK(same[0].find("made last runs first") != std::string::npos);
  auto before = cnm::firewall_neighbour_warnings(
      fwwarn_ruleset("inet", "other", -150, "{\"redirect\":{\"port\":81}}"), kFwwarnBridges);
  REQUIRE(before.size() == 1);
  CHECK(before[0].find("priority -150, before netctl's -100") != std::string::npos);
  // iptables-nft's DNAT target (Docker's `ip nat`).
  auto xt = cnm::firewall_neighbour_warnings(
      fwwarn_ruleset("ip", "nat", -100, "{\"xt\":{\"type\":\"target\",\"name\":\"DNAT\"}}"),
      kFwwarnBridges);
  CHECK(xt.size() == 1);
}

TEST_CASE(
    "no nat warning after netctl's priority, without a DNAT, for netctl, or without bridges") {
  CHECK(cnm::firewall_neighbour_warnings(fwwarn_ruleset("ip", "other", -99, kFwwarnDnat),
                                         kFwwarnBridges)
            .empty());
  CHECK(cnm::firewall_neighbour_warnings(fwwarn_ruleset("ip", "other", -100, "{\"accept\":null}"),
                                         kFwwarnBridges)
            .empty());
  CHECK(cnm::firewall_neighbour_warnings(
            fwwarn_ruleset("inet", "netctl-0123abcd", -100, kFwwarnDnat), kFwwarnBridges)
            .empty());
  CHECK(cnm::firewall_neighbour_warnings(fwwarn_ruleset("ip", "other", -100, kFwwarnDnat), {})
            .empty());
  CHECK(cnm::firewall_neighbour_warnings(fwwarn_ruleset("bridge", "other", -300, kFwwarnDnat),
                                         kFwwarnBridges)
            .empty());
  CHECK(cnm::firewall_neighbour_warnings("not json", kFwwarnBridges).empty());
}

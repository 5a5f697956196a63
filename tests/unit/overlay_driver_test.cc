// The overlay driver without a cluster store, and the cluster settings in the config file. With a
// real etcd cluster: tests/e2e/t_overlay.sh.
#include <doctest/doctest.h>

#include "cnm/core/cluster_access.h"
#include "tests/unit/controller_fixture.h"

namespace {

cnm::NetworkCreateRequest ovd_request(const std::string& name) {
  cnm::NetworkCreateRequest r;
  r.name = name;
  r.driver = "overlay";
  r.subnets = {"10.77.0.0/24"};
  return r;
}

}  // namespace

TEST_CASE("overlay: refused clearly without cluster-store, and nothing is made") {
  ControllerFixture f;
  auto n = f.ctl->create_network(ovd_request("ov1"));
  REQUIRE_FALSE(n);
  CHECK(n.error().code == cnm::Code::kInvalid);
  CHECK(n.error().message.find("cluster-store") != std::string::npos);
  CHECK(f.network_count() == 0);
  CHECK(f.intent_count() == 0);
  CHECK(f.links.links.empty());
  // Single-host networks are unchanged.
  f.make_network("b1", {"10.78.0.0/24"});
  auto all = f.ctl->list_all_networks();
  REQUIRE(all);
  CHECK(all->size() == 1);
}

TEST_CASE("overlay: the config's cluster-store and cluster-advertise") {
  auto c = cnm::parse_config(
      "cluster-store: etcd://203.0.113.11:2379,203.0.113.12:2379\n"
      "cluster-advertise: 203.0.113.11\n",
      "t.yaml");
  REQUIRE(c);
  if (std::getenv("NETCTL_CLUSTER_STORE") == nullptr) {
    REQUIRE(c->cluster.store.size() == 2);
    CHECK(c->cluster.urls()[1] == "http://203.0.113.12:2379");
  }
  if (std::getenv("NETCTL_CLUSTER_ADVERTISE") == nullptr)
    CHECK(c->cluster.advertise == "203.0.113.11");
  auto bad = cnm::parse_config("cluster-store: http://203.0.113.11:2379\n", "t.yaml");
  if (std::getenv("NETCTL_CLUSTER_STORE") == nullptr) {
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("cluster-store") != std::string::npos);
  }
}

TEST_CASE("overlay: the VNI option of a record is checked") {
  cnm::Network n;
  n.name = "ov1";
  for (const char* bad : {"", "0", "16777216", "12x", "-1"}) {
    n.options["vni"] = bad;
    CHECK_FALSE(cnm::network_vni(n));
  }
  n.options["vni"] = "4096";
  CHECK(cnm::network_vni(n) == 4096u);
}

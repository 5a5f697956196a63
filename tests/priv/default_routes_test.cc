// Endpoints::default_routes against the real kernel: the default routes another tool gave a
// namespace, whatever their metric or type, and nothing else.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "cnm/kernel/endpoints.h"
#include "tests/priv/priv.h"

namespace cnm::kernel {
namespace {

// Namespace /run/netns/rt-a with an uplink up0 (198.51.100.2/24, 2001:db8:100::2/64) and no
// default route; removed at the end.
struct UplinkNs {
  std::unique_ptr<Namespaces> nss = make_linux_namespaces(priv::kMark);
  std::unique_ptr<Endpoints> eps = make_linux_endpoints(priv::kMark);
  std::string path = "/run/netns/rt-a";
  UplinkNs() {
    REQUIRE(nss->create(path));
    priv::sh("ip -n rt-a link add up0 type veth peer name up1");
    priv::sh("ip -n rt-a link set up1 up && ip -n rt-a link set up0 up");
    priv::sh("ip -n rt-a addr add 198.51.100.2/24 dev up0");
    priv::sh("ip -n rt-a addr add 2001:db8:100::2/64 dev up0 nodad");
  }
  ~UplinkNs() { (void)nss->remove(path); }
  std::vector<DefaultRouteView> routes(const std::string& key = "") {
    auto r = eps->default_routes(path, key);
    REQUIRE(r);
    return *r;
  }
};

}  // namespace

TEST_CASE("default_routes: another tool's routes by family, any metric or type; gone is 404") {
  priv::FreshNetns fresh;
  UplinkNs ns;
  CHECK(ns.routes().empty());  // on-link subnet routes and IPv6's kernel routes are not defaults
  priv::sh("ip -n rt-a route add default via 198.51.100.1 dev up0 metric 100");
  priv::sh("ip -n rt-a -6 route add default via 2001:db8:100::1 dev up0");
  auto id = ns.nss->identify(ns.path);
  REQUIRE(id);
  auto both = ns.routes(fmt::format("{}:{}", id->dev, id->ino));
  REQUIRE(both.size() == 2);
  for (const auto& r : both) {
    CHECK(r.ifname == "up0");
    CHECK(r.type == "unicast");
    REQUIRE(r.via);
    CHECK(r.via->str() == (r.v6 ? "2001:db8:100::1" : "198.51.100.1"));
  }
  CHECK(both[0].v6 != both[1].v6);
  // A kill switch: a blackhole default route, no interface.
  priv::sh("ip -n rt-a route del default && ip -n rt-a -6 route del default");
  priv::sh("ip -n rt-a route add blackhole default");
  auto hole = ns.routes();
  REQUIRE(hole.size() == 1);
  CHECK_FALSE(hole[0].v6);
  CHECK(hole[0].type == "blackhole");
  CHECK(hole[0].ifname.empty());
  // Another namespace than the one resolved, or none at the path.
  auto other = ns.eps->default_routes(ns.path, "1:1");
  REQUIRE_FALSE(other);
  CHECK(other.error().code == Code::kNotFound);
  auto none = ns.eps->default_routes("/run/netns/rt-none", "");
  REQUIRE_FALSE(none);
  CHECK(none.error().code == Code::kNotFound);
}

}  // namespace cnm::kernel

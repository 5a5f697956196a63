// doctor and gc over sandboxes, endpoints and IPAM rows (cnm/recovery/objects.cc), against the
// fakes: drift made behind netctl's back is reported without any change, then repaired by gc.
#include <doctest/doctest.h>

#include "tests/unit/controller_fixture.h"

namespace {

// n1 with sandboxes s1 (publishing 8080 -> 80) and s2, both connected.
struct World : ControllerFixture {
  World() {
    cnm::NetworkCreateRequest r;
    r.name = "n1";
    r.subnets = {"10.88.0.0/24"};
    REQUIRE(ctl->create_network(r));
    for (const char* sb : {"s1", "s2"}) {
      REQUIRE(ctl->create_sandbox(sb));
      cnm::ConnectRequest c;
      c.network = "n1";
      c.target = sb;
      if (std::string(sb) == "s1") c.publish = {"8080:80"};
      REQUIRE(ctl->connect(c));
    }
  }
  std::string veth_of(const std::string& sb) {
    auto s = ctl->sandbox(sb);
    REQUIRE(s);
    auto eps = ctl->endpoints({.name = "sandbox:" + s->id});
    REQUIRE(eps);
    REQUIRE(eps->size() == 1);
    return (*eps)[0].host_ifname;
  }
};

}  // namespace

TEST_CASE("a clean state has no object drift") {
  World w;
  auto d = w.ctl->doctor();
  REQUIRE(d);
  CHECK(d->empty());
}

TEST_CASE("a sandbox whose namespace vanished: doctor reports it, gc drops it and its endpoint") {
  World w;
  REQUIRE(w.namespaces.remove("/run/netns/s1"));  // as `umount; rm` by someone else would
  int64_t rows = w.address_count();
  auto d = w.ctl->doctor();
  REQUIRE(d);
  REQUIRE(d->missing_netns.size() == 1);
  CHECK(d->missing_netns[0] == "s1 (/run/netns/s1)");
  REQUIRE(d->dead_endpoints.size() == 1);
  CHECK(d->dead_endpoints[0].starts_with("n1 sandbox:"));
  CHECK(d->orphan_addresses.empty());
  // doctor changed nothing.
  CHECK(w.store->list(cnm::store::kSandboxes)->size() == 2);
  CHECK(w.endpoint_count() == 2);
  CHECK(w.address_count() == rows);
  CHECK(w.firewall.ports.size() == 1);

  auto g = w.ctl->gc();
  REQUIRE(g);
  CHECK(g->missing_netns.size() == 1);
  CHECK(w.store->list(cnm::store::kSandboxes)->size() == 1);
  CHECK(w.endpoint_count() == 1);
  CHECK(w.firewall.ports.empty());  // its published port's rules went with it
  auto after = w.ctl->doctor();
  REQUIRE(after);
  CHECK(after->empty());
  // Its host port, address and the name are free again.
  REQUIRE(w.ctl->create_sandbox("s1"));
  cnm::ConnectRequest c;
  c.network = "n1";
  c.target = "s1";
  c.publish = {"8080:80"};
  CHECK(w.ctl->connect(c));
  CHECK(w.ctl->doctor()->empty());
}

TEST_CASE("an endpoint whose veth was deleted: reported, then removed with its rules") {
  World w;
  std::string veth = w.veth_of("s1");
  std::string names[] = {veth};
  REQUIRE(w.links.delete_links(names));
  auto d = w.ctl->doctor();
  REQUIRE(d);
  REQUIRE(d->dead_endpoints.size() == 1);
  CHECK(d->dead_endpoints[0].ends_with(veth));
  CHECK(d->missing_netns.empty());
  CHECK(w.endpoint_count() == 2);
  REQUIRE(w.ctl->gc());
  CHECK(w.endpoint_count() == 1);
  CHECK(w.firewall.ports.empty());
  CHECK(w.store->list(cnm::store::kSandboxes)->size() == 2);  // the sandbox itself is fine
  CHECK(w.ctl->doctor()->empty());
}

TEST_CASE("IPAM rows without an owner: reported, then released by gc") {
  World w;
  int64_t rows = w.address_count();
  auto n = w.ctl->network("n1");
  REQUIRE(n);
  cnm::store::Batch b;
  b.add_addresses.push_back({n->id + "/10.88.0.0/24", "10.88.0.77", "0123456789abcdef"});
  b.add_addresses.push_back({"ports/tcp", "9999", "0123456789abcdef"});
  REQUIRE(w.store->apply(b));
  auto d = w.ctl->doctor();
  REQUIRE(d);
  REQUIRE(d->orphan_addresses.size() == 2);
  CHECK(d->orphan_addresses[0].find("10.88.0.77 0123456789abcdef") != std::string::npos);
  CHECK(w.address_count() == rows + 2);
  REQUIRE(w.ctl->gc());
  CHECK(w.address_count() == rows);
  CHECK(w.ctl->doctor()->empty());
  // The released address can be given again.
  REQUIRE(w.ctl->create_sandbox("s3"));
  cnm::ConnectRequest c;
  c.network = "n1";
  c.target = "s3";
  c.ip = "10.88.0.77";
  CHECK(w.ctl->connect(c));
}

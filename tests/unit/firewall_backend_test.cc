// Firewall backend selection (config, environment, auto), the store's record of the backend, and
// the switch: a write command or gc moves the rules, doctor reports what is left behind.
#include "cnm/core/firewall_backend.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>

#include "cnm/core/config.h"
#include "tests/unit/controller_fixture.h"

namespace {

// A FirewallBackends whose inactive backend is a list of lines.
struct FwbFakeBackends final : cnm::FirewallBackends {
  std::string name;
  std::map<std::string, std::vector<std::string>> objects;  // backend -> its lines
  std::vector<std::string> removed;                         // remove() calls
  std::vector<std::string> warned;                          // warnings() answer
  std::vector<std::string> warned_bridges;                  // what warnings() was given
  bool fail_remove = false;
  explicit FwbFakeBackends(std::string active) : name(std::move(active)) {}
  const std::string& active() const override { return name; }
  cnm::Result<std::vector<std::string>> leftovers(const std::string& b) override {
    return objects[b];
  }
  bool refuse = false;  // removable() says no
  cnm::Status removable(const std::string&) override {
    if (refuse) return cnm::fail(cnm::Code::kFailed, "chain user holds rules");
    return {};
  }
  cnm::Status remove(const std::string& b) override {
    if (fail_remove) return cnm::fail(cnm::Code::kFailed, "iptables busy");
    removed.push_back(b);
    objects[b].clear();
    return {};
  }
  cnm::Result<std::vector<std::string>> warnings(const std::vector<std::string>& br) override {
    warned_bridges = br;
    return warned;
  }
};

// The controller fixture whose controller also has `backends`.
// switch_to() makes it a controller over another backend: a second, empty, fake firewall.
struct FwbFixture : ControllerFixture {
  FwbFakeBackends backends;
  cnm::kernel::FakeFirewall other{&steps};
  explicit FwbFixture(const std::string& active) : backends(active) { rewire(firewall); }
  void switch_to(const std::string& active) {
    backends.name = active;
    rewire(other);
  }
  void rewire(cnm::kernel::FakeFirewall& fw) {
    cnm::Config cfg;
    cfg.pools_v4 = ipam::docker_default_pools();
    cnm::KernelContext k{&links, &sysctl, &namespaces, &endpoints, &fw, &hostports, &conntrack};
    k.backends = &backends;
    ctl =
        std::make_unique<cnm::Controller>(cfg, *store, ipam, k, drivers::builtin_registry(), &dns);
  }
  std::string recorded() { return store->firewall_backend().value(); }
  void record(const std::string& b) {
    auto lock = store->lock();
    REQUIRE(lock);
    REQUIRE(store->set_firewall_backend(*lock, b));
  }
};

cnm::HostFirewall fwb_host(bool nft, bool legacy) {
  cnm::HostFirewall h;
  h.iptables_is_nft = nft;
  h.legacy_tables = legacy;
  return h;
}

}  // namespace

TEST_CASE("firewall-backend in the config: auto by default, the three names, else a line error") {
  auto c = cnm::parse_config("", "t.yaml");
  REQUIRE(c);
  CHECK(c->firewall_backend == "auto");
  for (const char* b : {"nftables", "iptables", "auto"}) {
    auto v = cnm::parse_config(std::string("firewall-backend: ") + b + "\n", "t.yaml");
    REQUIRE(v);
    CHECK(v->firewall_backend == b);
  }
  auto bad = cnm::parse_config("mtu: 1500\nfirewall-backend: nft\n", "t.yaml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == cnm::Code::kInvalid);
  CHECK(bad.error().message ==
        "config t.yaml: line 2: firewall-backend: 'nft' is not nftables, iptables or auto");
}

TEST_CASE("selection: the environment over the config; auto keeps the record, else asks the host") {
  int probes = 0;
  auto host = [&](bool nft, bool legacy) {
    return [&probes, nft, legacy] {
      ++probes;
      return fwb_host(nft, legacy);
    };
  };
  CHECK(cnm::select_firewall_backend("iptables", "nftables", "", host(true, false)).value() ==
        "iptables");
  CHECK(cnm::select_firewall_backend("", "iptables", "nftables", host(true, false)).value() ==
        "iptables");
  CHECK(cnm::select_firewall_backend(nullptr, "nftables", "", host(false, true)).value() ==
        "nftables");
  CHECK(probes == 0);
  // auto: a recorded backend stays whatever the host looks like now
  CHECK(cnm::select_firewall_backend("auto", "iptables", "iptables", host(true, false)).value() ==
        "iptables");
  CHECK(cnm::select_firewall_backend(nullptr, "auto", "nftables", host(false, true)).value() ==
        "nftables");
  CHECK(probes == 0);
  // none recorded: nftables unless iptables is legacy and legacy tables are in use
  CHECK(cnm::select_firewall_backend(nullptr, "auto", "", host(true, true)).value() == "nftables");
  CHECK(cnm::select_firewall_backend(nullptr, "auto", "", host(false, false)).value() ==
        "nftables");
  CHECK(cnm::select_firewall_backend(nullptr, "auto", "", host(false, true)).value() == "iptables");
  CHECK(probes == 3);
  auto bad = cnm::select_firewall_backend("ebtables", "auto", "", host(true, false));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == cnm::Code::kInvalid);
  CHECK(bad.error().message ==
        "NETCTL_FIREWALL_BACKEND: 'ebtables' is not nftables, iptables or auto");
}

TEST_CASE("legacy tables are in use when ip_tables_names or ip6_tables_names lists one") {
  char tmpl[] = "/tmp/netctl-procnet.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  CHECK_FALSE(cnm::legacy_tables_in_use(dir));  // neither file: modules not loaded
  std::ofstream(dir + "/ip_tables_names") << "";
  CHECK_FALSE(cnm::legacy_tables_in_use(dir));
  std::ofstream(dir + "/ip6_tables_names") << "filter\n";
  CHECK(cnm::legacy_tables_in_use(dir));
  CHECK(cnm::probe_host_firewall(dir).legacy_tables);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the store records the backend beside the root id, across reopening") {
  ControllerFixture f;
  CHECK(f.store->firewall_backend().value().empty());
  {
    auto lock = f.store->lock();
    REQUIRE(lock);
    REQUIRE(f.store->set_firewall_backend(*lock, "nftables"));
  }
  auto again = cnm::store::Store::open(f.root);
  REQUIRE(again);
  CHECK((*again)->firewall_backend().value() == "nftables");
}

TEST_CASE("a new root records its backend with its first write command and moves nothing") {
  FwbFixture f("nftables");
  f.make_network("n1", {"10.70.0.0/24"});
  CHECK(f.recorded() == "nftables");
  CHECK(f.backends.removed.empty());
}

TEST_CASE("a root made before backends were recorded holds iptables") {
  FwbFixture f("iptables");
  f.make_network("n1", {"10.70.0.0/24"});  // records iptables
  f.record("");                            // as an older netctl left it: networks, no record
  REQUIRE(recover_holding_lock(*f.ctl));   // iptables selected: recorded, nothing moves
  CHECK(f.recorded() == "iptables");
  CHECK(f.backends.removed.empty());
  f.record("");
  f.switch_to("nftables");
  REQUIRE(recover_holding_lock(*f.ctl));
  CHECK(f.other.networks.size() == 1);
  CHECK(f.backends.removed == std::vector<std::string>{"iptables"});
  CHECK(f.recorded() == "nftables");
}

TEST_CASE("a write command after a switch writes the new backend, empties the old, records it") {
  FwbFixture f("iptables");
  f.make_network("n1", {"10.70.0.0/24"});
  CHECK(f.recorded() == "iptables");
  // The operator switches: the same store under the nftables backend.
  f.switch_to("nftables");
  f.backends.objects["iptables"] = {"-N NETCTL-N-x"};
  f.make_network("n2", {"10.71.0.0/24"});
  CHECK(f.other.networks.size() == 2);     // n1 moved over, n2 made
  CHECK(f.firewall.networks.size() == 1);  // the old one is the backends' to empty
  CHECK(f.backends.removed == std::vector<std::string>{"iptables"});
  CHECK(f.recorded() == "nftables");
  f.make_network("n3", {"10.72.0.0/24"});  // the switch is done once
  CHECK(f.backends.removed.size() == 1);
}

TEST_CASE("a switch that cannot empty the old backend fails the command and keeps the record") {
  FwbFixture f("iptables");
  f.make_network("n1", {"10.70.0.0/24"});
  f.switch_to("nftables");
  f.backends.fail_remove = true;
  cnm::NetworkCreateRequest r;
  r.name = "n2";
  r.subnets = {"10.71.0.0/24"};
  auto made = f.ctl->create_network(r);
  REQUIRE_FALSE(made);
  CHECK(made.error().message ==
        "switch the firewall from iptables to nftables (the next write command or `netctl gc` "
        "tries again): iptables busy");
  CHECK(f.recorded() == "iptables");
  CHECK_FALSE(f.ctl->network("n2"));
  f.backends.fail_remove = false;
  REQUIRE(f.ctl->create_network(r));
  CHECK(f.recorded() == "nftables");
}

TEST_CASE("a switch the old backend refuses writes nothing into the new one") {
  FwbFixture f("nftables");
  f.make_network("n1", {"10.70.0.0/24"});
  f.switch_to("iptables");
  f.backends.refuse = true;
  auto lock = f.store->lock();
  REQUIRE(lock);
  auto r = f.ctl->recover(*lock);
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "switch the firewall from nftables to iptables (the next write command or `netctl gc` "
        "tries again): chain user holds rules");
  CHECK(f.other.empty());
  CHECK(f.other.log.empty());
  CHECK(f.backends.removed.empty());
  CHECK(f.recorded() == "nftables");
}

TEST_CASE("doctor reports a pending switch and leftovers, warns apart; gc moves and empties") {
  FwbFixture f("iptables");
  f.make_network("n1", {"10.70.0.0/24"});
  f.switch_to("nftables");
  f.backends.objects["iptables"] = {"-N NETCTL-N-x", "-N NETCTL-M-x"};
  f.backends.warned = {"table ip filter chain forward has policy drop"};
  auto d = f.ctl->doctor();
  REQUIRE(d);
  REQUIRE(d->backend.size() == 3);
  CHECK(d->backend[0] ==
        "the store records iptables, nftables is selected: the next write command or gc moves "
        "the rules");
  CHECK(d->backend[1] == "iptables leftover: -N NETCTL-N-x");
  CHECK(d->warnings == f.backends.warned);
  auto n1 = f.ctl->network("n1");
  REQUIRE(n1);
  CHECK(f.backends.warned_bridges == std::vector<std::string>{n1->bridge});
  auto without_warnings = d->size();
  d->warnings.clear();
  CHECK(d->size() == without_warnings);  // warnings are not drift
  CHECK(f.backends.removed.empty());     // doctor changes nothing
  CHECK(f.recorded() == "iptables");
  REQUIRE(f.ctl->gc());
  CHECK(f.other.networks.size() == 1);
  CHECK(f.backends.removed == std::vector<std::string>{"iptables"});
  CHECK(f.recorded() == "nftables");
  auto after = f.ctl->doctor();
  REQUIRE(after);
  CHECK(after->backend.empty());
}

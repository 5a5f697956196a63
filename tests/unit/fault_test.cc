// NETCTL_FAIL_AT fault injection (cnm/kernel/fault.h): the plan parser, and the decorators with
// the Txn store hook driving a real controller (over fakes) through every step of a command.
#include "cnm/kernel/fault.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "cnm/controller.h"
#include "cnm/core/txn.h"
#include "drivers/builtin.h"
#include "ipam/default_ipam.h"
#include "tests/fakes/fake_endpoints.h"
#include "tests/fakes/fake_firewall.h"
#include "tests/fakes/fake_hostports.h"
#include "tests/fakes/fake_links.h"
#include "tests/unit/controller_fixture.h"

using cnm::Code;
namespace k = cnm::kernel;

namespace {

k::FaultPlan* hook_plan = nullptr;

// The fakes (their own step counters never fail) behind the fault decorators, as Runtime wires
// the Linux adapters when NETCTL_FAIL_AT is set.
struct FaultFixture {
  std::string root;
  k::FaultPlan plan;
  k::FakeLinks links;
  k::FakeSysctl sysctl;
  k::FakeNamespaces namespaces;
  k::FakeEndpoints endpoints{links, namespaces};
  k::FakeFirewall firewall;
  k::FakeHostPorts hostports;
  std::unique_ptr<k::Links> w_links;
  std::unique_ptr<k::Sysctl> w_sysctl;
  std::unique_ptr<k::Namespaces> w_ns;
  std::unique_ptr<k::Endpoints> w_eps;
  std::unique_ptr<k::Firewall> w_fw;
  ipam::DefaultIpam ipam;
  std::unique_ptr<cnm::store::Store> store;
  std::unique_ptr<cnm::Controller> ctl;

  // Non-owning forwarders so the decorators can own "an adapter" while the test keeps the fakes.
  template <class I, class F>
  static std::unique_ptr<I> borrow(F& f);

  FaultFixture() {
    char tmpl[] = "/tmp/netctl-unit.XXXXXX";
    root = mkdtemp(tmpl);
    store = std::move(*cnm::store::Store::open(root));
    w_links = k::with_faults(borrow<k::Links>(links), &plan);
    w_sysctl = k::with_faults(borrow<k::Sysctl>(sysctl), &plan);
    w_ns = k::with_faults(borrow<k::Namespaces>(namespaces), &plan);
    w_eps = k::with_faults(borrow<k::Endpoints>(endpoints), &plan);
    w_fw = k::with_faults(borrow<k::Firewall>(firewall), &plan);
    hook_plan = &plan;
    cnm::Txn::set_step_hook([](std::string_view what) { return hook_plan->step(what); });
    cnm::Config cfg;
    cfg.pools_v4 = ipam::docker_default_pools();
    ctl = std::make_unique<cnm::Controller>(
        cfg, *store, ipam,
        cnm::KernelContext{w_links.get(), w_sysctl.get(), w_ns.get(), w_eps.get(), w_fw.get(),
                           &hostports},
        drivers::builtin_registry());
  }
  ~FaultFixture() {
    cnm::Txn::set_step_hook(nullptr);
    std::filesystem::remove_all(root);
  }
  bool kernel_empty_but_network() {
    for (const auto& [name, l] : links.links)
      if (name.starts_with("nv")) return false;
    return firewall.ports.empty() && endpoints.peers.empty();
  }
};

struct LinksRef : k::Links {
  k::Links& f;
  explicit LinksRef(k::Links& l) : f(l) {}
  cnm::Status create_bridge(const std::string& n, unsigned m,
                            std::span<const cnm::Prefix> a) override {
    return f.create_bridge(n, m, a);
  }
  cnm::Status delete_links(std::span<const std::string> n) override { return f.delete_links(n); }
  cnm::Status add_addresses(const std::string& n, std::span<const cnm::Prefix> a) override {
    return f.add_addresses(n, a);
  }
  cnm::Status remove_addresses(const std::string& n, std::span<const cnm::Prefix> a) override {
    return f.remove_addresses(n, a);
  }
  cnm::Result<std::optional<k::LinkInfo>> get(const std::string& n) override { return f.get(n); }
  cnm::Result<std::vector<k::LinkInfo>> list() override { return f.list(); }
  cnm::Result<std::vector<cnm::Prefix>> used_prefixes() override { return f.used_prefixes(); }
};
struct SysctlRef : k::Sysctl {
  k::Sysctl& f;
  explicit SysctlRef(k::Sysctl& s) : f(s) {}
  cnm::Status set(const std::string& key, const std::string& v) override { return f.set(key, v); }
  cnm::Result<std::string> get(const std::string& key) override { return f.get(key); }
};
struct NsRef : k::Namespaces {
  k::Namespaces& f;
  explicit NsRef(k::Namespaces& n) : f(n) {}
  cnm::Status create(const std::string& p) override { return f.create(p); }
  cnm::Status remove(const std::string& p) override { return f.remove(p); }
  cnm::Result<k::NetnsId> identify(const std::string& p) override { return f.identify(p); }
  cnm::Result<k::HeldNetns> hold(const std::string& p) override { return f.hold(p); }
  cnm::Result<k::HeldNetns> hold_process(int pid, uint64_t start) override {
    return f.hold_process(pid, start);
  }
  cnm::Result<k::NetnsId> own() override { return f.own(); }
  cnm::Result<std::vector<std::string>> interfaces(const std::string& p) override {
    return f.interfaces(p);
  }
};
struct EpRef : k::Endpoints {
  k::Endpoints& f;
  explicit EpRef(k::Endpoints& e) : f(e) {}
  cnm::Status attach(const k::EndpointSpec& s) override { return f.attach(s); }
  cnm::Status add_default_routes(const std::string& ns, const std::string& ifname,
                                 std::span<const cnm::IpAddr> gws) override {
    return f.add_default_routes(ns, ifname, gws);
  }
  cnm::Result<std::vector<k::DefaultRouteView>> default_routes(const std::string& ns,
                                                               const std::string& key) override {
    return f.default_routes(ns, key);
  }
};
struct FwRef : k::Firewall {
  k::Firewall& f;
  explicit FwRef(k::Firewall& w) : f(w) {}
  const std::string& root_id() const override { return f.root_id(); }
  cnm::Status apply(const k::FirewallChange& c) override { return f.apply(c); }
  cnm::Result<std::vector<std::string>> dump() override { return f.dump(); }
};

template <class I, class F>
std::unique_ptr<I> FaultFixture::borrow(F& f) {
  if constexpr (std::is_same_v<I, k::Links>) return std::make_unique<LinksRef>(f);
  if constexpr (std::is_same_v<I, k::Sysctl>) return std::make_unique<SysctlRef>(f);
  if constexpr (std::is_same_v<I, k::Namespaces>) return std::make_unique<NsRef>(f);
  if constexpr (std::is_same_v<I, k::Endpoints>) return std::make_unique<EpRef>(f);
  if constexpr (std::is_same_v<I, k::Firewall>) return std::make_unique<FwRef>(f);
}

// The fewest steps each sweep below must cover (what the commands take today): a sweep over fewer
// would pass without having failed the steps it means to.
constexpr int kConnectSteps = 4;
constexpr int kSandboxRmSteps = 7;
constexpr int kNetworkRmSteps = 6;

cnm::NetworkCreateRequest net_req() {
  cnm::NetworkCreateRequest r;
  r.name = "n1";
  r.subnets = {"10.88.0.0/24"};
  return r;
}

cnm::ConnectRequest conn_req() {
  cnm::ConnectRequest r;
  r.network = "n1";
  r.target = "s1";
  r.publish = {"8080:80"};
  return r;
}

// Sets up the state a sweep starts from: n1, sandbox s1 connected to it with a published port.
void fault_connected(FaultFixture& f) {
  REQUIRE(f.ctl->create_network(net_req()));
  REQUIRE(f.ctl->create_sandbox("s1"));
  REQUIRE(f.ctl->connect(conn_req()));
}

// The steps `op` takes without a failure on a fresh fixture after `setup`: the length of a sweep
// over it, which must be at least `at_least` so that a sweep never passes by injecting nothing.
template <class Setup, class Op>
int fault_sweep_length(Setup setup, Op op, int at_least) {
  FaultFixture f;
  setup(f);
  int before = f.plan.steps;
  REQUIRE(op(f));
  int steps = f.plan.steps - before;
  CAPTURE(steps);
  REQUIRE(steps >= at_least);
  return steps;
}

}  // namespace

TEST_CASE("NETCTL_FAIL_AT specs: <k>, <k>:fail, <k>:kill; anything else is invalid input") {
  auto p = k::parse_fault_plan("3", false);
  REQUIRE(p);
  CHECK(p->at == 3);
  CHECK(p->mode == k::FaultPlan::Mode::kFail);
  p = k::parse_fault_plan("12:kill", true);
  REQUIRE(p);
  CHECK(p->at == 12);
  CHECK(p->mode == k::FaultPlan::Mode::kKill);
  CHECK(p->trace);
  CHECK(k::parse_fault_plan("1:fail", false));
  for (const char* bad : {"", "0", "-1", "x", "3:", "3:boom", ":kill", "3 ", "99999999999"}) {
    CAPTURE(bad);
    auto r = k::parse_fault_plan(bad, false);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kInvalid);
  }
}

TEST_CASE("a plan fails exactly its step, once") {
  k::FaultPlan plan{.at = 2};
  CHECK(plan.step("a"));
  auto r = plan.step("b");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "injected failure at step 2 (b)");
  CHECK(plan.step("c"));
  CHECK(plan.steps == 3);
}

TEST_CASE("every step of a publishing connect, kernel or store, fails cleanly through the plan") {
  int before = 0, total = 0;
  {
    FaultFixture f;
    REQUIRE(f.ctl->create_network(net_req()));
    REQUIRE(f.ctl->create_sandbox("s1"));
    before = f.plan.steps;
    REQUIRE(f.ctl->connect(conn_req()));
    total = f.plan.steps;
  }
  // the intent write (link and fw-ports in one), attach, firewall apply, commit at least
  REQUIRE(total - before >= kConnectSteps);
  for (int at = before + 1; at <= total; ++at) {
    CAPTURE(at);
    FaultFixture f;
    REQUIRE(f.ctl->create_network(net_req()));
    REQUIRE(f.ctl->create_sandbox("s1"));
    f.plan.at = at;
    auto r = f.ctl->connect(conn_req());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kFailed);
    CHECK(r.error().message.find(fmt::format("injected failure at step {}", at)) !=
          std::string::npos);
    // What the rollback could not drop (a failed intent drop) the next command's recovery does.
    REQUIRE(recover_holding_lock(*f.ctl));
    CHECK(f.kernel_empty_but_network());
    CHECK(f.store->intents()->empty());
    CHECK(f.store->list(cnm::store::kEndpoints)->empty());
    CHECK(*f.store->address_count() == 0);
    // The same request succeeds afterwards and the port is still free.
    auto again = f.ctl->connect(conn_req());
    REQUIRE(again);
    CHECK(f.firewall.ports.size() == 1);
  }
}

TEST_CASE("an interrupted sandbox rm and network rm are finished by the next command") {
  auto rm = [](FaultFixture& f) { return f.ctl->remove_sandboxes({"s1"}, true); };
  const int steps = fault_sweep_length(fault_connected, rm, kSandboxRmSteps);
  for (int at = 1; at <= steps; ++at) {
    CAPTURE(at);
    FaultFixture f;
    fault_connected(f);
    f.plan.at = f.plan.steps + at;
    auto r = rm(f);
    CHECK(f.plan.steps >= f.plan.at);  // the failure was injected
    f.plan.at = 0;
    REQUIRE(recover_holding_lock(*f.ctl));
    // Either the removal was rolled forward, or it failed before it promised anything and all is
    // as before; a retry then removes everything.
    bool intact = f.store->list(cnm::store::kSandboxes)->size() == 1;
    if (intact) {
      CHECK(!r);
      CHECK(f.namespaces.netns.size() == 1);
      // Its endpoint was removed by the roll-forward, or is whole.
      size_t eps = f.store->list(cnm::store::kEndpoints)->size();
      CHECK(f.firewall.ports.size() == eps);
      CHECK(f.endpoints.peers.size() == eps);
      CHECK((*f.store->address_count() == 0) == (eps == 0));
      REQUIRE(f.ctl->remove_sandboxes({"s1"}, true));
    }
    CHECK(f.kernel_empty_but_network());
    CHECK(f.namespaces.netns.empty());
    CHECK(f.store->list(cnm::store::kSandboxes)->empty());
    CHECK(f.store->list(cnm::store::kEndpoints)->empty());
    CHECK(*f.store->address_count() == 0);
    CHECK(f.store->intents()->empty());
    CHECK(f.ctl->remove_networks({"n1"}));
    CHECK(f.links.links.empty());
    CHECK(f.firewall.empty());
  }
}

TEST_CASE("a network rm failed or killed at any step leaves the network whole or gone") {
  auto setup = [](FaultFixture& f) { REQUIRE(f.ctl->create_network(net_req())); };
  auto rm = [](FaultFixture& f) { return f.ctl->remove_networks({"n1"}); };
  const int steps = fault_sweep_length(setup, rm, kNetworkRmSteps);
  for (int at = 1; at <= steps; ++at) {
    CAPTURE(at);
    FaultFixture f;
    setup(f);
    f.plan.at = f.plan.steps + at;
    auto r = rm(f);
    CHECK(f.plan.steps >= f.plan.at);  // the failure was injected
    f.plan.at = 0;
    REQUIRE(recover_holding_lock(*f.ctl));
    if (f.store->list(cnm::store::kNetworks)->size() == 1) {
      // Failed before the removal was declared: bridge and rules are still there.
      CHECK(!r);
      CHECK(f.links.links.size() == 1);
      CHECK(f.firewall.networks.size() == 1);
      REQUIRE(f.ctl->remove_networks({"n1"}));
    }
    CHECK(f.links.links.empty());
    CHECK(f.firewall.empty());
    CHECK(f.store->list(cnm::store::kNetworks)->empty());
    CHECK(f.store->intents()->empty());
  }
}

// The controller over the real kernel, each case in a fresh network namespace.
#include <doctest/doctest.h>

#include <filesystem>

#include "cnm/controller.h"
#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/firewall.h"
#include "cnm/kernel/hostports.h"
#include "cnm/kernel/links.h"
#include "drivers/builtin.h"
#include "ipam/default_ipam.h"
#include "tests/priv/priv.h"

namespace {

// A controller over real libnl links in the current (fresh) namespace, with a temporary root.
struct RealController {
  std::string root;
  std::unique_ptr<cnm::kernel::Links> links = cnm::kernel::make_linux_links(priv::kMark);
  std::unique_ptr<cnm::kernel::Sysctl> sysctl = cnm::kernel::make_linux_sysctl();
  std::unique_ptr<cnm::kernel::Namespaces> namespaces =
      cnm::kernel::make_linux_namespaces(priv::kMark);
  std::unique_ptr<cnm::kernel::Endpoints> endpoints =
      cnm::kernel::make_linux_endpoints(priv::kMark);
  std::unique_ptr<cnm::kernel::Firewall> firewall = cnm::kernel::make_iptc_firewall("0a1b2c3d");
  std::unique_ptr<cnm::kernel::HostPorts> hostports = cnm::kernel::make_linux_host_ports();
  ipam::DefaultIpam ipam;
  std::unique_ptr<cnm::store::Store> store;
  std::unique_ptr<cnm::Controller> ctl;

  RealController() {
    char tmpl[] = "/tmp/netctl-priv.XXXXXX";
    root = mkdtemp(tmpl);
    store = std::move(*cnm::store::Store::open(root));
    cnm::Config cfg;
    cfg.pools_v4 = ipam::docker_default_pools();
    ctl = std::make_unique<cnm::Controller>(
        cfg, *store, ipam,
        cnm::KernelContext{links.get(), sysctl.get(), namespaces.get(), endpoints.get(),
                           firewall.get(), hostports.get()},
        drivers::builtin_registry());
  }
  ~RealController() { std::filesystem::remove_all(root); }
};

int nc_links() { return std::stoi(priv::sh("ip -o link show | grep -c ': nc-' || true")); }

}  // namespace

TEST_CASE("network create makes an up bridge with the gateway and MTU; rm removes it") {
  priv::FreshNetns ns;
  RealController c;
  cnm::NetworkCreateRequest r;
  r.name = "n1";
  r.subnets = {"10.88.0.0/24"};
  r.mtu = 1400;
  auto n = c.ctl->create_network(r);
  REQUIRE(n);
  auto out = priv::sh("ip -o addr show dev " + n->bridge);
  CHECK(out.find("inet 10.88.0.1/24") != std::string::npos);
  auto link = priv::sh("ip -o link show dev " + n->bridge);
  CHECK(link.find("mtu 1400") != std::string::npos);
  CHECK(link.find(",UP") != std::string::npos);
  CHECK(priv::sh("cat /proc/sys/net/ipv4/ip_forward") == "1\n");
  REQUIRE(c.ctl->remove_networks({"n1"}));
  CHECK(priv::sh_rc("ip link show dev " + n->bridge + " 2>/dev/null") != 0);
  CHECK(c.store->list(cnm::store::kNetworks)->empty());
}

TEST_CASE("an automatic subnet avoids the host's addresses and routes") {
  priv::FreshNetns ns;
  RealController c;
  REQUIRE(priv::sh_rc("ip link add hr0 type veth peer name hr1 && ip link set hr0 up && "
                      "ip addr add 172.17.5.1/24 dev hr0 && "
                      "ip route add 172.18.0.0/15 dev hr0") == 0);
  cnm::NetworkCreateRequest r;
  r.name = "auto";
  auto n = c.ctl->create_network(r);
  REQUIRE(n);
  CHECK(n->pools.at(0).subnet.str() == "172.20.0.0/16");
}

TEST_CASE("100 networks created and removed leave no nc- link and no record") {
  priv::FreshNetns ns;
  RealController c;
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) {
    cnm::NetworkCreateRequest r;
    r.name = "net" + std::to_string(i);
    r.subnets = {"10.77." + std::to_string(i) + ".0/24"};
    REQUIRE(c.ctl->create_network(r));
    names.push_back(r.name);
  }
  CHECK(nc_links() == 100);
  // Half by a batched rm, half by prune.
  REQUIRE(c.ctl->remove_networks(std::vector<std::string>(names.begin(), names.begin() + 50)));
  CHECK(nc_links() == 50);
  auto pruned = c.ctl->prune_networks();
  REQUIRE(pruned);
  CHECK(pruned->size() == 50);
  CHECK(nc_links() == 0);
  CHECK(c.store->list(cnm::store::kNetworks)->empty());
  CHECK(c.store->intents()->empty());
}

TEST_CASE("a bridge name taken by another device is a conflict and changes nothing") {
  priv::FreshNetns ns;
  RealController c;
  REQUIRE(priv::sh_rc("ip link add taken0 type veth peer name taken1") == 0);
  cnm::NetworkCreateRequest r;
  r.name = "n";
  r.options["bridge.name"] = "taken0";
  auto n = c.ctl->create_network(r);
  REQUIRE_FALSE(n);
  CHECK(n.error().code == cnm::Code::kConflict);
  CHECK(priv::sh("ip -d -o link show dev taken0").find("veth") != std::string::npos);
  CHECK(c.store->list(cnm::store::kNetworks)->empty());
  CHECK(c.store->intents()->empty());
}

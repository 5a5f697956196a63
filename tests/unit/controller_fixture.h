// A controller over fake kernel adapters and a store in a temporary directory.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "cnm/controller.h"
#include "drivers/builtin.h"
#include "ipam/default_ipam.h"
#include "tests/fakes/fake_conntrack.h"
#include "tests/fakes/fake_dns.h"
#include "tests/fakes/fake_endpoints.h"
#include "tests/fakes/fake_firewall.h"
#include "tests/fakes/fake_hostports.h"
#include "tests/fakes/fake_links.h"

// A connect of `target` to `network` with nothing else asked.
inline cnm::ConnectRequest connect_req(std::string network, std::string target) {
  cnm::ConnectRequest r;
  r.network = std::move(network);
  r.target = std::move(target);
  return r;
}

// Controller::recover as a write command runs it: under the store's write lock.
inline cnm::Result<int> recover_holding_lock(cnm::Controller& c) {
  auto lock = c.store().lock();
  if (!lock) return std::unexpected(lock.error());
  return c.recover(*lock);
}

struct ControllerFixture {
  std::string root;
  cnm::kernel::StepCounter steps;
  cnm::kernel::FakeLinks links{&steps};
  cnm::kernel::FakeSysctl sysctl{&steps};
  cnm::kernel::FakeNamespaces namespaces{&steps};
  cnm::kernel::FakeEndpoints endpoints{links, namespaces, &steps};
  cnm::kernel::FakeFirewall firewall{&steps};
  cnm::kernel::FakeHostPorts hostports{&links};
  cnm::kernel::FakeConntrack conntrack;
  cnm::FakeDns dns;
  ipam::DefaultIpam ipam;
  std::unique_ptr<cnm::store::Store> store;
  std::unique_ptr<cnm::Controller> ctl;

  ControllerFixture() {
    char tmpl[] = "/tmp/netctl-unit.XXXXXX";
    root = mkdtemp(tmpl);
    store = std::move(*cnm::store::Store::open(root));
    cnm::Config cfg;
    cfg.pools_v4 = ipam::docker_default_pools();
    ctl = std::make_unique<cnm::Controller>(
        cfg, *store, ipam,
        cnm::KernelContext{&links, &sysctl, &namespaces, &endpoints, &firewall, &hostports,
                           &conntrack},
        drivers::builtin_registry(), &dns);
  }
  ~ControllerFixture() { std::filesystem::remove_all(root); }

  size_t network_count() { return store->list(cnm::store::kNetworks)->size(); }
  size_t intent_count() { return store->intents()->size(); }
  // Creates network `name` over `subnets` (with IPv6 when one of them is IPv6).
  void make_network(const std::string& name, std::vector<std::string> subnets,
                    bool internal = false) {
    cnm::NetworkCreateRequest r;
    r.name = name;
    for (const auto& s : subnets) r.ipv6 |= s.find(':') != std::string::npos;
    r.subnets = std::move(subnets);
    r.internal = internal;
    REQUIRE(ctl->create_network(r));
  }
  // The one endpoint of network `net` as the store has it now (fails the test otherwise).
  cnm::Endpoint on(const std::string& net) {
    auto n = ctl->network(net);
    REQUIRE(n);
    auto eps = ctl->endpoints({.parent = n->id});
    REQUIRE(eps);
    REQUIRE(eps->size() == 1);
    return eps->front();
  }
  size_t endpoint_count() { return store->list(cnm::store::kEndpoints)->size(); }
  int64_t address_count() { return *store->address_count(); }
};

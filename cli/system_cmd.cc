// netctl version | info
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <cstdlib>

#include "cli/commands.h"
#include "cli/output.h"
#include "cnm/core/firewall_backend.h"
#include "cnm/kernel/links.h"

namespace cli {
namespace {

cnm::Status info(Context& ctx) {
  auto c = CNM_VALUE(ctx.controller());
  auto nets = CNM_VALUE(c->list_networks());
  auto addrs = CNM_VALUE(c->store().address_count());
  auto drivers = c->registry().driver_names();
  // As the runtime chose it when it opened the store (cnm/runtime.cc).
  auto recorded = CNM_VALUE(c->store().firewall_backend());
  auto backend = CNM_VALUE(cnm::select_firewall_backend(std::getenv(cnm::kFirewallBackendEnv),
                                                        c->config().firewall_backend, recorded,
                                                        [] { return cnm::probe_host_firewall(); }));
  nlohmann::json pools = nlohmann::json::array();
  for (const auto& p : c->config().pools_v4)
    pools.push_back({{"Base", p.base.str()}, {"Size", p.size}});
  for (const auto& p : c->config().pools_v6)
    pools.push_back({{"Base", p.base.str()}, {"Size", p.size}});
  nlohmann::json j = {
      {"Version", NETCTL_VERSION},     {"Root", c->store().root()}, {"Networks", nets.size()},
      {"AllocatedAddresses", addrs},   {"Drivers", drivers},        {"DefaultAddressPools", pools},
      {"DefaultMTU", c->config().mtu}, {"FirewallBackend", backend}};
  auto root_id = CNM_VALUE(c->store().root_id());  // also this host's id in the cluster
  j["RootId"] = root_id;
  const auto& cluster = c->config().cluster;
  if (cluster.enabled())
    j["Cluster"] = {{"Store", cluster.urls()}, {"Advertise", cluster.advertise}};
  if (ctx.json()) {
    print_json(j);
    return {};
  }
  fmt::print(
      "Version: {}\nRoot: {}\nNetworks: {}\nAllocated addresses: {}\nDrivers: {}\nDefault MTU: {}\n"
      "Firewall backend: {}\nRoot id: {}\n",
      NETCTL_VERSION, c->store().root(), nets.size(), addrs, fmt::join(drivers, " "),
      c->config().mtu, backend, root_id);
  if (cluster.enabled())
    fmt::print("Cluster store: {}\nCluster advertise: {}\n", fmt::join(cluster.urls(), ","),
               cluster.advertise.empty() ? "(not set)" : cluster.advertise);
  fmt::print("Default address pools:\n");
  for (const auto& p : pools)
    fmt::print("  {} size {}\n", p["Base"].get<std::string>(), p["Size"].get<int>());
  return {};
}

nlohmann::json drift_json(const cnm::Drift& d) {
  return {{"MissingRules", d.missing_rules},
          {"ForeignRules", d.foreign_rules},
          {"MissingLinks", d.missing_links},
          {"ForeignLinks", d.foreign_links},
          {"MissingNetns", d.missing_netns},
          {"DeadEndpoints", d.dead_endpoints},
          {"OrphanAddresses", d.orphan_addresses},
          {"Containers", d.containers},
          {"PendingIntents", d.pending_intents},
          {"DnsServer", d.dns_server},
          {"Cluster", d.cluster},
          {"FirewallBackend", d.backend},
          {"Warnings", d.warnings},
          {"Clean", d.empty()}};
}

void print_drift(const cnm::Drift& d) {
  for (const auto& l : d.missing_rules) fmt::print("missing rule: {}\n", l);
  for (const auto& l : d.foreign_rules) fmt::print("foreign rule: {}\n", l);
  for (const auto& l : d.missing_links) fmt::print("missing link: {}\n", l);
  for (const auto& l : d.foreign_links) fmt::print("foreign link: {}\n", l);
  for (const auto& l : d.missing_netns) fmt::print("sandbox without namespace: {}\n", l);
  for (const auto& l : d.dead_endpoints) fmt::print("endpoint without veth: {}\n", l);
  for (const auto& l : d.orphan_addresses) fmt::print("address without owner: {}\n", l);
  for (const auto& l : d.containers) fmt::print("container drift: {}\n", l);
  for (const auto& l : d.pending_intents) fmt::print("pending intent: {}\n", l);
  for (const auto& l : d.dns_server) fmt::print("dns server {}\n", l);
  for (const auto& l : d.cluster) fmt::print("cluster: {}\n", l);
  for (const auto& l : d.backend) fmt::print("firewall backend: {}\n", l);
}

// doctor: exit 1 on drift; gc: prints what it repaired, exit 1 if journal rows are left.
cnm::Status reconcile(Context& ctx, bool repair) {
  auto c = CNM_VALUE(ctx.controller());
  auto d = CNM_VALUE(repair ? c->gc() : c->doctor());
  if (ctx.json())
    print_json(drift_json(d));
  else if (d.empty())
    fmt::print("{}\n", repair ? "nothing to repair" : "no drift");
  else
    print_drift(d);
  if (!ctx.json())  // not drift: the exit code does not change
    for (const auto& w : d.warnings) fmt::print("warning: {}\n", w);
  if (!repair && !d.empty())
    return cnm::fail(cnm::Code::kFailed,
                     "doctor: {} difference(s) between the kernel and the store", d.size());
  if (repair && !d.pending_intents.empty())
    return cnm::fail(cnm::Code::kFailed, "gc: {} intent(s) could not be finished",
                     d.pending_intents.size());
  return {};
}

}  // namespace

void add_system_commands(CLI::App& app, Context& ctx, cnm::Status& status) {
  app.add_subcommand("version", "Print the version")->callback([&ctx] {
    if (ctx.json())
      print_json({{"Version", NETCTL_VERSION}});
    else
      fmt::print("netctl {}\n", NETCTL_VERSION);
  });
  app.add_subcommand("doctor", "Report drift between the kernel and the store (exit 1 on drift)")
      ->callback([&ctx, &status] { status = reconcile(ctx, false); });
  app.add_subcommand("gc", "Repair drift: remove unknown netctl links and rules, restore missing")
      ->callback([&ctx, &status] { status = reconcile(ctx, true); });
  app.add_subcommand("info", "Show the state root, pools and counts")->callback([&ctx, &status] {
    status = info(ctx);
  });
}

}  // namespace cli

// netctl network create | ls | inspect | rm | prune
#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/endpoint_json.h"
#include "cli/output.h"

namespace cli {
namespace {

struct CreateArgs {
  cnm::NetworkCreateRequest req;
  std::vector<std::string> opts, labels;
};

cnm::Result<std::map<std::string, std::string>> key_values(const std::vector<std::string>& kvs,
                                                           std::string_view flag) {
  std::map<std::string, std::string> out;
  for (const auto& kv : kvs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return cnm::fail(cnm::Code::kInvalid, "{} '{}': expected KEY=VALUE", flag, kv);
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

cnm::Status create(Context& ctx, CreateArgs& a) {
  auto opts = CNM_VALUE(key_values(a.opts, "--opt"));
  auto labels = CNM_VALUE(key_values(a.labels, "--label"));
  a.req.options = std::move(opts);
  a.req.labels = std::move(labels);
  auto c = CNM_VALUE(ctx.controller());
  auto n = CNM_VALUE(c->create_network(a.req));
  if (ctx.json()) {
    auto j = CNM_VALUE(network_json(*c, n));
    print_json(j);
  } else
    fmt::print("{}\n", n.id);
  return {};
}

cnm::Status list(Context& ctx, bool quiet) {
  auto c = CNM_VALUE(ctx.controller());
  auto nets = CNM_VALUE(c->list_all_networks());
  if (ctx.json()) {
    auto arr = nlohmann::json::array();
    for (const auto& n : nets) {
      auto j = CNM_VALUE(network_json(*c, n));
      arr.push_back(std::move(j));
    }
    print_json(arr);
    return {};
  }
  if (quiet) {
    for (const auto& n : nets) fmt::print("{}\n", n.id.substr(0, 12));
    return {};
  }
  std::vector<std::vector<std::string>> rows{{"NETWORK ID", "NAME", "DRIVER", "SUBNET", "BRIDGE"}};
  for (const auto& n : nets) {
    std::string subnets;
    for (const auto& p : n.pools) subnets += (subnets.empty() ? "" : ",") + p.subnet.str();
    rows.push_back({n.id.substr(0, 12), n.name, n.driver, subnets, n.bridge});
  }
  print_table(rows);
  return {};
}

cnm::Status network_inspect(Context& ctx, const std::vector<std::string>& names) {
  auto c = CNM_VALUE(ctx.controller());
  auto arr = nlohmann::json::array();
  for (const auto& name : names) {
    auto n = CNM_VALUE(c->find_network(name));
    auto j = CNM_VALUE(network_json(*c, n));
    arr.push_back(std::move(j));
  }
  print_json(arr);
  return {};
}

cnm::Status remove(Context& ctx, const std::vector<std::string>& names) {
  auto c = CNM_VALUE(ctx.controller());
  CNM_TRY(c->remove_networks(names));
  for (const auto& n : names) fmt::print("{}\n", n);
  return {};
}

cnm::Status prune(Context& ctx) {
  auto c = CNM_VALUE(ctx.controller());
  auto names = CNM_VALUE(c->prune_networks());
  if (ctx.json()) {
    print_json({{"NetworksDeleted", names}});
    return {};
  }
  if (!names.empty()) fmt::print("Deleted Networks:\n");
  for (const auto& n : names) fmt::print("{}\n", n);
  return {};
}

}  // namespace

void add_network_commands(CLI::App& app, Context& ctx, cnm::Status& status) {
  auto* net = app.add_subcommand("network", "Manage networks");
  net->require_subcommand(1);

  auto a = std::make_shared<CreateArgs>();
  auto* c = net->add_subcommand("create", "Create a network");
  c->add_option("-d,--driver", a->req.driver, "Driver: bridge, overlay, host or null");
  c->add_option("--subnet", a->req.subnets, "Subnet in CIDR form (one IPv4, one IPv6)");
  c->add_option("--gateway", a->req.gateways, "Gateway of a subnet");
  c->add_option("--ip-range", a->req.ip_ranges, "Allocate container addresses from this range");
  c->add_option("--aux-address", a->req.aux, "Reserved address NAME=IP");
  c->add_flag("--ipv6", a->req.ipv6, "Enable IPv6");
  c->add_flag("--internal", a->req.internal, "No access to outside networks");
  c->add_option("--mtu", a->req.mtu, "MTU of the network");
  c->add_option("-o,--opt", a->opts, "Driver option KEY=VALUE");
  c->add_option("--label", a->labels, "Label KEY=VALUE");
  c->add_option("name", a->req.name, "Network name")->required();
  c->callback([&ctx, &status, a] { status = create(ctx, *a); });

  auto quiet = std::make_shared<bool>(false);
  auto* ls = net->add_subcommand("ls", "List networks")->alias("list");
  ls->add_flag("-q,--quiet", *quiet, "Only IDs");
  ls->callback([&ctx, &status, quiet] { status = list(ctx, *quiet); });

  auto names = std::make_shared<std::vector<std::string>>();
  auto* in = net->add_subcommand("inspect", "Show networks as JSON");
  in->add_option("name", *names, "Network names or IDs")->required();
  in->callback([&ctx, &status, names] { status = network_inspect(ctx, *names); });

  auto rm_names = std::make_shared<std::vector<std::string>>();
  auto* rm = net->add_subcommand("rm", "Remove networks (all or none)")->alias("remove");
  rm->add_option("name", *rm_names, "Network names or IDs")->required();
  rm->callback([&ctx, &status, rm_names] { status = remove(ctx, *rm_names); });

  auto* pr = net->add_subcommand("prune", "Remove every network without endpoints");
  auto force = std::make_shared<bool>(false);
  pr->add_flag("-f,--force", *force, "Accepted for Docker compatibility; netctl never prompts");
  // The flag's storage lives as long as the callback (CLI11 writes it while parsing).
  pr->callback([&ctx, &status, force] {
    (void)force;
    status = prune(ctx);
  });
}

}  // namespace cli

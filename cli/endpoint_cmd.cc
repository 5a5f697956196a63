// netctl network connect | disconnect, netctl sandbox create | ls | inspect | rm
#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/endpoint_json.h"
#include "cli/output.h"

namespace cli {
namespace {

cnm::Status connect(Context& ctx, const cnm::ConnectRequest& req) {
  auto c = CNM_VALUE(ctx.controller());
  auto ep = CNM_VALUE(c->connect(req));
  if (ctx.json()) print_json(endpoint_json(*c, ep));
  return {};
}

cnm::Status disconnect(Context& ctx, const std::string& network, const std::string& target) {
  auto c = CNM_VALUE(ctx.controller());
  return c->disconnect(network, target);
}

cnm::Result<nlohmann::json> sandbox_json(cnm::Controller& c, const cnm::Sandbox& sb) {
  nlohmann::json j = sb;
  auto eps = CNM_VALUE(c.endpoints({.name = "sandbox:" + sb.id}));
  j["Endpoints"] = nlohmann::json::array();
  for (const auto& e : eps) j["Endpoints"].push_back(endpoint_json(c, e));
  return j;
}

cnm::Status sandbox_create(Context& ctx, const std::string& name) {
  auto c = CNM_VALUE(ctx.controller());
  auto sb = CNM_VALUE(c->create_sandbox(name));
  if (ctx.json())
    print_json(nlohmann::json(sb));
  else
    fmt::print("{}\n", sb.id);
  return {};
}

cnm::Status sandbox_list(Context& ctx) {
  auto c = CNM_VALUE(ctx.controller());
  auto sbs = CNM_VALUE(c->list_sandboxes());
  auto arr = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows{{"SANDBOX ID", "NAME", "NETNS", "ENDPOINTS"}};
  for (const auto& sb : sbs) {
    auto j = CNM_VALUE(sandbox_json(*c, sb));
    rows.push_back(
        {sb.id.substr(0, 12), sb.name, sb.netns_path, std::to_string(j["Endpoints"].size())});
    arr.push_back(std::move(j));
  }
  if (ctx.json())
    print_json(arr);
  else
    print_table(rows);
  return {};
}

cnm::Status sandbox_inspect(Context& ctx, const std::vector<std::string>& names) {
  auto c = CNM_VALUE(ctx.controller());
  auto arr = nlohmann::json::array();
  for (const auto& name : names) {
    auto sb = CNM_VALUE(c->sandbox(name));
    auto j = CNM_VALUE(sandbox_json(*c, sb));
    arr.push_back(std::move(j));
  }
  print_json(arr);
  return {};
}

}  // namespace

void add_endpoint_commands(CLI::App& app, Context& ctx, cnm::Status& status) {
  auto* net = app.get_subcommand("network");
  auto req = std::make_shared<cnm::ConnectRequest>();
  auto* c = net->add_subcommand("connect", "Connect a sandbox, process or namespace to a network");
  c->add_option("--ip", req->ip, "IPv4 address");
  c->add_option("--ip6", req->ip6, "IPv6 address");
  c->add_option("--mac", req->mac, "MAC address");
  c->add_option("--alias", req->aliases,
                "Network-scoped DNS name, besides the sandbox's or container's name; repeatable");
  c->add_option("--ifname", req->ifname, "Interface name inside (default eth0, eth1, ...)");
  c->add_option("-p,--publish", req->publish,
                "[HOSTIP:][HOSTPORT[-END]:]PORT[-END][/tcp|udp|sctp]");
  c->add_flag("--default-route", req->default_route,
              "Take the default route of each family of the network (as Docker's highest "
              "--gw-priority); refused (exit 4) where the target has one: netctl never replaces "
              "a route. Without it, a family already routed (by netctl or another tool) is left "
              "alone");
  c->add_option("network", req->network, "Network name or ID")->required();
  c->add_option("target", req->target, "Sandbox, pid:N or namespace path")->required();
  c->callback([&ctx, &status, req] { status = connect(ctx, *req); });

  auto args = std::make_shared<std::pair<std::string, std::string>>();
  auto force = std::make_shared<bool>(false);
  auto* d = net->add_subcommand("disconnect", "Disconnect a target from a network");
  d->add_flag("-f,--force", *force, "Accepted for Docker compatibility (disconnect always forces)");
  d->add_option("network", args->first, "Network name or ID")->required();
  d->add_option("target", args->second, "Sandbox, pid:N or namespace path")->required();
  // The flag's storage lives as long as the callback (CLI11 writes it while parsing).
  d->callback([&ctx, &status, args, force] {
    (void)force;
    status = disconnect(ctx, args->first, args->second);
  });

  auto* sb = app.add_subcommand("sandbox", "Manage sandboxes (named network namespaces)");
  sb->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  auto* sc = sb->add_subcommand("create", "Create a sandbox");
  sc->add_option("name", *name, "Sandbox name")->required();
  sc->callback([&ctx, &status, name] { status = sandbox_create(ctx, *name); });
  sb->add_subcommand("ls", "List sandboxes")->alias("list")->callback([&ctx, &status] {
    status = sandbox_list(ctx);
  });
  auto names = std::make_shared<std::vector<std::string>>();
  auto* si = sb->add_subcommand("inspect", "Show sandboxes as JSON");
  si->add_option("name", *names, "Sandbox names or IDs")->required();
  si->callback([&ctx, &status, names] { status = sandbox_inspect(ctx, *names); });
  auto rm_names = std::make_shared<std::vector<std::string>>();
  auto rm_force = std::make_shared<bool>(false);
  auto* sr = sb->add_subcommand("rm", "Remove sandboxes")->alias("remove");
  sr->add_flag("-f,--force", *rm_force, "Disconnect endpoints first");
  sr->add_option("name", *rm_names, "Sandbox names or IDs")->required();
  sr->callback([&ctx, &status, rm_names, rm_force] {
    status = [&]() -> cnm::Status {
      auto c = CNM_VALUE(ctx.controller());
      return c->remove_sandboxes(*rm_names, *rm_force);
    }();
  });
}

}  // namespace cli

#include <span>
#include <string_view>

#include "cli/commands.h"

namespace cli {
namespace {

enum class Group { kAll, kNetwork, kSystem, kContainer };

// The group of the command that `args` (argv) names: its first word that is neither an option nor
// the value of a global option. kAll when there is none (top-level help) or it names nothing known
// (CLI11 then reports it against the whole app, as before).
Group group_of(std::span<char* const> args) {
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--") return Group::kAll;
    if (a.starts_with("-")) {
      if (a == "--root" || a == "--config" || a == "--format") ++i;  // the value is the next word
      continue;
    }
    for (std::string_view w : {"network", "sandbox"})
      if (a == w) return Group::kNetwork;
    for (std::string_view w : {"version", "doctor", "gc", "info"})
      if (a == w) return Group::kSystem;
    for (std::string_view w :
         {"run", "ps", "inspect", "logs", "exec", "stop", "kill", "rm", "container-exited"})
      if (a == w) return Group::kContainer;
    return Group::kAll;
  }
  return Group::kAll;
}

}  // namespace

void build_app(CLI::App& app, Globals& g, Context& ctx, cnm::Status& status,
               std::span<char* const> args) {
  app.require_subcommand(1);
  app.add_option("--root", g.root, "State directory (env NETCTL_ROOT; default /var/lib/netctl)");
  app.add_option("--config", g.config, "Config file (default /etc/netctl/config.yaml)");
  app.add_option("--format", g.format, "Output format")->check(CLI::IsMember({"table", "json"}));
  app.add_flag("--debug", g.debug, "Verbose errors");
  const Group only = args.empty() ? Group::kAll : group_of(args);
  if (only == Group::kAll || only == Group::kNetwork) {
    add_network_commands(app, ctx, status);
    add_endpoint_commands(app, ctx, status);
  }
  if (only == Group::kAll || only == Group::kSystem) add_system_commands(app, ctx, status);
  if (only == Group::kAll || only == Group::kContainer) add_container_commands(app, ctx, status);
}

}  // namespace cli

#include <span>
#include <string_view>

#include "cli/commands.h"

namespace cli {
namespace {

bool global_with_value(std::string_view a) {
  return a == "--root" || a == "--config" || a == "--format";
}

enum class Group { kAll, kNetwork, kSystem, kContainer, kPlugin };

// The group of the command that `args` (argv) names: its first word that is neither an option nor
// the value of a global option. kAll when there is none (top-level help) or it names nothing known
// (every group is then registered and CLI11 reports it against the whole app).
Group group_of(std::span<char* const> args) {
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--") return Group::kAll;
    if (a.starts_with("-")) {
      if (global_with_value(a)) ++i;  // the value is the next word
      continue;
    }
    for (std::string_view w : {"network", "sandbox"})
      if (a == w) return Group::kNetwork;
    for (std::string_view w : {"version", "doctor", "gc", "info"})
      if (a == w) return Group::kSystem;
    for (std::string_view w :
         {"run", "ps", "inspect", "logs", "exec", "stop", "kill", "rm", "container-exited"})
      if (a == w) return Group::kContainer;
    if (a == "plugin") return Group::kPlugin;
    return Group::kAll;
  }
  return Group::kAll;
}

// Whether the option word `a` of `cmd` takes the next word as its value ("-p 80", not "-p80",
// "--publish=80" or a flag).
bool takes_next(const CLI::App& cmd, std::string_view a) {
  if (a.find('=') != std::string_view::npos || (!a.starts_with("--") && a.size() > 2)) return false;
  const CLI::Option* o = cmd.get_option_no_throw(std::string(a));
  return o && o->get_items_expected_min() > 0;
}

const CLI::App* subcommand(const CLI::App& app, std::string_view name) {
  auto subs = app.get_subcommands([&](const CLI::App* s) { return s->get_name() == name; });
  return subs.empty() ? nullptr : subs.front();
}

}  // namespace

void one_value_per_option(CLI::App* cmd) {
  for (CLI::Option* o : cmd->get_options())
    if (!o->get_positional()) o->allow_extra_args(false);
}

std::vector<char*> end_options(const CLI::App& app, std::span<char* const> args) {
  static char marker[] = "--";
  std::vector<char*> out(args.begin(), args.end());
  size_t i = 1;
  while (i < args.size() && std::string_view(args[i]).starts_with("-")) {
    if (std::string_view(args[i]) == "--") return out;
    i += global_with_value(args[i]) ? 2 : 1;
  }
  if (i >= args.size()) return out;
  std::string_view name = args[i];
  const CLI::App* cmd = subcommand(app, name);
  if (!cmd || (name != "run" && name != "exec")) return out;
  int words_before = name == "exec" ? 1 : 0;  // exec's container comes before its command
  for (++i; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--") return out;
    if (a.size() > 1 && a.starts_with("-")) {
      if (takes_next(*cmd, a)) ++i;
    } else if (words_before-- == 0) {
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(i), marker);
      return out;
    }
  }
  return out;
}

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
  if (only == Group::kAll || only == Group::kPlugin) add_plugin_commands(app, ctx, status);
}

}  // namespace cli

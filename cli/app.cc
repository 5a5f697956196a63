#include "cli/commands.h"

namespace cli {

void build_app(CLI::App& app, Globals& g, Context& ctx, cnm::Status& status) {
  app.require_subcommand(1);
  app.add_option("--root", g.root, "State directory (env NETCTL_ROOT; default /var/lib/netctl)");
  app.add_option("--config", g.config, "Config file (default /etc/netctl/config.yaml)");
  app.add_option("--format", g.format, "Output format")->check(CLI::IsMember({"table", "json"}));
  app.add_flag("--debug", g.debug, "Verbose errors");
  add_network_commands(app, ctx, status);
  add_endpoint_commands(app, ctx, status);
  add_system_commands(app, ctx, status);
  add_container_commands(app, ctx, status);
}

}  // namespace cli

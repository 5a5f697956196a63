// netctl: the command line front end (DESIGN section 6).
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/output.h"

int main(int argc, char** argv) {
  CLI::App app{"netctl: container networks on Linux bridges, veth pairs and namespaces"};
  app.require_subcommand(1);
  cli::Globals g;
  app.add_option("--root", g.root, "State directory (env NETCTL_ROOT; default /var/lib/netctl)");
  app.add_option("--config", g.config, "Config file (default /etc/netctl/config.yaml)");
  app.add_option("--format", g.format, "Output format")->check(CLI::IsMember({"table", "json"}));
  app.add_flag("--debug", g.debug, "Verbose errors");

  cli::Context ctx(g);
  cnm::Status status;
  cli::add_network_commands(app, ctx, status);
  cli::add_endpoint_commands(app, ctx, status);
  cli::add_system_commands(app, ctx, status);
  cli::add_container_commands(app, ctx, status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    cli::print_error({cnm::Code::kInvalid, msg}, g.format == "json");
    return cnm::exit_code(cnm::Code::kInvalid);
  }
  if (!status) {
    cli::print_error(status.error(), g.format == "json");
    return cnm::exit_code(status.error().code);
  }
  return ctx.exit_code;
}

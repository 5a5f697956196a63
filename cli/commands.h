// Each command group registers its subcommands on the app. A command's callback stores its outcome
// in `status`; main() turns it into the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace cli {

// The whole netctl command line: global options into `g`, then every command group. main(), the
// CLI fuzz target and the parse tests build it here, so they parse exactly what netctl parses.
void build_app(CLI::App& app, Globals& g, Context& ctx, cnm::Status& status);

void add_network_commands(CLI::App& app, Context& ctx, cnm::Status& status);
// After add_network_commands: adds network connect|disconnect and the sandbox group.
void add_endpoint_commands(CLI::App& app, Context& ctx, cnm::Status& status);
void add_system_commands(CLI::App& app, Context& ctx, cnm::Status& status);
// run, ps, inspect, logs, exec, stop, kill, rm and the supervisor's hidden container-exited.
void add_container_commands(CLI::App& app, Context& ctx, cnm::Status& status);

}  // namespace cli

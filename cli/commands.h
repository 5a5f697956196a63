// Each command group registers its subcommands on the app. A command's callback stores its outcome
// in `status`; main() turns it into the exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <span>

#include "cli/context.h"

namespace cli {

// The netctl command line: global options into `g`, then the command groups. main(), the CLI fuzz
// target and the parse tests build it here, so they parse exactly what netctl parses. With `args`
// (argv), only the group whose command they name (every group when they name none): registering
// every command's options costs more instructions than most commands run (~1.1M of ~3.6M for a
// connect); what is parsed is the same (tests/unit/cli_parse_test.cc).
void build_app(CLI::App& app, Globals& g, Context& ctx, cnm::Status& status,
               std::span<char* const> args = {});

// Every option of `cmd` takes one value per occurrence ("-e A=1 -e B=2"), so a repeated option
// never swallows the words after it: for `run` and `exec`, whose last words are the workload's.
void one_value_per_option(CLI::App* cmd);

// `run` and `exec` take their options up to the first word that is not one (after exec's
// container), as `docker run` does: that word and everything after it are the workload's, even
// words that look like netctl's options. Returns `args` with "--" put before that word (unchanged
// for other commands, or when "--" is already there), for CLI11 to parse.
std::vector<char*> end_options(const CLI::App& app, std::span<char* const> args);

void add_network_commands(CLI::App& app, Context& ctx, cnm::Status& status);
// After add_network_commands: adds network connect|disconnect and the sandbox group.
void add_endpoint_commands(CLI::App& app, Context& ctx, cnm::Status& status);
void add_system_commands(CLI::App& app, Context& ctx, cnm::Status& status);
// run, ps, inspect, logs, exec, stop, kill, rm and the supervisor's hidden container-exited.
void add_container_commands(CLI::App& app, Context& ctx, cnm::Status& status);
// plugin serve: execs netctl-docker (plugins/docker).
void add_plugin_commands(CLI::App& app, Context& ctx, cnm::Status& status);

}  // namespace cli

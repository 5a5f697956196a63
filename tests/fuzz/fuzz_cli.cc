// libFuzzer target: netctl's command line as CLI11 parses it (every subcommand and option the CLI
// registers), with the command callbacks removed so nothing runs. Input: arguments separated by
// newlines. Parsing either succeeds or throws CLI::ParseError (exit 2 in netctl); anything else —
// another exception, a crash, a sanitizer report — is a bug.
#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

void silence(CLI::App* app) {
  app->callback(std::function<void()>());
  for (auto* sub : app->get_subcommands({})) silence(sub);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args{"netctl"};
  std::string cur;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      args.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(char(data[i]));
    }
  }
  if (!cur.empty()) args.push_back(std::move(cur));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());

  // The same global options as cli/main.cc.
  CLI::App app{"netctl"};
  app.require_subcommand(1);
  cli::Globals g;
  app.add_option("--root", g.root, "");
  app.add_option("--config", g.config, "");
  app.add_option("--format", g.format, "")->check(CLI::IsMember({"table", "json"}));
  app.add_flag("--debug", g.debug, "");
  cli::Context ctx(g);
  cnm::Status status;
  cli::add_network_commands(app, ctx, status);
  cli::add_endpoint_commands(app, ctx, status);
  cli::add_system_commands(app, ctx, status);
  silence(&app);
  try {
    app.parse(int(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
  }
  return 0;
}

// libFuzzer target: netctl's command line as CLI11 parses it (the command group the input names,
// as main() registers it), stopped before any command runs. Input: arguments separated by
// newlines. Parsing either succeeds or throws CLI::ParseError (exit 2 in netctl); anything else —
// another exception, a crash, a sanitizer report, a command running — is a bug.
#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

// Thrown by the root app's parse-complete callback: CLI11 runs it after parsing and validation and
// before any subcommand's callback, so no command executes. (Replacing the command callbacks
// instead would free the option storage they own while CLI11 still writes into it.)
struct Parsed {};

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

  CLI::App app{"netctl"};
  cli::Globals g;
  cli::Context ctx(g);
  cnm::Status status;
  cli::build_app(app, g, ctx, status, argv);  // exactly netctl's command line, as main() builds it
  app.parse_complete_callback([] { throw Parsed{}; });
  try {
    app.parse(int(argv.size()), argv.data());
  } catch (const Parsed&) {
  } catch (const CLI::ParseError&) {
  }
  if (!status) std::abort();  // a command ran: the harness is broken
  return 0;
}

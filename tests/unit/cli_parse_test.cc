// Regression tests for inputs tests/fuzz/fuzz_cli found: the real CLI11 app (every command
// registered), parsed and stopped before any command runs. Under ASan+UBSan (scripts/test.sh runs
// netctl_unit in build-asan) a flag writing into freed storage fails here.
#include <doctest/doctest.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

struct Parsed {};

// Parses `args` like netctl would; true if parsing succeeded.
bool parses(std::vector<std::string> args) {
  args.insert(args.begin(), "netctl");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  CLI::App app{"netctl"};
  cli::Globals g;
  cli::Context ctx(g);
  cnm::Status status;
  cli::build_app(app, g, ctx, status);
  app.parse_complete_callback([] { throw Parsed{}; });  // before any command's callback
  try {
    app.parse(int(argv.size()), argv.data());
  } catch (const Parsed&) {
    return true;
  } catch (const CLI::ParseError&) {
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("flags without a value of their own keep their storage alive (fuzz_cli finds)") {
  // Both flags were bound to a shared_ptr that only the registration function held: CLI11 wrote
  // the flag into freed memory (heap-use-after-free under ASan).
  CHECK(parses({"network", "disconnect", "--force", "n1", "s1"}));
  CHECK(parses({"network", "prune", "-f"}));
  CHECK(parses({"sandbox", "rm", "--force", "s1"}));
  CHECK_FALSE(parses({"network", "disconnect", "--force=maybe", "n1", "s1"}));
}

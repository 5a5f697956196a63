// Regression tests for inputs tests/fuzz/fuzz_cli found: the real CLI11 app (every command
// registered), parsed and stopped before any command runs. Under ASan+UBSan (scripts/test.sh runs
// netctl_unit in build-asan) a flag writing into freed storage fails here.
#include <doctest/doctest.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

struct Parsed {};

// netctl's command line for `args` (without the program name), built as main() builds it (only
// the command group they name), or with every group when `all`.
struct Cli {
  std::vector<std::string> args;
  std::vector<char*> argv;
  cli::Globals g;
  cli::Context ctx{g};
  cnm::Status status;
  CLI::App app{"netctl"};
  Cli(std::vector<std::string> words, bool all) : args(std::move(words)) {
    args.insert(args.begin(), "netctl");
    for (auto& a : args) argv.push_back(a.data());
    if (all)
      cli::build_app(app, g, ctx, status);
    else
      cli::build_app(app, g, ctx, status, argv);
  }
};

// Parses `args` like netctl would (every group with `all`): "ok <the chosen subcommands>", or
// "error <CLI11's message>".
std::string outcome(std::vector<std::string> args, bool all = false) {
  Cli c(std::move(args), all);
  CLI::App& app = c.app;
  auto& argv = c.argv;
  std::string chosen = "ok";
  app.parse_complete_callback([&] {  // before any command's callback
    for (const CLI::App* a = &app; !a->get_subcommands().empty();) {
      a = a->get_subcommands().front();
      chosen += " " + a->get_name();
    }
    throw Parsed{};
  });
  try {
    app.parse(int(argv.size()), argv.data());
  } catch (const Parsed&) {
    return chosen;
  } catch (const CLI::ParseError& e) {
    return std::string("error ") + e.what();
  }
  return chosen;
}

bool parses(std::vector<std::string> args) { return outcome(std::move(args)).starts_with("ok"); }

// A fuzz corpus entry: arguments separated by newlines (tests/fuzz/fuzz_cli.cc).
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == '\n') {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
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

TEST_CASE("registering only the named command group parses exactly what the whole app parses") {
  std::vector<std::vector<std::string>> lines = {
      {"network", "connect", "-p", "8080:80", "--ip", "10.88.0.9", "n1", "s1"},
      {"--root", "/tmp/x", "network", "ls", "--format", "json"},
      {"--root", "run", "network", "ls"},  // a global option's value that names a group
      {"--format=json", "sandbox", "create", "s1"},
      {"run", "-d", "--rm", "-p", "80", "--", "httpd", "-f"},
      {"ps", "-a"},
      {"rm", "-f", "c1"},
      {"version"},
      {"doctor", "--bogus"},
      {"network", "bogus"},
      {"bogus"},
      {"--debug"},
      {},
      {"network", "create", "--subnet", "10.88.0.0/24", "--subnet"},
      {"container-exited", "--help"},
  };
  for (const auto& entry :
       std::filesystem::directory_iterator(NETCTL_SOURCE_DIR "/tests/fuzz/corpus/cli")) {
    std::ifstream in(entry.path(), std::ios::binary);
    lines.push_back(split_lines(std::string(std::istreambuf_iterator<char>(in), {})));
  }
  for (const auto& args : lines) {
    std::string all = outcome(args, true);
    CHECK_MESSAGE(outcome(args) == all, all);
  }
  CHECK(outcome({"network", "connect", "n1", "s1"}) == "ok network connect");
  CHECK(outcome({"--root", "run", "version"}) == "ok version");
}

TEST_CASE("every top-level command is found in its group (the names in cli/app.cc stay complete)") {
  auto commands = [](std::vector<std::string> args, bool all) {
    Cli c(std::move(args), all);
    std::vector<std::string> names;
    for (const CLI::App* sub : c.app.get_subcommands([](CLI::App*) { return true; }))
      names.push_back(sub->get_name());
    return names;
  };
  const auto all = commands({}, true);
  REQUIRE(all.size() > 10);
  for (const auto& name : all) {
    auto group = commands({name}, false);
    CHECK_MESSAGE(std::find(group.begin(), group.end(), name) != group.end(), name);
    const std::string why = name + ": registers every group";
    CHECK_MESSAGE(group.size() < all.size(), why);
  }
}

// `run` and `exec` options end at the first word that is not one: the rest is the workload's.
TEST_CASE("run and exec: the workload's arguments are never netctl's") {
  auto command_of = [](std::vector<std::string> words) {
    Cli c(std::move(words), false);
    auto args = cli::end_options(c.app, c.argv);
    std::vector<std::string> got;
    c.app.parse_complete_callback([&] {
      const CLI::App* sub = c.app.get_subcommands().front();
      got = sub->get_option("command")->as<std::vector<std::string>>();
      throw Parsed{};
    });
    try {
      c.app.parse(int(args.size()), args.data());
    } catch (const Parsed&) {
    }
    return got;
  };
  using V = std::vector<std::string>;
  CHECK(command_of({"run", "-p", "8080:80", "--", "httpd", "-f", "-p", "80", "-h", "/www"}) ==
        V{"httpd", "-f", "-p", "80", "-h", "/www"});
  CHECK(command_of({"run", "-p", "8080:80", "httpd", "-f", "-p", "80"}) ==
        V{"httpd", "-f", "-p", "80"});
  CHECK(command_of({"--root", "/r", "run", "-e", "A=b", "-d", "sh", "-c", "x"}) ==
        V{"sh", "-c", "x"});
  CHECK(command_of({"run", "--network=n1", "--rm", "sh", "--help"}) == V{"sh", "--help"});
  CHECK(command_of({"exec", "-e", "A=b", "c1", "ls", "-e", "-l"}) == V{"ls", "-e", "-l"});
  CHECK(command_of({"exec", "-u", "1:1", "c1", "--", "ls", "-u"}) == V{"ls", "-u"});
}

// DNS names (issue 24): each flag takes one value per occurrence and is repeatable, so the words
// after it stay the command's (network and target of connect, the workload of run).
TEST_CASE("run --network-alias and network connect --alias are repeatable, one value each") {
  auto values = [](std::vector<std::string> words, const std::string& opt) {
    Cli c(std::move(words), false);
    auto args = cli::end_options(c.app, c.argv);
    std::vector<std::string> got;
    std::string missing;
    c.app.parse_complete_callback([&] {
      const CLI::App* a = &c.app;
      while (!a->get_subcommands().empty()) a = a->get_subcommands().front();
      got = a->get_option(opt)->as<std::vector<std::string>>();
      throw Parsed{};
    });
    try {
      c.app.parse(int(args.size()), args.data());
    } catch (const Parsed&) {
    } catch (const CLI::ParseError& e) {
      got = {std::string("error ") + e.what()};
    }
    return got;
  };
  using V = std::vector<std::string>;
  CHECK(values({"run", "--network", "n1", "--network-alias", "web", "--network-alias", "api", "sh"},
               "--network-alias") == V{"web", "api"});
  CHECK(values({"run", "--network-alias", "web", "sh", "--network-alias", "x"},
               "--network-alias") == V{"web"});
  CHECK(values({"network", "connect", "--alias", "web", "--alias", "api", "n1", "s1"}, "--alias") ==
        V{"web", "api"});
  CHECK(values({"network", "connect", "--alias", "web", "n1", "s1"}, "target") == V{"s1"});
  CHECK(values({"network", "connect", "--alias=web", "n1", "s1"}, "network") == V{"n1"});
}

// netctl: the command line front end (docs/architecture.md section 3).
#include <malloc.h>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/output.h"

int main(int argc, char** argv) {
  // One malloc arena: the short-lived thread that opens sockets inside a namespace would otherwise
  // get an arena of its own (a 64 MiB reservation, page faults, and the unmapping at exit).
  mallopt(M_ARENA_MAX, 1);
  CLI::App app{"netctl: container networks on Linux bridges, veth pairs and namespaces"};
  cli::Globals g;
  cli::Context ctx(g);
  cnm::Status status;
  cli::build_app(app, g, ctx, status, std::span<char* const>(argv, static_cast<size_t>(argc)));
  auto args = cli::end_options(app, std::span<char* const>(argv, static_cast<size_t>(argc)));
  try {
    app.parse(static_cast<int>(args.size()), args.data());
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
    return ctx.end(cnm::exit_code(status.error().code));
  }
  return ctx.end(ctx.exit_code);
}

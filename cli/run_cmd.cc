// netctl run
#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/output.h"

namespace cli {

void add_run_command(CLI::App& app, Context& ctx, cnm::Status& status) {
  auto req = std::make_shared<cnm::RunRequest>();
  auto* r = app.add_subcommand("run", "Run a command in a new container");
  r->add_option("--name", req->name, "Container name");
  r->add_option("--network,--net", req->networks,
                "Network to join, repeatable (default netctl0). The first with a family that is "
                "not internal gives that family's default route: the order is Docker's "
                "--gw-priority (a new container has no other route, so run needs no "
                "--default-route)");
  r->add_option("--network-alias", req->network_aliases,
                "DNS name of the container on each network it joins, besides its --name; "
                "repeatable");
  r->add_option("--ip", req->ip, "IPv4 address on the first network");
  r->add_option("-p,--publish", req->publish, "Publish a port: [HOSTIP:][HOSTPORT:]PORT[/proto]");
  r->add_option("--hostname", req->hostname, "Host name (default: the short id)");
  r->add_option("--rootfs", req->rootfs, "Read-only lower layer of the root filesystem");
  r->add_option("--memory,-m", req->memory, "Memory limit (b, k, m, g)");
  r->add_option("--cpus", req->cpus, "CPUs (CFS quota)");
  r->add_option("--pids-limit", req->pids_limit, "Task limit");
  r->add_option("--env,-e", req->env, "Environment variable K=V");
  r->add_option("--workdir,-w", req->workdir, "Working directory inside");
  r->add_option("--user,-u", req->user, "UID[:GID]");
  r->add_option("--cap-add", req->cap_add, "Add a capability (NAME or ALL)");
  r->add_option("--cap-drop", req->cap_drop, "Drop a capability (NAME or ALL)");
  r->add_option("--security-opt", req->security_opt, "seccomp=unconfined | seccomp=PROFILE.json");
  r->add_flag("-d,--detach", req->detach, "Run in the background; print the id");
  r->add_flag("--rm", req->auto_remove, "Remove the container when it exits");
  r->add_option("--log-opt", req->log_opt,
                "With -d: max-size=SIZE (default 10m), max-file=N (default 2) of the log");
  r->add_option("command", req->cmd, "-- CMD [ARG...]");
  one_value_per_option(r);
  r->callback([&ctx, &status, req] {
    status = [&]() -> cnm::Status {
      auto c = CNM_VALUE(ctx.controller());
      bool json = ctx.json();
      auto code = CNM_VALUE(c->run(*req, [&](const cnm::Container& k) {
        if (!k.detach) return;
        if (json)
          print_json({{"Id", k.id}, {"Name", k.name}});
        else
          fmt::print("{}\n", k.id);
        std::fflush(stdout);
      }));
      ctx.exit_code = code;
      return {};
    }();
  });
}

}  // namespace cli

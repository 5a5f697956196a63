// netctl ps | inspect | logs | exec | stop | kill | rm, and the supervisor's container-exited.
#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <thread>

#include "cli/commands.h"
#include "cli/output.h"
#include "cnm/launcher/logs.h"

namespace cli {

void add_run_command(CLI::App& app, Context& ctx, cnm::Status& status);

namespace {

using Names = std::vector<std::string>;

// Docker's json-file driver options for a detached container; a foreground one has no log.
nlohmann::json log_config(const cnm::Container& k) {
  if (!k.detach) return {{"Type", "none"}, {"Config", nlohmann::json::object()}};
  auto l = cnm::launcher::log_limits(k.log_max_size, k.log_max_file);
  return {{"Type", "json-file"},
          {"Config",
           {{"max-size", cnm::launcher::size_text(l.max_size)},
            {"max-file", std::to_string(l.max_file)}}}};
}

// One network of a container as Docker's inspect shows it (NetworkSettings.Networks). DNSNames:
// the names netctl-dns answers for the endpoint (each also as NAME.NETWORK); none without DNS.
nlohmann::json network_settings(const cnm::Network* n, const cnm::Endpoint& e) {
  Names dns_names;
  if (n && cnm::dns_enabled(*n)) {
    if (!e.dns_name.empty()) dns_names.push_back(e.dns_name);
    dns_names.insert(dns_names.end(), e.aliases.begin(), e.aliases.end());
  }
  return {{"NetworkID", e.network_id},
          {"EndpointID", e.id},
          {"MacAddress", e.mac},
          {"IPAddress", e.addresses.empty() ? "" : e.addresses[0].addr().str()},
          {"IPPrefixLen", e.addresses.empty() ? 0 : e.addresses[0].len()},
          {"Aliases", e.aliases},
          {"DNSNames", dns_names}};
}

nlohmann::json container_json(cnm::Controller& c, const cnm::Container& k) {
  nlohmann::json nets = nlohmann::json::object();
  nlohmann::json ports = nlohmann::json::array();
  if (auto eps = c.endpoints({.name = "container:" + k.id}))
    for (const auto& e : *eps) {
      auto n = c.network(e.network_id);
      nets[n ? n->name : e.network_id] = network_settings(n ? &*n : nullptr, e);
      for (const auto& p : e.ports) ports.push_back(cnm::port_spec_str(p));
    }
  bool running = k.status == cnm::ContainerStatus::kRunning;
  return {{"Id", k.id},
          {"Name", k.name},
          {"Created", k.created},
          {"Path", k.cmd.empty() ? "" : k.cmd[0]},
          {"Args", k.cmd.size() > 1 ? Names(k.cmd.begin() + 1, k.cmd.end()) : Names{}},
          {"State",
           {{"Status", cnm::container_status_name(k.status)},
            {"Running", running},
            {"Pid", running ? k.pid : 0},
            {"ExitCode", k.exit_code},
            {"OOMKilled", k.oom_killed},
            {"StartedAt", k.started},
            {"FinishedAt", k.finished},
            {"SupervisorPid", running ? k.supervisor : 0}}},
          {"Config",
           {{"Hostname", k.hostname},
            {"Env", k.env},
            {"Cmd", k.cmd},
            {"WorkingDir", k.workdir},
            {"User", k.user},
            {"Rootfs", k.rootfs}}},
          {"HostConfig",
           {{"Memory", k.memory},
            {"NanoCpus", static_cast<int64_t>(k.cpus * 1e9)},
            {"PidsLimit", k.pids_limit},
            {"AutoRemove", k.auto_remove},
            {"CgroupParent", k.cgroup_parent},
            {"CgroupVersion", k.cgroup_version},
            {"LogConfig", log_config(k)}}},
          {"NetworkSettings", {{"Networks", nets}, {"Ports", ports}}},
          {"LogPath", k.detach ? k.dir + "/log" : ""},
          {"Dir", k.dir}};
}

// The STATUS column of `ps`.
std::string ps_status(const cnm::Container& k) {
  switch (k.status) {
    case cnm::ContainerStatus::kExited:
      return fmt::format("Exited ({}){}", k.exit_code, k.oom_killed ? " OOMKilled" : "");
    case cnm::ContainerStatus::kRunning:
      return "Up";
    case cnm::ContainerStatus::kCreated:
      break;
  }
  return "Created";
}

cnm::Status ps(Context& ctx, bool all) {
  auto c = CNM_VALUE(ctx.controller());
  auto cs = CNM_VALUE(c->list_containers());
  auto arr = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows{
      {"CONTAINER ID", "NAME", "COMMAND", "STATUS", "PORTS", "NETWORKS"}};
  for (const auto& k : cs) {
    if (!all && k.status != cnm::ContainerStatus::kRunning) continue;
    auto j = container_json(*c, k);
    std::string cmd, nets, ports;
    for (const auto& a : k.cmd) cmd += (cmd.empty() ? "" : " ") + a;
    for (const auto& [n, _] : j["NetworkSettings"]["Networks"].items())
      nets += (nets.empty() ? "" : ",") + n;
    for (const auto& p : j["NetworkSettings"]["Ports"])
      ports += (ports.empty() ? "" : ",") + p.get<std::string>();
    std::string st = ps_status(k);
    rows.push_back({k.id.substr(0, 12), k.name, cmd.substr(0, 30), st, ports, nets});
    arr.push_back(std::move(j));
  }
  if (ctx.json())
    print_json(arr);
  else
    print_table(rows);
  return {};
}

cnm::Status inspect(Context& ctx, const Names& names) {
  auto c = CNM_VALUE(ctx.controller());
  auto arr = nlohmann::json::array();
  for (const auto& n : names) {
    auto k = CNM_VALUE(c->container(n));
    arr.push_back(container_json(*c, k));
  }
  print_json(arr);
  return {};
}

cnm::Status logs(Context& ctx, const std::string& name, bool follow) {
  auto c = CNM_VALUE(ctx.controller());
  auto k = CNM_VALUE(c->container(name));
  if (!k.detach)
    return cnm::fail(cnm::Code::kInvalid, "container {} ran in the foreground: no log", k.name);
  cnm::launcher::LogReader log(k.dir, cnm::launcher::log_limits(0, k.log_max_file).max_file);
  log.copy_new(1);
  while (follow) {
    auto now = c->container(k.id);
    bool done = !now || now->status == cnm::ContainerStatus::kExited;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log.copy_new(1);
    if (done) break;
  }
  return {};
}

cnm::Result<int> parse_signal(const std::string& s) {
  static const std::pair<const char*, int> kNames[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},    {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2},  {"TERM", SIGTERM}, {"CONT", SIGCONT},
      {"STOP", SIGSTOP}, {"WINCH", SIGWINCH}};
  std::string_view v = s;
  if (v.starts_with("SIG")) v.remove_prefix(3);
  for (auto [n, sig] : kNames)
    if (v == n) return sig;
  int n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc{} && p == v.data() + v.size() && n > 0 && n < NSIG) return n;
  return cnm::fail(cnm::Code::kInvalid, "invalid signal '{}'", s);
}

// Runs `f(controller)` as the command's outcome.
template <class F>
auto with(Context& ctx, cnm::Status& status, F f) {
  return [&ctx, &status, f] {
    status = [&]() -> cnm::Status {
      auto c = CNM_VALUE(ctx.controller());
      return f(*c);
    }();
  };
}

}  // namespace

void add_container_commands(CLI::App& app, Context& ctx, cnm::Status& status) {
  add_run_command(app, ctx, status);
  auto all = std::make_shared<bool>(false);
  auto* p = app.add_subcommand("ps", "List containers");
  p->add_flag("-a,--all", *all, "Show exited containers too");
  p->callback([&ctx, &status, all] { status = ps(ctx, *all); });

  auto names = std::make_shared<Names>();
  auto* i = app.add_subcommand("inspect", "Show containers as JSON");
  i->add_option("container", *names, "Container names or IDs")->required();
  i->callback([&ctx, &status, names] { status = inspect(ctx, *names); });

  auto one = std::make_shared<std::string>();
  auto follow = std::make_shared<bool>(false);
  auto* l = app.add_subcommand("logs", "Print a detached container's output");
  l->add_flag("-f,--follow", *follow, "Follow until the container exits");
  l->add_option("container", *one, "Container")->required();
  l->callback([&ctx, &status, one, follow] { status = logs(ctx, *one, *follow); });

  auto ex = std::make_shared<cnm::ExecRequest>();
  auto* e = app.add_subcommand("exec", "Run a command in a running container");
  e->add_option("--user,-u", ex->user, "UID[:GID] (default: the container's)");
  e->add_option("--workdir,-w", ex->workdir, "Working directory (default: the container's)");
  e->add_option("--env,-e", ex->env, "Environment variable K=V");
  e->add_option("container", ex->container, "Container")->required();
  e->add_option("command", ex->cmd, "-- CMD [ARG...]")->required();
  one_value_per_option(e);
  e->callback(with(ctx, status, [&ctx, ex](cnm::Controller& c) -> cnm::Status {
    auto code = CNM_VALUE(c.exec_container(*ex));
    ctx.exit_code = code;
    return {};
  }));

  auto timeout = std::make_shared<int>(10);
  auto* s = app.add_subcommand("stop", "Stop containers: TERM, then KILL after the timeout");
  s->add_option("-t,--time", *timeout, "Seconds before KILL")->check(CLI::Range(0, 3600));
  s->add_option("container", *names, "Containers")->required();
  s->callback(with(ctx, status, [names, timeout](cnm::Controller& c) -> cnm::Status {
    for (const auto& n : *names) CNM_TRY(c.stop_container(n, *timeout));
    return {};
  }));

  auto sig = std::make_shared<std::string>("KILL");
  auto* k = app.add_subcommand("kill", "Send a signal to containers");
  k->add_option("-s,--signal", *sig, "Signal name or number (default KILL)");
  k->add_option("container", *names, "Containers")->required();
  k->callback(with(ctx, status, [names, sig](cnm::Controller& c) -> cnm::Status {
    auto n = CNM_VALUE(parse_signal(*sig));
    for (const auto& name : *names) CNM_TRY(c.kill_container(name, n));
    return {};
  }));

  auto force = std::make_shared<bool>(false);
  auto* r = app.add_subcommand("rm", "Remove containers");
  r->add_flag("-f,--force", *force, "Kill running containers first");
  r->add_option("container", *names, "Containers")->required();
  r->callback(with(ctx, status, [names, force](cnm::Controller& c) {
    return c.remove_containers(*names, *force);
  }));

  auto* x = app.add_subcommand("container-exited", "The supervisor's report (internal)");
  x->group("");
  x->add_option("id", *one, "Container id")->required();
  x->callback(with(ctx, status, [one](cnm::Controller& c) { return c.container_exited(*one); }));
}

}  // namespace cli

// ContainerService::run: validate, create the container (record, directory, cgroups), clone the
// workload held on a pipe, attach its endpoints, write /etc files, release it (docs/architecture.md
// sections 3, 5).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cnm/containers/container_service.h"
#include "cnm/containers/util.h"
#include "cnm/launcher/cgroup.h"
#include "cnm/launcher/dmz.h"
#include "cnm/launcher/logs.h"
#include "cnm/launcher/proc.h"
#include "cnm/launcher/spawn.h"

namespace cnm {
namespace {

namespace fs = std::filesystem;
volatile sig_atomic_t g_workload = 0;

// The descriptors of a detached workload's output (a pipe the supervisor copies into the log) and
// its /dev/null stdin, closed here once it is cloned.
struct Fds {
  int log = -1, null = -1, out_r = -1, out_w = -1;
  void close_all() {
    for (int* fd : {&log, &null, &out_r, &out_w})
      if (*fd >= 0) close(std::exchange(*fd, -1));
  }
  ~Fds() { close_all(); }
};

void forward(int sig) {
  if (g_workload > 0) kill(g_workload, sig);
}

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

// Signals that arrive while the container is set up wait (blocked) and are forwarded once it runs.
struct BlockForwarded {
  sigset_t old;
  BlockForwarded() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kForwarded) sigaddset(&set, s);
    sigprocmask(SIG_BLOCK, &set, &old);
  }
  ~BlockForwarded() { sigprocmask(SIG_SETMASK, &old, nullptr); }
};

// Foreground: the workload gets the signals netctl gets; returns its wait status.
int wait_forwarding(pid_t pid) {
  g_workload = pid;
  struct sigaction sa = {};
  sa.sa_handler = forward;
  for (int s : kForwarded) sigaction(s, &sa, nullptr);
  sigset_t set;
  sigemptyset(&set);
  for (int s : kForwarded) sigaddset(&set, s);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_workload = 0;
  return status;
}

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.close();
  if (!f) return fail(Code::kFailed, "write {}: failed", path);
  return {};
}

Result<launcher::SpawnSpec> spawn_spec(const Container& c, const std::string& cache_dir) {
  auto s = CNM_VALUE(process_spec(c, cache_dir));
  s.hostname = c.hostname;
  s.dir = c.dir;
  s.rootfs = c.rootfs;
  if (c.rootfs.empty()) s.host_ro = host_dirs(c.dir);
  return s;
}

}  // namespace

Result<std::vector<Network>> ContainerService::run_networks(std::vector<std::string> names) {
  if (names.empty()) {
    names.push_back(kDefaultNetwork);
    if (auto n = network(kDefaultNetwork); !n && n.error().code == Code::kNotFound) {
      NetworkCreateRequest def;
      def.name = kDefaultNetwork;
      auto made =
          networks_.create_network(def);  // a concurrent run may have made it: kConflict is fine
      if (!made && made.error().code != Code::kConflict) return std::unexpected(made.error());
    }
  }
  std::vector<Network> nets;
  for (const auto& name : names) {
    auto n = CNM_VALUE(networks_.find_network(name));  // a cluster's network too (overlay)
    nets.push_back(std::move(n));
  }
  return nets;
}

Result<int> ContainerService::run(const RunRequest& req,
                                  const std::function<void(const Container&)>& started) {
  CNM_TRY(validate_run(req));
  RunRequest r = req;
  auto nets = CNM_VALUE(run_networks(req.networks));
  r.networks.clear();
  // By id; a cluster's network by name (this root may have no record of it until it attaches).
  for (const auto& n : nets)
    r.networks.push_back(registry_.ask(n.driver, &Driver::global_scope) ? n.name : n.id);
  BlockForwarded blocked;
  auto c = CNM_VALUE(create_container(r));
  auto spec = CNM_VALUE(spawn_spec(c, store_.root() + "/seccomp"));
  // -d: the workload writes into a pipe; the supervisor copies it into the log.
  Fds fds;
  if (c.detach) {
    fds.log = open((c.dir + "/log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    fds.null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out[2];
    if (fds.log < 0 || fds.null < 0 || pipe2(out, O_CLOEXEC) != 0)
      return abort_run(
          c, 0, 0,
          fail(Code::kFailed, "run -d: log of {}: {}", c.id, std::strerror(errno)).error());
    fds.out_r = out[0];
    fds.out_w = out[1];
    spec.stdin_fd = fds.null;
    spec.stdout_fd = spec.stderr_fd = fds.out_w;
  }
  auto pipes = launcher::Pipes::make();
  if (!pipes) return abort_run(c, 0, 0, pipes.error());
  auto dmz = launcher::sealed_dmz();
  if (!dmz) return abort_run(c, 0, 0, dmz.error());
  spec.dmz_fd = dmz->get();
  spec.report_fd = pipes->err_w;
  launcher::Plan plan(spec);
  pid_t sup = 0, pid = 0;
  if (auto s = start_workload(c, plan, *pipes, {fds.out_r, fds.log}, sup, pid); !s)
    return abort_run(c, 0, 0, s.error());
  fds.close_all();
  if (auto s = attach_workload(c, sup, pid, r, nets); !s) {
    pipes->close_all();
    return abort_run(c, sup, pid, s.error());
  }
  if (auto s = launcher::release(plan, *pipes); !s) return abort_run(c, sup, pid, s.error());
  if (started) started(c);
  if (c.detach) return 0;
  int status = wait_forwarding(pid);
  auto lock = CNM_VALUE(store_.lock());
  auto now = container(c.id);
  if (now && now->status != ContainerStatus::kExited)
    CNM_TRY(finish_container(lock, *now, status, true));
  return launcher::exit_code_of(status);
}

Status ContainerService::start_workload(const Container& c, const launcher::Plan& plan,
                                        launcher::Pipes& pipes, std::pair<int, int> log_fds,
                                        int& sup, int& pid) {
  if (!c.detach) {
    pid = launcher::clone_workload(plan, pipes);
    if (pid < 0) return fail(Code::kFailed, "start container: clone: {}", std::strerror(-pid));
    return {};
  }
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  // Checked before forking: a supervisor that cannot exec would leave the workload unwatched.
  auto shim = self.parent_path() / "netctl-shim";
  if (access(shim.c_str(), X_OK) != 0)
    return fail(Code::kFailed, "run -d: supervisor {}: {}", shim.string(), std::strerror(errno));
  auto logs = launcher::log_limits(c.log_max_size, c.log_max_file);
  auto d = launcher::spawn_detached(
      plan, pipes,
      {(self.parent_path() / "netctl-shim").string(), "--log", c.dir + "/log",
       std::to_string(logs.max_size), std::to_string(logs.max_file), c.dir + "/exit", self.string(),
       "--root", store_.root(), "container-exited", c.id},
      log_fds.first, log_fds.second);  // ours: closed by the caller
  if (!d) return std::unexpected(d.error());
  sup = d->supervisor;
  pid = d->workload;
  return {};
}

Status ContainerService::attach_workload(Container& c, pid_t sup, pid_t pid, const RunRequest& r,
                                         const std::vector<Network>& nets) {
  CNM_TRY(cgroups_for(c)->add(c.id, pid));
  c.pid = pid;
  c.pid_start = launcher::start_time(pid);
  if (sup > 0) {
    c.supervisor = sup;
    c.supervisor_start = launcher::start_time(sup);
  }
  c.status = ContainerStatus::kRunning;
  c.started = now_rfc3339();
  CNM_TRY(put_container(c));
  std::vector<std::string> ips;
  std::string nameserver;            // the IPv4 gateway of its first DNS network
  std::vector<IpAddr> dns_gateways;  // of every DNS network it joins
  for (size_t i = 0; i < r.networks.size(); ++i) {
    ConnectRequest cr;
    cr.network = r.networks[i];
    cr.target = c.id;
    cr.aliases = r.network_aliases;
    if (i == 0) {
      cr.ip = r.ip;
      cr.publish = r.publish;
    }
    auto ep = CNM_VALUE(endpoints_.connect(cr, false));
    for (const auto& a : ep.addresses)
      if (!a.is_v6()) ips.push_back(a.addr().str());
    if (auto gw = nets[i].gateways(false); dns_enabled(nets[i]) && !gw.empty()) {
      if (nameserver.empty()) nameserver = gw.front().str();
      dns_gateways.push_back(gw.front());
    }
  }
  // Once, for every network it joined. resolv.conf names the server even when it failed to start:
  // the next command or gc starts it (doctor reports it meanwhile).
  if (!nameserver.empty()) ensure_dns(dns_gateways);
  // Addresses live in the endpoint records (inspect and ps read them there): no store write here.
  if (!ips.empty()) c.ip = ips.front();
  std::ifstream host_resolv("/etc/resolv.conf");
  std::string resolv((std::istreambuf_iterator<char>(host_resolv)), {});
  CNM_TRY(write_text(c.dir + "/hosts", launcher::hosts_file(c.hostname, ips)));
  CNM_TRY(write_text(c.dir + "/resolv.conf", launcher::resolv_file(resolv, nameserver)));
  return write_text(c.dir + "/hostname", c.hostname + "\n");
}

Result<int> ContainerService::abort_run(const Container& c, pid_t sup, pid_t pid, Error e) {
  // The supervisor goes first so it does not tear down concurrently with us.
  if (sup > 0) {
    kill(sup, SIGKILL);
    waitpid(sup, nullptr, 0);
  }
  if (pid > 0) {
    kill(pid, SIGKILL);
    if (sup <= 0) waitpid(pid, nullptr, 0);
  }
  auto lock = CNM_VALUE(store_.lock());
  Container gone = c;
  gone.auto_remove = true;
  if (auto s = finish_container(lock, gone, SIGKILL, true); !s)
    e.message += fmt::format(" (cleanup: {})", s.error().message);
  return std::unexpected(std::move(e));
}

}  // namespace cnm

// Controlling containers: the supervisor's exit report, stop, kill, rm and exec.
#include <signal.h>

#include "cnm/containers/container_service.h"
#include "cnm/containers/util.h"
#include "cnm/core/txn.h"
#include "cnm/launcher/proc.h"

namespace cnm {

Status ContainerService::container_exited(const std::string& id) {
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  auto c = CNM_VALUE(container(id));
  if (c.status == ContainerStatus::kExited) return {};
  int status = read_exit(c.dir);
  return finish_container(lock, c, status < 0 ? SIGKILL : status, status >= 0);
}

Status ContainerService::stop_container(const std::string& name, int timeout_s) {
  auto c = CNM_VALUE(container(name));
  if (c.status == ContainerStatus::kExited) return {};
  if (c.pid > 0 && launcher::alive(c.pid, c.pid_start)) {
    if (timeout_s > 0) {
      kill(c.pid, SIGTERM);
      launcher::wait_gone(c.pid, c.pid_start, timeout_s * 1000);
    }
    if (launcher::alive(c.pid, c.pid_start)) kill(c.pid, SIGKILL);
    launcher::wait_gone(c.pid, c.pid_start, 5000);
  }
  // The supervisor records the exit and tears the network down; if it died, we do it.
  if (launcher::wait_gone(c.supervisor, c.supervisor_start, 10000)) {
    auto lock = CNM_VALUE(store_.lock());
    auto now = container(c.id);
    if (!now)
      return now.error().code == Code::kNotFound ? Status{} : Status{std::unexpected(now.error())};
    if (now->status != ContainerStatus::kExited) {
      auto cg = cgroups_for(*now);
      for (pid_t p : cg->pids(now->id)) kill(p, SIGKILL);
      int status = read_exit(now->dir);
      CNM_TRY(finish_container(lock, *now, status < 0 ? SIGKILL : status, true));
    }
    return {};
  }
  return fail(Code::kFailed, "stop {}: the supervisor (pid {}) did not finish", c.name,
              c.supervisor);
}

Status ContainerService::kill_container(const std::string& name, int sig) {
  if (sig <= 0 || sig >= NSIG) return fail(Code::kInvalid, "invalid signal {}", sig);
  auto c = CNM_VALUE(container(name));
  if (c.status != ContainerStatus::kRunning || !launcher::alive(c.pid, c.pid_start))
    return fail(Code::kConflict, "container {} is not running", c.name);
  if (kill(c.pid, sig) != 0)
    return fail(Code::kFailed, "kill {}: {}", c.name, std::strerror(errno));
  return {};
}

Status ContainerService::remove_containers(const std::vector<std::string>& names, bool force) {
  if (names.empty()) return fail(Code::kInvalid, "rm: name at least one container");
  std::vector<Container> cs;
  for (const auto& n : names) {
    auto c = CNM_VALUE(container(n));
    if (c.status != ContainerStatus::kExited && !force)
      return fail(Code::kConflict, "container {} is running: stop it first or use rm -f", c.name);
    cs.push_back(std::move(c));
  }
  for (const auto& c : cs)
    if (c.status != ContainerStatus::kExited) CNM_TRY(stop_container(c.id, 0));
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  Txn tx(store_, lock, "rm containers");
  for (const auto& c : cs) {
    auto now = container(c.id);
    if (!now) {
      if (now.error().code == Code::kNotFound) continue;  // --rm removed it meanwhile
      return std::unexpected(now.error());
    }
    CNM_TRY(remove_container(tx, *now));
  }
  return tx.commit();
}

Result<int> ContainerService::exec_container(const ExecRequest& r) {
  if (r.cmd.empty()) return fail(Code::kInvalid, "exec: no command given (netctl exec C -- CMD)");
  CNM_TRY(validate_user(r.user));
  CNM_TRY(validate_env(r.env));
  if (!r.workdir.empty() && r.workdir[0] != '/')
    return fail(Code::kInvalid, "--workdir '{}' must be absolute", r.workdir);
  auto c = CNM_VALUE(container(r.container));
  if (c.status != ContainerStatus::kRunning || !launcher::alive(c.pid, c.pid_start))
    return fail(Code::kConflict, "container {} is not running", c.name);
  auto spec = CNM_VALUE(process_spec(c, store_.root() + "/seccomp", &r));
  std::vector<std::string> procs;
  for (const auto& d : cgroups_for(c)->dirs(c.id)) procs.push_back(d + "/cgroup.procs");
  return launcher::exec_in(c.pid, c.pid_start, procs, std::move(spec));
}

}  // namespace cnm

// The Container record's JSON body (cnm/model/model.h).
#include <nlohmann/json.hpp>

#include "cnm/model/model.h"

namespace cnm {

std::string_view container_status_name(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::kCreated:
      return "created";
    case ContainerStatus::kRunning:
      return "running";
    case ContainerStatus::kExited:
      return "exited";
  }
  return "created";
}

std::optional<ContainerStatus> parse_container_status(std::string_view name) {
  for (auto s : {ContainerStatus::kCreated, ContainerStatus::kRunning, ContainerStatus::kExited})
    if (container_status_name(s) == name) return s;
  return std::nullopt;
}

void to_json(nlohmann::json& j, const Container& c) {
  j = {{"Id", c.id},
       {"Name", c.name},
       {"Created", c.created},
       {"Cmd", c.cmd},
       {"Env", c.env},
       {"Hostname", c.hostname},
       {"Rootfs", c.rootfs},
       {"WorkingDir", c.workdir},
       {"User", c.user},
       {"Networks", c.networks},
       {"Publish", c.publish},
       {"IP", c.ip},
       {"Memory", c.memory},
       {"PidsLimit", c.pids_limit},
       {"Cpus", c.cpus},
       {"Detach", c.detach},
       {"AutoRemove", c.auto_remove},
       {"CapAdd", c.cap_add},
       {"CapDrop", c.cap_drop},
       {"Seccomp", c.seccomp},
       {"LogMaxSize", c.log_max_size},
       {"LogMaxFile", c.log_max_file},
       {"Dir", c.dir},
       {"CgroupParent", c.cgroup_parent},
       {"CgroupVersion", c.cgroup_version},
       {"CgroupPrefix", c.cgroup_prefix},
       {"Status", container_status_name(c.status)},
       {"Pid", c.pid},
       {"PidStart", c.pid_start},
       {"Supervisor", c.supervisor},
       {"SupervisorStart", c.supervisor_start},
       {"ExitCode", c.exit_code},
       {"OOMKilled", c.oom_killed},
       {"StartedAt", c.started},
       {"FinishedAt", c.finished}};
}

void from_json(const nlohmann::json& j, Container& c) {
  j.at("Id").get_to(c.id);
  j.at("Name").get_to(c.name);
  c.created = j.value("Created", "");
  c.cmd = j.value("Cmd", std::vector<std::string>{});
  c.env = j.value("Env", std::vector<std::string>{});
  c.hostname = j.value("Hostname", "");
  c.rootfs = j.value("Rootfs", "");
  c.workdir = j.value("WorkingDir", "");
  c.user = j.value("User", "");
  c.networks = j.value("Networks", std::vector<std::string>{});
  c.publish = j.value("Publish", std::vector<std::string>{});
  c.ip = j.value("IP", "");
  c.memory = j.value("Memory", int64_t{0});
  c.pids_limit = j.value("PidsLimit", int64_t{0});
  c.cpus = j.value("Cpus", 0.0);
  c.detach = j.value("Detach", false);
  c.auto_remove = j.value("AutoRemove", false);
  c.cap_add = j.value("CapAdd", std::vector<std::string>{});
  c.cap_drop = j.value("CapDrop", std::vector<std::string>{});
  c.seccomp = j.value("Seccomp", "");
  c.log_max_size = j.value("LogMaxSize", int64_t{0});
  c.log_max_file = j.value("LogMaxFile", 0);
  c.dir = j.value("Dir", "");
  c.cgroup_parent = j.value("CgroupParent", "");
  c.cgroup_version = j.value("CgroupVersion", "");
  c.cgroup_prefix = j.value("CgroupPrefix", "");
  // Any other text reads as created (neither running nor exited): the record stays readable, so
  // ps, rm -f and gc still handle it.
  c.status =
      parse_container_status(j.value("Status", "created")).value_or(ContainerStatus::kCreated);
  c.pid = j.value("Pid", 0);
  c.pid_start = j.value("PidStart", uint64_t{0});
  c.supervisor = j.value("Supervisor", 0);
  c.supervisor_start = j.value("SupervisorStart", uint64_t{0});
  c.exit_code = j.value("ExitCode", 0);
  c.oom_killed = j.value("OOMKilled", false);
  c.started = j.value("StartedAt", "");
  c.finished = j.value("FinishedAt", "");
}

}  // namespace cnm

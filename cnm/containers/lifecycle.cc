// Container records and their kernel objects: create (directory and cgroups declared in the intent
// journal first), finish (exit recorded, endpoints and port rules removed), remove, recover, gc.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "cnm/containers/container_service.h"
#include "cnm/containers/util.h"
#include "cnm/core/records.h"
#include "cnm/core/txn.h"
#include "cnm/launcher/logs.h"
#include "cnm/launcher/proc.h"

namespace cnm {
namespace {

ContainerIntent intent_of(const Container& c) {
  return {c.id, c.dir, c.cgroup_version, c.cgroup_parent, c.cgroup_prefix};
}

store::Record record_of(const Container& c) {
  return {c.id, c.name, "", nlohmann::json(c).dump(), std::string(container_status_name(c.status))};
}

Status make_dirs(const Container& c) {
  // The overlay's root takes upper's mode: 0755, or a --user workload could not traverse "/".
  for (const char* sub : {"", "/upper", "/work", "/lower", "/merged"})
    if (mkdir((c.dir + sub).c_str(), *sub ? 0755 : 0700) != 0 && errno != EEXIST)
      return fail(Code::kFailed, "create {}{}: {}", c.dir, sub, std::strerror(errno));
  return {};
}

}  // namespace

Status ContainerService::put_container(const Container& c) {
  auto lock = CNM_VALUE(store_.lock());
  store::Batch b;
  b.puts.push_back({store::kContainers, record_of(c)});
  return store_.apply(b);
}

Result<Container> ContainerService::create_container(const RunRequest& r) {
  Container c;
  c.id = new_id();
  c.name = r.name.empty() ? c.id.substr(0, 12) : r.name;
  c.created = now_rfc3339();
  c.cmd = r.cmd;
  c.env = r.env;
  bool has_path = false;
  for (const auto& e : c.env) has_path |= e.starts_with("PATH=");
  if (!has_path)
    c.env.insert(c.env.begin(),
                 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  c.hostname = r.hostname.empty() ? c.id.substr(0, 12) : r.hostname;
  c.rootfs = r.rootfs;
  c.workdir = r.workdir;
  c.user = r.user;
  c.networks = r.networks;
  c.publish = r.publish;
  if (!r.memory.empty()) c.memory = *launcher::parse_memory(r.memory);
  if (!r.cpus.empty()) c.cpus = *launcher::parse_cpus(r.cpus);
  c.pids_limit = r.pids_limit;
  c.detach = r.detach;
  c.auto_remove = r.auto_remove;
  if (c.detach) {  // validate_run checked the options
    auto logs = CNM_VALUE(launcher::parse_log_opts(r.log_opt));
    c.log_max_size = logs.max_size;
    c.log_max_file = logs.max_file;
  }
  c.cap_add = r.cap_add;
  c.cap_drop = r.cap_drop;
  auto seccomp = CNM_VALUE(seccomp_option(r.security_opt));
  c.seccomp = std::move(seccomp);
  c.dir = store_.root() + "/containers/" + c.id;
  auto parent = CNM_VALUE(launcher::cgroup_parent(config_.cgroup_parent));
  c.cgroup_parent = parent;
  auto root_id = CNM_VALUE(store_.root_id());
  c.cgroup_prefix = root_id;
  auto cg = launcher::make_cgroups(kCgroupRoot, c.cgroup_parent, c.cgroup_prefix);
  c.cgroup_version = cg->version();
  c.supervisor = getpid();
  c.supervisor_start = launcher::start_time(c.supervisor);

  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  auto existing = CNM_VALUE(store_.get(store::kContainers, c.name));
  if (existing) return fail(Code::kConflict, "container name {} is already in use", c.name);
  Txn tx(store_, lock, "run " + c.name);
  CNM_TRY(tx.intend(intent_of(c)));
  (void)mkdir((store_.root() + "/containers").c_str(), 0700);
  tx.on_undo(intent_of(c), [d = c.dir] { return remove_tree(d); });
  CNM_TRY(make_dirs(c));
  launcher::Limits l;
  if (c.memory) l.memory = c.memory;
  if (c.cpus > 0) l.cpus = c.cpus;
  if (c.pids_limit) l.pids = c.pids_limit;
  CNM_TRY(cg->create(c.id, l));
  tx.on_undo(intent_of(c), [i = intent_of(c)] { return cgroups_for(i)->remove(i.id); });
  tx.batch().puts.push_back({store::kContainers, record_of(c)});
  CNM_TRY(tx.commit());
  return c;
}

Status ContainerService::finish_container(const store::WriteLock& lock, Container c,
                                          int wait_status, bool known) {
  auto eps = CNM_VALUE(endpoints({.name = "container:" + c.id}));
  Txn tx(store_, lock, "container exited " + c.name);
  if (!c.auto_remove && !eps.empty()) CNM_TRY(endpoints_.remove_endpoints(tx, eps));
  auto cg = cgroups_for(c);
  c.oom_killed = cg->oom_killed(c.id);
  c.status = ContainerStatus::kExited;
  c.exit_code = known ? launcher::exit_code_of(wait_status) : 137;
  c.finished = now_rfc3339();
  c.pid = 0;
  if (c.auto_remove) {
    CNM_TRY(remove_container(tx, c));
  } else {
    tx.batch().puts.push_back({store::kContainers, record_of(c)});
  }
  return tx.commit();
}

Status ContainerService::remove_container(Txn& tx, const Container& c) {
  CNM_TRY(tx.intend(intent_of(c)));
  CNM_TRY(tx.intend_drop(store::kContainers, c.id));
  auto eps = CNM_VALUE(endpoints({.name = "container:" + c.id}));
  if (!eps.empty()) CNM_TRY(endpoints_.remove_endpoints(tx, eps));
  CNM_TRY(recover_container(intent_of(c)));
  tx.batch().drops.push_back({store::kContainers, c.id});
  return {};
}

Status ContainerService::recover_container(const ContainerIntent& o) {
  // Only what this state root made: a 64-hex id, its directory under <root>/containers and its
  // cgroup leaf named with this root's id (or the bare id of an intent older than root ids).
  auto root_id = CNM_VALUE(store_.root_id());
  if (o.id.size() != 64 || o.dir != store_.root() + "/containers/" + o.id ||
      (!o.cgroup_prefix.empty() && o.cgroup_prefix != root_id))
    return fail(Code::kFailed, "recover container: unexpected intent {}", to_json(o).dump());
  auto cg = cgroups_for(o);
  CNM_TRY(cg->remove(o.id));
  return remove_tree(o.dir);
}

Result<std::unique_ptr<launcher::Cgroups>> ContainerService::own_cgroups() {
  // Leaves under the parent with this root's prefix: another root's containers sharing the
  // parent and the admin's own cgroups are not listed, so doctor and gc never touch them.
  auto parent = CNM_VALUE(launcher::cgroup_parent(config_.cgroup_parent));
  auto root_id = CNM_VALUE(store_.root_id());
  return launcher::make_cgroups(kCgroupRoot, parent, root_id);
}

Result<std::vector<std::string>> ContainerService::container_drift() {
  std::vector<std::string> out;
  auto cs = CNM_VALUE(list_containers());
  std::set<std::string> known;
  for (const auto& c : cs) {
    known.insert(c.id);
    if (c.status != ContainerStatus::kExited && !launcher::alive(c.supervisor, c.supervisor_start))
      out.push_back("container " + c.name + ": supervisor gone");
  }
  auto cg = CNM_VALUE(own_cgroups());
  for (const auto& id : cg->list())
    if (!known.contains(id)) out.push_back("cgroup " + id + ": no container");
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(store_.root() + "/containers", ec))
    if (!known.contains(e.path().filename().string()))
      out.push_back("container directory " + e.path().filename().string() + ": no container");
  return out;
}

Result<std::vector<std::string>> ContainerService::reap_containers(const store::WriteLock& lock) {
  std::vector<std::string> reaped;
  // Created or running (the status is the record's ref column): one query on every write command.
  std::string exited(container_status_name(ContainerStatus::kExited));
  auto cs = CNM_VALUE(
      decode_all<Container>(store_.list(store::kContainers, {.ref_not = exited}), "containers"));
  for (const auto& c : cs) {
    if (launcher::alive(c.supervisor, c.supervisor_start)) continue;
    // The workload dies with its cgroup; the network is torn down as on an exit.
    for (pid_t p : cgroups_for(c)->pids(c.id)) kill(p, SIGKILL);
    if (c.pid > 0) launcher::wait_gone(c.pid, c.pid_start, 2000);
    int status = read_exit(c.dir);
    CNM_TRY(finish_container(lock, c, status < 0 ? SIGKILL : status, true));
    reaped.push_back("container " + c.name + ": supervisor gone, torn down");
  }
  return reaped;
}

Result<std::vector<std::string>> ContainerService::gc_containers(const store::WriteLock& lock) {
  auto reaped = CNM_VALUE(reap_containers(lock));
  std::vector<std::string> repaired = std::move(reaped);
  auto cs = CNM_VALUE(list_containers());
  std::set<std::string> known;
  for (const auto& c : cs) known.insert(c.id);
  auto cg = CNM_VALUE(own_cgroups());
  for (const auto& id : cg->list())
    if (!known.contains(id)) {
      CNM_TRY(cg->remove(id));
      repaired.push_back("cgroup " + id);
    }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(store_.root() + "/containers", ec)) {
    auto id = e.path().filename().string();
    if (known.contains(id)) continue;
    CNM_TRY(remove_tree(e.path().string()));
    repaired.push_back("container directory " + id);
  }
  return repaired;
}

}  // namespace cnm

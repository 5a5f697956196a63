// Helpers for the container operations (cnm/containers/util.h).
#include "cnm/containers/util.h"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>

#include "cnm/containers/container_service.h"
#include "cnm/launcher/caps.h"
#include "cnm/launcher/logs.h"
#include "cnm/launcher/seccomp.h"
#include "cnm/model/net.h"
#include "cnm/model/ports.h"
#include "cnm/model/validate.h"

namespace cnm {
namespace {

namespace fs = std::filesystem;

bool numeric(std::string_view s) {
  unsigned long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc{} && p == s.data() + s.size() && v < (1UL << 31);
}

Status validate_paths(const RunRequest& r) {
  if (!r.rootfs.empty()) {
    std::error_code ec;
    if (r.rootfs[0] != '/' || r.rootfs.find_first_of(",:\\") != std::string::npos)
      return fail(Code::kInvalid, "--rootfs '{}': an absolute path without ',' ':' '\\'", r.rootfs);
    if (!fs::is_directory(r.rootfs, ec))
      return fail(Code::kInvalid, "--rootfs '{}' is not a directory", r.rootfs);
  }
  if (!r.workdir.empty() && r.workdir[0] != '/')
    return fail(Code::kInvalid, "--workdir '{}' must be absolute", r.workdir);
  return {};
}

}  // namespace

Status validate_run(const RunRequest& r) {
  if (r.cmd.empty()) return fail(Code::kInvalid, "run: no command given (netctl run ... -- CMD)");
  if (!r.name.empty()) CNM_TRY(validate_name("container", r.name));
  for (const auto& n : r.networks) CNM_TRY(validate_name("network", n));
  for (const auto& a : r.network_aliases) CNM_TRY(validate_dns_label("--network-alias", a));
  if (!r.ip.empty()) {
    auto a = IpAddr::parse(r.ip);
    if (!a || a->is_v6()) return fail(Code::kInvalid, "--ip '{}' is not an IPv4 address", r.ip);
  }
  for (const auto& p : r.publish) CNM_TRY(parse_port_spec(p));
  if (!r.hostname.empty() &&
      (r.hostname.size() > 63 ||
       r.hostname.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                    ".-") != std::string::npos))
    return fail(Code::kInvalid, "invalid --hostname '{}'", r.hostname);
  CNM_TRY(validate_paths(r));
  if (!r.memory.empty()) CNM_TRY(launcher::parse_memory(r.memory));
  if (!r.cpus.empty()) CNM_TRY(launcher::parse_cpus(r.cpus));
  if (r.pids_limit < 0) return fail(Code::kInvalid, "--pids-limit must be positive");
  if (!r.log_opt.empty() && !r.detach)
    return fail(Code::kInvalid, "--log-opt applies to -d only (a foreground run has no log)");
  CNM_TRY(launcher::parse_log_opts(r.log_opt));
  CNM_TRY(validate_env(r.env));
  CNM_TRY(validate_user(r.user));
  CNM_TRY(launcher::capability_set(r.cap_add, r.cap_drop));
  return {};
}

Status validate_user(const std::string& user) {
  if (user.empty()) return {};
  auto colon = user.find(':');
  if (!numeric(std::string_view(user).substr(0, colon)) ||
      (colon != std::string::npos && !numeric(std::string_view(user).substr(colon + 1))))
    return fail(Code::kInvalid, "invalid --user '{}': use UID[:GID]", user);
  return {};
}

Status validate_env(const std::vector<std::string>& env) {
  for (const auto& e : env)
    if (e.empty() || e[0] == '=' || e.find('=') == std::string::npos)
      return fail(Code::kInvalid, "invalid --env '{}': use KEY=VALUE", e);
  return {};
}

Result<std::string> seccomp_option(const std::vector<std::string>& security_opt) {
  std::string out;
  for (const auto& o : security_opt) {
    if (o == "no-new-privileges" || o == "no-new-privileges:true") continue;  // always set
    if (!o.starts_with("seccomp=") && !o.starts_with("seccomp:"))
      return fail(Code::kInvalid, "unsupported --security-opt '{}'", o);
    std::string v = o.substr(8);
    if (v == "unconfined") {
      out = v;
      continue;
    }
    std::ifstream f(v);
    if (!f || !fs::is_regular_file(v))
      return fail(Code::kInvalid, "--security-opt seccomp={}: not a readable file", v);
    std::string text((std::istreambuf_iterator<char>(f)), {});
    if (text.size() > (1U << 20))
      return fail(Code::kInvalid, "--security-opt seccomp={}: larger than 1 MiB", v);
    auto p = launcher::seccomp::parse_profile(text);
    if (!p) return fail(Code::kInvalid, "--security-opt seccomp={}: {}", v, p.error().message);
    out = std::move(text);
  }
  return out;
}

Result<launcher::SpawnSpec> process_spec(const Container& c, const std::string& cache_dir,
                                         const ExecRequest* exec) {
  launcher::SpawnSpec s;
  s.argv = exec ? exec->cmd : c.cmd;
  s.env = c.env;
  if (exec) s.env.insert(s.env.end(), exec->env.begin(), exec->env.end());
  std::string workdir = exec && !exec->workdir.empty() ? exec->workdir : c.workdir;
  s.workdir = workdir.empty() ? "/" : workdir;
  std::string user = exec && !exec->user.empty() ? exec->user : c.user;
  if (!user.empty()) {
    auto colon = user.find(':');
    s.uid = static_cast<uid_t>(std::stoul(user.substr(0, colon)));
    if (colon != std::string::npos) s.gid = static_cast<gid_t>(std::stoul(user.substr(colon + 1)));
  }
  auto caps = CNM_VALUE(launcher::capability_set(c.cap_add, c.cap_drop));
  s.caps = caps;
  auto prog = CNM_VALUE(launcher::seccomp_for(c.seccomp, s.caps, cache_dir));
  s.seccomp = std::move(prog.insns);
  return s;
}

std::vector<std::string> host_dirs(const std::string& dir) {
  std::vector<std::string> out{"/usr"};
  for (const char* d : {"/bin", "/sbin", "/lib", "/lib64", "/lib32"}) {
    std::error_code ec;
    auto st = fs::symlink_status(d, ec);
    if (ec) continue;
    if (fs::is_symlink(st))
      fs::create_symlink(fs::read_symlink(d, ec), dir + "/upper" + d, ec);
    else if (fs::is_directory(st))
      out.push_back(d);
  }
  return out;
}

std::unique_ptr<launcher::Cgroups> cgroups_for(const ContainerIntent& c) {
  if (c.cgroup_version == "v2")
    return launcher::make_cgroups_v2(kCgroupRoot, c.cgroup_parent, c.cgroup_prefix);
  return launcher::make_cgroups_v1(kCgroupRoot, c.cgroup_parent, c.cgroup_prefix);
}

std::unique_ptr<launcher::Cgroups> cgroups_for(const Container& c) {
  return cgroups_for(
      ContainerIntent{c.id, c.dir, c.cgroup_version, c.cgroup_parent, c.cgroup_prefix});
}

int read_exit(const std::string& dir) {
  std::ifstream f(dir + "/exit");
  int status = -1;
  if (!(f >> status)) return -1;
  return status;
}

Status remove_tree(const std::string& dir) {
  // A supervisor whose `run` was killed before it recorded the supervisor may still write its exit
  // file into the directory while a reap removes it; it writes once, so a retry removes that too.
  std::error_code ec;
  for (int tries = 0; tries < 10; ++tries) {
    fs::remove_all(dir, ec);
    if (!ec || ec == std::errc::no_such_file_or_directory) return {};
    if (ec != std::errc::directory_not_empty) break;
  }
  return fail(Code::kFailed, "remove {}: {}", dir, ec.message());
}

}  // namespace cnm

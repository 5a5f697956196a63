// Private to cnm/: helpers shared by the container operations (cnm/containers/*.cc).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cnm/core/intent.h"
#include "cnm/launcher/cgroup.h"
#include "cnm/launcher/spawn.h"
#include "cnm/model/model.h"

namespace cnm {

inline constexpr const char* kDefaultNetwork = "netctl0";
inline constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

// Every field of `netctl run`; Code::kInvalid naming the first bad one.
Status validate_run(const RunRequest& r);
// Without --rootfs: the host directories bind-mounted read-only (/usr and the real directories
// among /bin, /sbin, /lib, /lib64); the symbolic ones (merged /usr) are recreated in `dir`/upper.
std::vector<std::string> host_dirs(const std::string& dir);
// The process part of a container's launch (argv, env, workdir, user, capabilities, seccomp
// program), for `run` and, with `exec` overriding what it sets, for `netctl exec`.
Result<launcher::SpawnSpec> process_spec(const Container& c, const std::string& cache_dir,
                                         const ExecRequest* exec = nullptr);
// --user UID[:GID] and --env K=V, as run and exec take them.
Status validate_user(const std::string& user);
Status validate_env(const std::vector<std::string>& env);
// --security-opt: the container's seccomp setting ("", "unconfined" or a JSON profile's text, read
// and parsed here so a bad file is refused before anything is made).
Result<std::string> seccomp_option(const std::vector<std::string>& security_opt);
// The cgroups of a container as recorded or declared (its version, parent and leaf prefix).
std::unique_ptr<launcher::Cgroups> cgroups_for(const ContainerIntent& c);
std::unique_ptr<launcher::Cgroups> cgroups_for(const Container& c);
// The wait status the supervisor wrote to <dir>/exit, or -1.
int read_exit(const std::string& dir);
// rm -rf, never following symbolic links; a missing directory is fine.
Status remove_tree(const std::string& dir);

}  // namespace cnm

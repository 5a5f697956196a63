// cgroups for `netctl run`: one interface over v1 (a directory per controller: memory, cpu, pids)
// and v2 (one unified directory). cgroupfs is not namespaced, so every directory made here is
// named after the container id under a configurable parent and removed with the container.
//
// Several state roots on one host may share a parent: a container's directory (its leaf) is
// `<prefix>-<id>`, the prefix being the id of the state root that made it, so each root lists and
// removes only its own leaves. An empty prefix names the bare `<id>` leaf of a container recorded
// before roots had ids.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnm/model/error.h"

namespace cnm::launcher {

struct Limits {
  std::optional<int64_t> memory;  // bytes; swap is limited to the same total
  std::optional<double> cpus;     // CPUs worth of CFS quota per 100 ms period
  std::optional<int64_t> pids;    // tasks
};

class Cgroups {
 public:
  virtual ~Cgroups() = default;
  // "v1" or "v2".
  virtual std::string version() const = 0;
  // The directories a container `id` uses (one per v1 controller, one for v2).
  virtual std::vector<std::string> dirs(const std::string& id) const = 0;
  // Makes the container's directories (the parent too) and writes the limits. On failure what
  // was made is removed again. An existing directory is reused (a crashed run's leftover).
  virtual Status create(const std::string& id, const Limits& limits) = 0;
  // Moves `pid` into the container's cgroups.
  virtual Status add(const std::string& id, pid_t pid) = 0;
  // Pids currently in the container's cgroups.
  virtual std::vector<pid_t> pids(const std::string& id) const = 0;
  // Whether the kernel's OOM killer killed a task of the container.
  virtual bool oom_killed(const std::string& id) const = 0;
  // SIGKILLs what is left inside, then removes the directories (missing ones count as removed).
  virtual Status remove(const std::string& id) = 0;
  // Ids (64 hex digits) of the containers whose leaf `<prefix>-<id>` is under the parent, for
  // doctor and gc; every other directory there (another root's, the admin's) is not listed.
  virtual std::vector<std::string> list() const = 0;
};

// `root` is the cgroupfs mount point ("/sys/fs/cgroup"); `parent` a relative path ("netctl");
// `prefix` the leaf prefix (a state root's id, or "" for bare `<id>` leaves).
std::unique_ptr<Cgroups> make_cgroups_v1(std::string root, std::string parent, std::string prefix);
std::unique_ptr<Cgroups> make_cgroups_v2(std::string root, std::string parent, std::string prefix);
// v2 when `root` is a unified mount with the memory controller, else v1 (this machine's layout:
// a v2 hierarchy at /sys/fs/cgroup/unified with only hugetlb counts as v1).
std::unique_ptr<Cgroups> make_cgroups(const std::string& root, const std::string& parent,
                                      const std::string& prefix);
// The leaf directory name of container `id`: "<prefix>-<id>", or `id` for an empty prefix.
std::string cgroup_leaf(const std::string& prefix, const std::string& id);
// $NETCTL_CGROUP_PARENT, else `configured`, else "netctl". Invalid (absolute, "..") is kInvalid.
Result<std::string> cgroup_parent(const std::string& configured);

// "512m", "1g", "100000" (bytes), "64k": Code::kInvalid otherwise or below 4 MiB.
Result<int64_t> parse_memory(const std::string& text);
// "0.5", "2": Code::kInvalid unless 0.01 <= N <= 1024.
Result<double> parse_cpus(const std::string& text);

}  // namespace cnm::launcher

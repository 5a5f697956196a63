// cgroups v1 and v2 behind launcher::Cgroups (see cgroup.h).
#include "cnm/launcher/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "cnm/launcher/devices.h"

namespace cnm::launcher {
namespace {

constexpr int64_t kPeriodUs = 100000;

// `mode` O_TRUNC or O_APPEND: the same to cgroupfs; a fake tree keeps every appended line.
Status write_file(const std::string& path, const std::string& value, int mode = O_TRUNC) {
  // O_CREAT only matters for a fake tree; cgroupfs files always exist already.
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | mode | O_CLOEXEC, 0644);
  if (fd < 0) return fail(Code::kFailed, "write {}: {}", path, std::strerror(errno));
  ssize_t n = write(fd, value.data(), value.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    return fail(Code::kFailed, "write {} to {}: {}", value, path, std::strerror(err));
  return {};
}

std::string read_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, n);
  close(fd);
  return out;
}

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// The number after `key ` in a flat keyed file ("oom_kill 1").
int64_t keyed(const std::string& text, std::string_view key) {
  size_t at = 0;
  while ((at = text.find(key, at)) != std::string::npos) {
    bool line_start = at == 0 || text[at - 1] == '\n';
    if (line_start && at + key.size() < text.size() && text[at + key.size()] == ' ')
      return std::atoll(text.c_str() + at + key.size() + 1);
    at += key.size();
  }
  return 0;
}

Status make_dir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    return fail(Code::kFailed, "create cgroup {}: {}", path, std::strerror(errno));
  return {};
}

// rmdir; a fake tree holds plain files that cgroupfs would not, so those are removed first.
Status remove_dir(const std::string& path) {
  for (int i = 0; i < 100; ++i) {
    if (rmdir(path.c_str()) == 0 || errno == ENOENT) return {};
    if (errno == ENOTEMPTY) {
      if (DIR* d = opendir(path.c_str())) {
        while (auto* e = readdir(d))
          if (e->d_type == DT_REG) unlink((path + "/" + e->d_name).c_str());
        closedir(d);
      }
      continue;
    }
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // tasks still exiting
  }
  return fail(Code::kFailed, "remove cgroup {}: {}", path, std::strerror(errno));
}

std::vector<pid_t> read_pids(const std::string& path) {
  std::vector<pid_t> out;
  std::string text = read_file(path);
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (int p = std::atoi(text.c_str() + at); p > 0) out.push_back(p);
    at = end + 1;
  }
  return out;
}

bool container_id(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// Adds to `out` the container ids whose leaf `<prefix>-<id>` is a directory in `path` (each once).
void list_leaves(const std::string& path, const std::string& prefix,
                 std::vector<std::string>& out) {
  std::string head = prefix.empty() ? "" : prefix + "-";
  if (DIR* d = opendir(path.c_str())) {
    while (auto* e = readdir(d)) {
      std::string_view name(e->d_name);
      if (e->d_type != DT_DIR || !name.starts_with(head)) continue;
      auto id = std::string(name.substr(head.size()));
      if (container_id(id) && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    }
    closedir(d);
  }
}

// Kills every task listed in `procs` until the file is empty (or ~2 s passed).
void kill_all(const std::string& procs) {
  for (int i = 0; i < 100; ++i) {
    auto pids = read_pids(procs);
    if (pids.empty()) return;
    for (pid_t p : pids) kill(p, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

class V1 : public Cgroups {
 public:
  // The devices hierarchy is optional (a host without it has no device rules to apply); once
  // present, it is one of the container's cgroups like the others: joined, listed, removed.
  V1(std::string root, std::string parent, std::string prefix)
      : root_(std::move(root)),
        parent_(std::move(parent)),
        prefix_(std::move(prefix)),
        controllers_{"memory", "cpu", "pids"} {
    if ((devices_ = exists(root_ + "/devices"))) controllers_.push_back("devices");
  }
  std::string version() const override { return "v1"; }

  std::vector<std::string> dirs(const std::string& id) const override {
    std::vector<std::string> out;
    for (const char* c : controllers_) out.push_back(dir(c, id));
    return out;
  }

  Status create(const std::string& id, const Limits& l) override {
    auto r = create_dirs(id, l);
    if (!r) (void)remove(id);
    return r;
  }

  Status add(const std::string& id, pid_t pid) override {
    for (const auto& d : dirs(id)) CNM_TRY(write_file(d + "/cgroup.procs", std::to_string(pid)));
    return {};
  }

  std::vector<pid_t> pids(const std::string& id) const override {
    return read_pids(dir("pids", id) + "/cgroup.procs");
  }

  bool oom_killed(const std::string& id) const override {
    return keyed(read_file(dir("memory", id) + "/memory.oom_control"), "oom_kill") > 0;
  }

  Status remove(const std::string& id) override {
    for (const auto& d : dirs(id))
      if (exists(d)) kill_all(d + "/cgroup.procs");
    Status first;
    for (const auto& d : dirs(id))
      if (auto r = remove_dir(d); !r && first) first = r;
    return first;
  }

  std::vector<std::string> list() const override {
    std::vector<std::string> out;
    for (const char* c : controllers_) list_leaves(root_ + "/" + c + "/" + parent_, prefix_, out);
    return out;
  }

 private:
  std::string dir(const char* ctrl, const std::string& id) const {
    return root_ + "/" + ctrl + "/" + parent_ + "/" + cgroup_leaf(prefix_, id);
  }

  Status create_dirs(const std::string& id, const Limits& l) {
    for (const char* c : controllers_) {
      CNM_TRY(make_dir(root_ + "/" + c + "/" + parent_));
      CNM_TRY(make_dir(dir(c, id)));
    }
    if (devices_)
      for (const auto& [file, value] : device_writes_v1())
        CNM_TRY(write_file(dir("devices", id) + "/" + file, value, O_APPEND));
    if (l.memory) {
      auto m = dir("memory", id);
      CNM_TRY(write_file(m + "/memory.limit_in_bytes", std::to_string(*l.memory)));
      // Without swap accounting the file is absent and swap cannot be limited separately.
      if (exists(m + "/memory.memsw.limit_in_bytes"))
        CNM_TRY(write_file(m + "/memory.memsw.limit_in_bytes", std::to_string(*l.memory)));
    }
    if (l.cpus) {
      auto c = dir("cpu", id);
      CNM_TRY(write_file(c + "/cpu.cfs_period_us", std::to_string(kPeriodUs)));
      CNM_TRY(
          write_file(c + "/cpu.cfs_quota_us", std::to_string(std::llround(*l.cpus * kPeriodUs))));
    }
    if (l.pids) CNM_TRY(write_file(dir("pids", id) + "/pids.max", std::to_string(*l.pids)));
    return {};
  }

  std::string root_, parent_, prefix_;
  std::vector<const char*> controllers_;
  bool devices_ = false;
};

class V2 : public Cgroups {
 public:
  V2(std::string root, std::string parent, std::string prefix)
      : root_(std::move(root)), parent_(std::move(parent)), prefix_(std::move(prefix)) {}
  std::string version() const override { return "v2"; }
  std::vector<std::string> dirs(const std::string& id) const override { return {dir(id)}; }

  Status create(const std::string& id, const Limits& l) override {
    auto r = create_dir(id, l);
    if (!r) (void)remove(id);
    return r;
  }

  Status add(const std::string& id, pid_t pid) override {
    return write_file(dir(id) + "/cgroup.procs", std::to_string(pid));
  }

  std::vector<pid_t> pids(const std::string& id) const override {
    return read_pids(dir(id) + "/cgroup.procs");
  }

  bool oom_killed(const std::string& id) const override {
    return keyed(read_file(dir(id) + "/memory.events"), "oom_kill") > 0;
  }

  Status remove(const std::string& id) override {
    auto d = dir(id);
    if (!exists(d)) return {};
    // cgroup.kill (5.14+) kills every task at once, forks in flight included.
    if (exists(d + "/cgroup.kill")) (void)write_file(d + "/cgroup.kill", "1");
    kill_all(d + "/cgroup.procs");
    return remove_dir(d);
  }

  std::vector<std::string> list() const override {
    std::vector<std::string> out;
    list_leaves(root_ + "/" + parent_, prefix_, out);
    return out;
  }

 private:
  std::string dir(const std::string& id) const {
    return root_ + "/" + parent_ + "/" + cgroup_leaf(prefix_, id);
  }

  // Controllers must be enabled in every ancestor's subtree_control for the files to appear.
  Status enable(const std::string& at) {
    std::string avail = read_file(at + "/cgroup.controllers"), want;
    for (const char* c : {"memory", "cpu", "pids"})
      if (avail.find(c) != std::string::npos) want += std::string(want.empty() ? "+" : " +") + c;
    if (want.empty()) return {};
    return write_file(at + "/cgroup.subtree_control", want);
  }

  Status create_dir(const std::string& id, const Limits& l) {
    CNM_TRY(enable(root_));
    CNM_TRY(make_dir(root_ + "/" + parent_));
    CNM_TRY(enable(root_ + "/" + parent_));
    auto d = dir(id);
    CNM_TRY(make_dir(d));
    // Before the workload is moved in. A directory that is no cgroup2 (a test's fake tree) has
    // no devices to guard; if statfs itself fails the attach is tried and reports the error.
    if (struct statfs fs{}; statfs(d.c_str(), &fs) != 0 || fs.f_type == CGROUP2_SUPER_MAGIC)
      CNM_TRY(attach_device_program(d));
    if (l.memory) {
      CNM_TRY(write_file(d + "/memory.max", std::to_string(*l.memory)));
      CNM_TRY(write_file(d + "/memory.swap.max", "0"));
    }
    if (l.cpus)
      CNM_TRY(write_file(d + "/cpu.max", std::to_string(std::llround(*l.cpus * kPeriodUs)) + " " +
                                             std::to_string(kPeriodUs)));
    if (l.pids) CNM_TRY(write_file(d + "/pids.max", std::to_string(*l.pids)));
    return {};
  }

  std::string root_, parent_, prefix_;
};

}  // namespace

std::unique_ptr<Cgroups> make_cgroups_v1(std::string root, std::string parent, std::string prefix) {
  return std::make_unique<V1>(std::move(root), std::move(parent), std::move(prefix));
}

std::unique_ptr<Cgroups> make_cgroups_v2(std::string root, std::string parent, std::string prefix) {
  return std::make_unique<V2>(std::move(root), std::move(parent), std::move(prefix));
}

std::string cgroup_leaf(const std::string& prefix, const std::string& id) {
  return prefix.empty() ? id : prefix + "-" + id;
}

std::unique_ptr<Cgroups> make_cgroups(const std::string& root, const std::string& parent,
                                      const std::string& prefix) {
  // The unified hierarchy is the one mounted there, whatever controllers it offers (a host whose
  // v1 hierarchies hold them still places, kills and removes through it); a test's tree of plain
  // directories says v2 by listing the memory controller.
  struct statfs fs {};
  bool unified = statfs(root.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
  if (unified || read_file(root + "/cgroup.controllers").find("memory") != std::string::npos)
    return make_cgroups_v2(root, parent, prefix);
  return make_cgroups_v1(root, parent, prefix);
}

Result<std::string> cgroup_parent(const std::string& configured) {
  std::string p = configured.empty() ? "netctl" : configured;
  if (const char* env = std::getenv("NETCTL_CGROUP_PARENT"); env && *env) p = env;
  if (p.starts_with("/") || p.find("..") != std::string::npos || p.ends_with("/"))
    return fail(Code::kInvalid, "cgroup parent '{}': must be a relative path without '..'", p);
  return p;
}

Result<int64_t> parse_memory(const std::string& text) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view unit(p, text.data() + text.size());
  int shift = -1;
  if (unit.empty() || unit == "b" || unit == "B") shift = 0;
  if (unit == "k" || unit == "K" || unit == "kb" || unit == "KB") shift = 10;
  if (unit == "m" || unit == "M" || unit == "mb" || unit == "MB") shift = 20;
  if (unit == "g" || unit == "G" || unit == "gb" || unit == "GB") shift = 30;
  if (ec != std::errc{} || p == text.data() || shift < 0 || n < 0 || n > (int64_t{1} << 40))
    return fail(Code::kInvalid, "invalid --memory '{}': use a number with b, k, m or g", text);
  n <<= shift;
  if (n < (int64_t{4} << 20)) return fail(Code::kInvalid, "--memory '{}' is below 4m", text);
  return n;
}

Result<double> parse_cpus(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= 0.01 && v <= 1024))
    return fail(Code::kInvalid, "invalid --cpus '{}': use a number from 0.01 to 1024", text);
  return v;
}

}  // namespace cnm::launcher

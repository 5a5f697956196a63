// Builds the child's mount program (spawn.h): the overlay root, then pivot_root, then everything
// inside the container's root (/proc, /sys, /dev, /etc files, masked and read-only paths).
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include "cnm/launcher/dmz.h"
#include "cnm/launcher/spawn.h"

namespace cnm::launcher {
namespace {

// Kernel interfaces a container has no business reading (Docker's masked paths).
constexpr const char* kMasked[] = {"/proc/acpi",
                                   "/proc/asound",
                                   "/proc/kcore",
                                   "/proc/keys",
                                   "/proc/latency_stats",
                                   "/proc/timer_list",
                                   "/proc/timer_stats",
                                   "/proc/sched_debug",
                                   "/proc/scsi",
                                   "/sys/firmware",
                                   "/sys/devices/virtual/powercap"};
// Kernel interfaces it may read but not change.
constexpr const char* kReadOnly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                     "/proc/sysrq-trigger"};
// The /etc files bound from the container directory, each through its own fd slot.
constexpr const char* kEtcFiles[] = {"hosts", "resolv.conf", "hostname"};

}  // namespace

const char* Plan::keep(std::string s) { return strings_.emplace_back(std::move(s)).c_str(); }

void Plan::add(std::string label, Op op) {
  labels_.push_back(std::move(label));
  ops_.push_back(op);
}

Plan::Plan(const SpawnSpec& spec) : spec_(spec) {
  add("unshare the cgroup namespace", {.kind = Op::kUnshareCgroup});
  add("loopback up", {.kind = Op::kLoopbackUp});
  add("set the hostname", {.kind = Op::kHostname, .a = keep(spec_.hostname)});
  add("make mounts private", {.kind = Op::kMount, .b = "/", .flags = MS_REC | MS_PRIVATE});
  add_root();
  for (unsigned i = 0; i < std::size(kEtcFiles); ++i)
    add(fmt::format("open {}/{}", spec_.dir, kEtcFiles[i]),
        {.kind = Op::kOpenSlot, .a = keep(spec_.dir + "/" + kEtcFiles[i]), .mode = i});
  add("pivot_root", {.kind = Op::kPivot, .a = keep(spec_.dir + "/merged")});
  add_after_root();
  add_exec();
}

void Plan::add_root() {
  const std::string merged = spec_.dir + "/merged";
  std::string lower = spec_.rootfs.empty() ? spec_.dir + "/lower" : spec_.rootfs;
  add("mount the overlay root",
      {.kind = Op::kMount,
       .a = "overlay",
       .b = keep(merged),
       .c = "overlay",
       .d = keep(fmt::format("lowerdir={},upperdir={}/upper,workdir={}/work", lower, spec_.dir,
                             spec_.dir))});
  // Only without a rootfs: the lower layer is netctl's own empty directory, nothing hostile.
  for (const auto& h : spec_.host_ro) {
    const char* target = keep(merged + h);
    add("mkdir " + h, {.kind = Op::kMkdir, .a = target, .mode = 0755});
    add("bind " + h, {.kind = Op::kMount, .a = keep(h), .b = target, .flags = MS_BIND | MS_REC});
    add("read-only " + h, {.kind = Op::kMount,
                           .b = target,
                           .flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_REC});
  }
}

void Plan::add_after_root() {
  for (const char* d : {"/proc", "/sys", "/dev"})
    add(fmt::format("{} must be a directory", d), {.kind = Op::kDirNoLink, .a = d});
  add("mount /proc", {.kind = Op::kMount,
                      .a = "proc",
                      .b = "/proc",
                      .c = "proc",
                      .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC});
  add("mount /sys", {.kind = Op::kMount,
                     .a = "sysfs",
                     .b = "/sys",
                     .c = "sysfs",
                     .flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC});
  add_dev();
  add_etc();
  add("mkdir /tmp", {.kind = Op::kMkdir, .a = "/tmp", .mode = 01777});
  for (const char* p : kMasked) add(fmt::format("mask {}", p), {.kind = Op::kMask, .a = p});
  for (const char* p : kReadOnly)
    add(fmt::format("read-only {}", p), {.kind = Op::kReadOnly, .a = p});
  add("chdir " + spec_.workdir, {.kind = Op::kChdir, .a = keep(spec_.workdir)});
}

void Plan::add_etc() {
  add("mkdir /etc", {.kind = Op::kMkdir, .a = "/etc", .mode = 0755});
  for (unsigned i = 0; i < std::size(kEtcFiles); ++i) {
    const char* target = keep(fmt::format("/etc/{}", kEtcFiles[i]));
    add(fmt::format("create /etc/{}", kEtcFiles[i]),
        {.kind = Op::kTouch, .a = target, .mode = 0644});
    add(fmt::format("bind /etc/{}", kEtcFiles[i]), {.kind = Op::kBindSlot, .b = target, .mode = i});
  }
}

void Plan::add_dev() {
  add("mount /dev", {.kind = Op::kMount,
                     .a = "tmpfs",
                     .b = "/dev",
                     .c = "tmpfs",
                     .d = "mode=755,size=65536k",
                     .flags = MS_NOSUID | MS_NOEXEC});
  struct Node {
    const char* name;
    unsigned major, minor;
  };
  for (auto n : {Node{"null", 1, 3}, Node{"zero", 1, 5}, Node{"full", 1, 7}, Node{"random", 1, 8},
                 Node{"urandom", 1, 9}, Node{"tty", 5, 0}})
    add(fmt::format("mknod /dev/{}", n.name), {.kind = Op::kMknod,
                                               .a = keep(fmt::format("/dev/{}", n.name)),
                                               .mode = 0666,
                                               .dev = makedev(n.major, n.minor)});
  add("mkdir /dev/pts", {.kind = Op::kMkdir, .a = "/dev/pts", .mode = 0755});
  add("mount /dev/pts", {.kind = Op::kMount,
                         .a = "devpts",
                         .b = "/dev/pts",
                         .c = "devpts",
                         .d = "newinstance,ptmxmode=0666,mode=0620",
                         .flags = MS_NOSUID | MS_NOEXEC});
  add("mkdir /dev/shm", {.kind = Op::kMkdir, .a = "/dev/shm", .mode = 01777});
  add("mount /dev/shm", {.kind = Op::kMount,
                         .a = "shm",
                         .b = "/dev/shm",
                         .c = "tmpfs",
                         .d = "mode=1777,size=65536k",
                         .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC});
  for (auto [from, to] : {std::pair{"pts/ptmx", "/dev/ptmx"},
                          {"/proc/self/fd", "/dev/fd"},
                          {"/proc/self/fd/0", "/dev/stdin"},
                          {"/proc/self/fd/1", "/dev/stdout"},
                          {"/proc/self/fd/2", "/dev/stderr"}})
    add(fmt::format("symlink {}", to), {.kind = Op::kSymlink, .a = from, .b = to});
}

void Plan::add_exec() {
  for (const auto& a : spec_.argv) argv_.push_back(const_cast<char*>(keep(a)));
  argv_.push_back(nullptr);
  for (const char* a : {kDmzName, spec_.fork_first ? "fork" : "exec"})
    dmz_argv_.push_back(const_cast<char*>(a));
  dmz_argv_.push_back(const_cast<char*>(keep(std::to_string(spec_.report_fd))));
  dmz_argv_.push_back(const_cast<char*>(keep(std::to_string(exec_step()))));
  dmz_argv_.insert(dmz_argv_.end(), argv_.begin(), argv_.end());
  for (const auto& e : spec_.env) envp_.push_back(const_cast<char*>(keep(e)));
  envp_.push_back(nullptr);
  fprog_.len = static_cast<unsigned short>(spec_.seccomp.size());
  fprog_.filter = spec_.seccomp.data();
}

std::string hosts_file(const std::string& hostname, const std::vector<std::string>& ips) {
  std::string out = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto& ip : ips) out += ip + "\t" + hostname + "\n";
  return out;
}

std::string resolv_file(const std::string& host, const std::string& nameserver) {
  std::string out;
  for (size_t at = 0; at < host.size();) {
    size_t end = host.find('\n', at);
    if (end == std::string::npos) end = host.size();
    std::string line = host.substr(at, end - at);
    at = end + 1;
    if (!nameserver.empty() && (line.starts_with("nameserver") || line.starts_with("options")))
      continue;
    if (line.starts_with("nameserver") &&
        (line.find(" 127.") != std::string::npos || line.find(" ::1") != std::string::npos))
      continue;
    out += line + "\n";
  }
  if (!nameserver.empty()) out += "nameserver " + nameserver + "\noptions ndots:0\n";
  return out;
}

}  // namespace cnm::launcher

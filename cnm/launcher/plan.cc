// Builds the child's mount program (spawn.h): overlay root, /etc files, /dev, /sys, pivot, /proc.
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include "cnm/launcher/spawn.h"

namespace cnm::launcher {

const char* Plan::keep(std::string s) { return strings_.emplace_back(std::move(s)).c_str(); }

void Plan::add(std::string label, Op op) {
  labels_.push_back(std::move(label));
  ops_.push_back(op);
}

void Plan::add_dev() {
  std::string dev = spec_.dir + "/merged/dev";
  add("mount /dev", {.kind = Op::kMount,
                     .a = "tmpfs",
                     .b = keep(dev),
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
                                               .a = keep(dev + "/" + n.name),
                                               .mode = 0666,
                                               .dev = makedev(n.major, n.minor)});
  add("mkdir /dev/pts", {.kind = Op::kMkdir, .a = keep(dev + "/pts"), .mode = 0755});
  add("mount /dev/pts", {.kind = Op::kMount,
                         .a = "devpts",
                         .b = keep(dev + "/pts"),
                         .c = "devpts",
                         .d = "newinstance,ptmxmode=0666,mode=0620",
                         .flags = MS_NOSUID | MS_NOEXEC});
  add("mkdir /dev/shm", {.kind = Op::kMkdir, .a = keep(dev + "/shm"), .mode = 01777});
  add("mount /dev/shm", {.kind = Op::kMount,
                         .a = "shm",
                         .b = keep(dev + "/shm"),
                         .c = "tmpfs",
                         .d = "mode=1777,size=65536k",
                         .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC});
  for (auto [from, to] : {std::pair{"pts/ptmx", "ptmx"},
                          {"/proc/self/fd", "fd"},
                          {"/proc/self/fd/0", "stdin"},
                          {"/proc/self/fd/1", "stdout"},
                          {"/proc/self/fd/2", "stderr"}})
    add(fmt::format("symlink /dev/{}", to),
        {.kind = Op::kSymlink, .a = from, .b = keep(dev + "/" + to)});
}

Plan::Plan(const SpawnSpec& spec) : spec_(spec) {
  const std::string merged = spec_.dir + "/merged";
  add("unshare the cgroup namespace", {.kind = Op::kUnshareCgroup});
  add("loopback up", {.kind = Op::kLoopbackUp});
  add("set the hostname", {.kind = Op::kHostname, .a = keep(spec_.hostname)});
  add("make mounts private", {.kind = Op::kMount, .b = "/", .flags = MS_REC | MS_PRIVATE});
  std::string lower = spec_.rootfs.empty() ? spec_.dir + "/lower" : spec_.rootfs;
  add("mount the overlay root",
      {.kind = Op::kMount,
       .a = "overlay",
       .b = keep(merged),
       .c = "overlay",
       .d = keep(fmt::format("lowerdir={},upperdir={}/upper,workdir={}/work", lower, spec_.dir,
                             spec_.dir))});
  for (const auto& h : spec_.host_ro) {
    const char* target = keep(merged + h);
    add("mkdir " + h, {.kind = Op::kMkdir, .a = target, .mode = 0755});
    add("bind " + h, {.kind = Op::kMount, .a = keep(h), .b = target, .flags = MS_BIND | MS_REC});
    add("read-only " + h, {.kind = Op::kMount,
                           .b = target,
                           .flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_REC});
  }
  add_etc();
  for (const char* d : {"/proc", "/sys", "/dev", "/tmp"})
    add(fmt::format("mkdir {}", d), {.kind = Op::kMkdir, .a = keep(merged + d), .mode = 0755});
  add_dev();
  add_after_root();
  add_exec();
}

void Plan::add_etc() {
  const std::string merged = spec_.dir + "/merged";
  add("mkdir /etc", {.kind = Op::kMkdir, .a = keep(merged + "/etc"), .mode = 0755});
  for (const char* f : {"hosts", "resolv.conf", "hostname"}) {
    const char* target = keep(merged + "/etc/" + f);
    add(fmt::format("create /etc/{}", f), {.kind = Op::kTouch, .a = target, .mode = 0644});
    add(fmt::format("bind /etc/{}", f),
        {.kind = Op::kMount, .a = keep(spec_.dir + "/" + f), .b = target, .flags = MS_BIND});
  }
}

void Plan::add_after_root() {
  const std::string merged = spec_.dir + "/merged";
  add("mount /sys", {.kind = Op::kMount,
                     .a = "sysfs",
                     .b = keep(merged + "/sys"),
                     .c = "sysfs",
                     .flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC});
  add("pivot_root", {.kind = Op::kPivot, .a = keep(merged)});
  add("mount /proc", {.kind = Op::kMount,
                      .a = "proc",
                      .b = "/proc",
                      .c = "proc",
                      .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC});
  for (const char* p : {"/proc/sys"}) {
    add(fmt::format("bind {}", p), {.kind = Op::kMount, .a = p, .b = p, .flags = MS_BIND | MS_REC});
    add(fmt::format("read-only {}", p),
        {.kind = Op::kMount,
         .b = p,
         .flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REC});
  }
  add("chdir " + spec_.workdir, {.kind = Op::kChdir, .a = keep(spec_.workdir)});
}

void Plan::add_exec() {
  for (const auto& a : spec_.argv) argv_.push_back(const_cast<char*>(keep(a)));
  argv_.push_back(nullptr);
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : spec_.env) {
    envp_.push_back(const_cast<char*>(keep(e)));
    if (e.starts_with("PATH=")) path = e.substr(5);
  }
  envp_.push_back(nullptr);
  for (size_t at = 0; at <= path.size();) {
    size_t end = path.find(':', at);
    if (end == std::string::npos) end = path.size();
    if (end > at) path_dirs_.push_back(keep(path.substr(at, end - at)));
    at = end + 1;
  }
}

std::string hosts_file(const std::string& hostname, const std::vector<std::string>& ips) {
  std::string out = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto& ip : ips) out += ip + "\t" + hostname + "\n";
  return out;
}

std::string resolv_file(const std::string& host) {
  std::string out;
  for (size_t at = 0; at < host.size();) {
    size_t end = host.find('\n', at);
    if (end == std::string::npos) end = host.size();
    std::string line = host.substr(at, end - at);
    at = end + 1;
    if (line.starts_with("nameserver") &&
        (line.find(" 127.") != std::string::npos || line.find(" ::1") != std::string::npos))
      continue;
    out += line + "\n";
  }
  return out;
}

}  // namespace cnm::launcher

// Namespaces over bind mounts of nsfs files, like `ip netns add`; netlink inside a namespace goes
// through a socket opened there on a short-lived thread (netns.h).
#include <fcntl.h>
#include <linux/if.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/netns.h"
#include "cnm/kernel/proc_stat.h"

namespace cnm::kernel {
namespace {

std::string errno_text() { return std::strerror(errno); }

// The directory `path` is in ("/" for "/x", "." for "x").
std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status mkdir_p(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i < dir.size() && dir[i] != '/') continue;
    if (mkdir(dir.substr(0, i).c_str(), 0755) != 0 && errno != EEXIST)
      return fail(Code::kFailed, "mkdir {}: {}", dir.substr(0, i), errno_text());
  }
  return {};
}

// What `ip netns add` does to /run/netns: the directory becomes a shared mount point (bound onto
// itself first if it is not a mount point yet), so a namespace mounted or unmounted in it shows up
// the same in every mount namespace holding a copy, and a stale copy keeps no namespace alive.
Status make_shared(const std::string& dir) {
  if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) return {};
  if (errno != EINVAL) return fail(Code::kFailed, "make {} shared: {}", dir, errno_text());
  if (mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0)
    return fail(Code::kFailed, "bind {} onto itself: {}", dir, errno_text());
  if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0)
    return fail(Code::kFailed, "make {} shared: {}", dir, errno_text());
  return {};
}

// lo up, in the root's group: the mark that proves the namespace is this root's (Namespaces).
Status set_lo_up(nl::Socket& sock, uint32_t mark) {
  nl::LinkPtr lo;
  if (nl::Outcome o = nl::get_link(sock, "lo", lo); !o) return std::unexpected(o.error("find lo"));
  nl::LinkPtr change(rtnl_link_alloc());
  if (!change) return std::unexpected(nl::out_of_memory().error("set lo up"));
  rtnl_link_set_flags(change.get(), IFF_UP);
  rtnl_link_set_group(change.get(), mark);
  nl::Outcome o =
      sock.call([&](nl_sock* s) { return rtnl_link_change(s, lo.get(), change.get(), 0); });
  if (!o) return std::unexpected(o.error("set lo up"));
  return {};
}

// Runs on a thread of its own that exits afterwards: a new namespace with lo up and marked, then
// bound to `path` (so no crash leaves an unmarked namespace mounted).
Status make_netns_at(const std::string& path, uint32_t mark) {
  if (unshare(CLONE_NEWNET) != 0) return fail(Code::kFailed, "unshare: {}", errno_text());
  {
    auto sock = CNM_VALUE(nl::Socket::open());
    CNM_TRY(set_lo_up(sock, mark));
  }
  // thread-self: /proc/self/ns/net is the main thread's namespace, not this thread's.
  if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0)
    return fail(Code::kFailed, "bind mount: {}", errno_text());
  return {};
}

// Whether lo inside the namespace `fd` is in group `mark`.
Result<bool> lo_marked(const Fd& fd, const std::string& path, uint32_t mark) {
  auto socks = CNM_VALUE(sockets_in(fd, path));
  nl::LinkPtr lo;
  if (nl::Outcome o = nl::get_link(socks.route, "lo", lo); !o)
    return std::unexpected(o.error(fmt::format("find lo in {}", path)));
  return rtnl_link_get_group(lo.get()) == mark;
}

class LinuxNamespaces final : public Namespaces {
 public:
  explicit LinuxNamespaces(uint32_t mark) : mark_(mark) {}
  Status create(const std::string& path) override;
  Status remove(const std::string& path) override;
  Result<NetnsId> identify(const std::string& path) override;
  Result<HeldNetns> hold(const std::string& path) override;
  Result<HeldNetns> hold_process(int pid, uint64_t start) override;
  Result<NetnsId> own() override;
  Result<std::vector<std::string>> interfaces(const std::string& path) override;

 private:
  uint32_t mark_;  // lo's group in the namespaces create() makes
};

Status LinuxNamespaces::create(const std::string& path) {
  std::string doing = fmt::format("create netns {}", path);
  if (path.empty() || path.back() == '/') return fail(Code::kInvalid, "{}: not a file path", doing);
  std::string dir = parent_of(path);
  if (auto st = mkdir_p(dir); !st) return context(doing, st.error());
  if (auto st = make_shared(dir); !st) return context(doing, st.error());
  Fd file(open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
  if (!file.valid()) {
    if (errno == EEXIST) return fail(Code::kConflict, "netns {}: already exists", path);
    return fail(Code::kFailed, "{}: {}", doing, errno_text());
  }
  file.reset();
  Status st = on_new_thread([&] { return make_netns_at(path, mark_); });
  if (st) return {};
  umount2(path.c_str(), MNT_DETACH);  // best effort: the first error is the one to report
  unlink(path.c_str());
  return context(doing, st.error());
}

Status LinuxNamespaces::remove(const std::string& path) {
  // A namespace mounted there is removed only when it carries the mark; another's is left alone.
  if (auto fd = open_netns(path); fd) {
    auto ours = CNM_VALUE(lo_marked(*fd, path, mark_));
    if (!ours) return {};
  }
  // EINVAL: not a mount point (any more); ENOENT: no such path. Both leave only the unlink.
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return fail(Code::kFailed, "remove netns {}: unmount: {}", path, errno_text());
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail(Code::kFailed, "remove netns {}: {}", path, errno_text());
  }
  // Unmounted, a namespace path is the empty file create() made; anything else is not ours.
  if (!S_ISREG(st.st_mode) || st.st_size != 0)
    return fail(Code::kInvalid, "remove netns {}: not a network namespace file", path);
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    return fail(Code::kFailed, "remove netns {}: {}", path, errno_text());
  return {};
}

Result<NetnsId> id_of(const Fd& fd, const std::string& path) {
  struct stat st {};
  if (fstat(fd.get(), &st) != 0)
    return fail(Code::kFailed, "stat network namespace {}: {}", path, errno_text());
  return NetnsId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

Result<HeldNetns> held(Fd fd, const std::string& path, uint64_t start) {
  auto id = CNM_VALUE(id_of(fd, path));
  return HeldNetns{id, start, std::make_shared<Fd>(std::move(fd))};
}

// State (field 3) and start time (field 22) of the process whose /proc directory is `dir`; false
// once it is gone.
bool read_stat(const Fd& dir, char& state, uint64_t& start) {
  Fd f(openat(dir.get(), "stat", O_RDONLY | O_CLOEXEC));
  if (!f.valid()) return false;
  char buf[1024];
  ssize_t n = read(f.get(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  return parse_proc_stat(std::string_view(buf, static_cast<size_t>(n)), state, start);
}

Result<NetnsId> LinuxNamespaces::identify(const std::string& path) {
  auto fd = CNM_VALUE(open_netns(path));
  return id_of(fd, path);
}

Result<HeldNetns> LinuxNamespaces::hold(const std::string& path) {
  auto fd = CNM_VALUE(open_netns(path));
  return held(std::move(fd), path, 0);
}

// /proc/N is opened once and everything else is read through that directory descriptor: it stays
// bound to the process it was opened for, so once that process is gone every lookup through it
// fails (ENOENT/ESRCH), even when another process has the pid by then. The start time checked and
// the namespace opened are therefore the same process's; a zombie has no namespace left to open.
Result<HeldNetns> LinuxNamespaces::hold_process(int pid, uint64_t start) {
  auto gone = [&] {
    if (start != 0)
      return fail(Code::kNotFound, "process {} (started at {}) not found", pid, start);
    return fail(Code::kNotFound, "process {} not found", pid);
  };
  if (pid <= 0) return gone();
  std::string path = fmt::format("/proc/{}", pid);
  Fd dir(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) {
    if (errno == ENOENT || errno == ESRCH) return gone();
    return fail(Code::kFailed, "open {}: {}", path, errno_text());
  }
  char state = '?';
  uint64_t started = 0;
  if (!read_stat(dir, state, started) || state == 'Z' || state == 'X' ||
      (start != 0 && started != start))
    return gone();
  Fd ns(openat(dir.get(), "ns/net", O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) {
    if (errno == ENOENT || errno == ESRCH) return gone();
    return fail(Code::kFailed, "open {}/ns/net: {}", path, errno_text());
  }
  return held(std::move(ns), path + "/ns/net", started);
}

// /proc/self is the thread group's directory: the main thread's namespace, which netctl never
// switches (namespace work runs on short-lived threads, netns.h).
Result<NetnsId> LinuxNamespaces::own() { return identify("/proc/self/ns/net"); }

Result<std::vector<std::string>> LinuxNamespaces::interfaces(const std::string& path) {
  auto fd = CNM_VALUE(open_netns(path));
  auto socks = CNM_VALUE(sockets_in(fd, path));
  nl_cache* raw = nullptr;
  nl::Outcome o =
      socks.route.call([&](nl_sock* s) { return rtnl_link_alloc_cache(s, AF_UNSPEC, &raw); });
  nl::CachePtr cache(raw);
  if (!o) return std::unexpected(o.error(fmt::format("list links in {}", path)));
  std::vector<std::pair<int, std::string>> links;
  for (nl_object* obj = nl_cache_get_first(raw); obj != nullptr; obj = nl_cache_get_next(obj)) {
    auto* link = reinterpret_cast<rtnl_link*>(obj);
    const char* name = rtnl_link_get_name(link);
    links.emplace_back(rtnl_link_get_ifindex(link), name != nullptr ? name : "");
  }
  std::sort(links.begin(), links.end());
  std::vector<std::string> out;
  for (auto& [index, name] : links) out.push_back(std::move(name));
  return out;
}

// A path that is there but holds no network namespace: the empty file of an unmounted bind mount
// (`nstype` < 0: not an nsfs file) counts as no namespace, anything else as not one at all.
std::unexpected<Error> not_a_netns(const std::string& path, const struct stat& st, int nstype) {
  if (nstype < 0 && S_ISREG(st.st_mode) && st.st_size == 0)
    return fail(Code::kNotFound, "network namespace {} not found", path);
  return fail(Code::kInvalid, "{} is not a network namespace", path);
}

// Runs on a thread that ends right after, so its namespace switch dies with it.
Result<NetnsSockets> open_sockets_in(int netns, const std::string& path) {
  if (setns(netns, CLONE_NEWNET) != 0)
    return fail(Code::kFailed, "enter network namespace {}: {}", path, errno_text());
  auto route = CNM_VALUE(nl::Socket::open());
  auto inet = CNM_VALUE(open_inet_socket());
  return NetnsSockets{std::move(route), std::move(inet)};
}

}  // namespace

Result<Fd> open_netns(const std::string& path) {
  auto missing = [&]() -> std::unexpected<Error> {
    if (errno == ENOENT || errno == ESRCH || errno == ENOTDIR)
      return fail(Code::kNotFound, "network namespace {} not found", path);
    return fail(Code::kFailed, "open network namespace {}: {}", path, errno_text());
  };
  struct stat st {};
  // stat first: opening a FIFO or a device that is not a namespace could block or have effects.
  if (stat(path.c_str(), &st) != 0) return missing();
  if (!S_ISREG(st.st_mode)) return not_a_netns(path, st, -1);
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return missing();
  if (int type = ioctl(fd.get(), NS_GET_NSTYPE); type != CLONE_NEWNET)
    return not_a_netns(path, st, type);
  return fd;
}

Result<Fd> open_inet_socket() {
  Fd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(Code::kFailed, "open an inet socket: {}", errno_text());
  return fd;
}

std::expected<int, int> ifindex_of(const Fd& inet, const std::string& name) {
  ifreq req{};
  if (name.empty() || name.size() >= sizeof req.ifr_name) return std::unexpected(ENODEV);
  name.copy(req.ifr_name, name.size());
  if (ioctl(inet.get(), SIOCGIFINDEX, &req) != 0) return std::unexpected(errno);
  return req.ifr_ifindex;
}

SocketOpener::SocketOpener(const Fd& netns, std::string path) : path_(std::move(path)) {
  try {
    thread_ = std::jthread([this, fd = netns.get()] { result_ = open_sockets_in(fd, path_); });
  } catch (const std::system_error& e) {
    result_ = fail(Code::kFailed, "start a thread: {}", e.what());
  }
}

Result<NetnsSockets> SocketOpener::get() {
  if (thread_.joinable()) thread_.join();
  if (!result_) return fail(Code::kFailed, "open sockets in {}: no result", path_);
  return std::move(*result_);
}

std::unique_ptr<Namespaces> make_linux_namespaces(uint32_t mark) {
  return std::make_unique<LinuxNamespaces>(mark);
}

}  // namespace cnm::kernel

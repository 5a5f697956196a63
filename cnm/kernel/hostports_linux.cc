#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cnm/kernel/fd.h"
#include "cnm/kernel/hostports.h"

namespace cnm::kernel {
namespace {

// The socket inode bound to `port` in /proc/net/<file>, or "".
std::string inode_of(const char* file, uint16_t port) {
  std::ifstream in(std::string("/proc/net/") + file);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
    f >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
    auto colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    if (std::stoul(local.substr(colon + 1), nullptr, 16) == port && inode != "0") return inode;
  }
  return "";
}

// "pid N (comm)" of the process with an fd on socket:[inode], or "".
std::string owner_of(const std::string& inode) {
  std::string want = "socket:[" + inode + "]";
  std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), closedir);
  if (!proc) return "";
  while (dirent* d = readdir(proc.get())) {
    if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
    std::string fds = std::string("/proc/") + d->d_name + "/fd";
    std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(fds.c_str()), closedir);
    if (!dir) continue;
    while (dirent* f = readdir(dir.get())) {
      char target[64] = {};
      auto path = fds + "/" + f->d_name;
      if (readlink(path.c_str(), target, sizeof target - 1) > 0 && want == target) {
        std::string comm;
        std::getline(std::ifstream(std::string("/proc/") + d->d_name + "/comm"), comm);
        return fmt::format("pid {} ({})", d->d_name, comm);
      }
    }
  }
  return "";
}

class LinuxHostPorts final : public HostPorts {
 public:
  Result<std::string> holder(cnm::Proto proto, const std::optional<IpAddr>& ip,
                             uint16_t port) override {
    bool v6 = ip && ip->is_v6();
    int type = proto == cnm::Proto::kUdp ? SOCK_DGRAM : SOCK_STREAM;
    int protocol = proto == cnm::Proto::kSctp ? IPPROTO_SCTP : 0;
    Fd s(socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, protocol));
    if (!s.valid()) {
      if (proto == cnm::Proto::kSctp && (errno == EPROTONOSUPPORT || errno == ESOCKTNOSUPPORT))
        return std::string();  // no SCTP in this kernel: nobody can hold the port
      if (v6 && errno == EAFNOSUPPORT)
        return fail(Code::kInvalid, "host address {}: this host has no IPv6", ip->str());
      return fail(Code::kFailed, "probe port {}/{}: {}", port, proto_name(proto),
                  std::strerror(errno));
    }
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(port);
      auto b = ip->bytes();
      std::memcpy(&a->sin6_addr, b.data(), 16);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(port);
      a->sin_addr.s_addr = ip ? htonl(static_cast<uint32_t>(ip->value())) : INADDR_ANY;
      len = sizeof *a;
    }
    if (bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0) return std::string();
    if (errno == EADDRNOTAVAIL)
      return fail(Code::kInvalid, "host address {} is not an address of this host",
                  ip ? ip->str() : "");
    if (errno != EADDRINUSE)
      return fail(Code::kFailed, "probe port {}/{}: {}", port, proto_name(proto),
                  std::strerror(errno));
    const char* files[] = {proto == cnm::Proto::kUdp ? "udp" : "tcp",
                           proto == cnm::Proto::kUdp ? "udp6" : "tcp6"};
    for (const char* file : files)
      if (auto inode = inode_of(file, port); !inode.empty())
        if (auto who = owner_of(inode); !who.empty()) return who;
    return std::string("a host process");
  }

  Result<std::pair<uint16_t, uint16_t>> ephemeral_range() override {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    unsigned lo = 0, hi = 0;
    if (!(in >> lo >> hi) || lo == 0 || hi > 65535 || lo > hi)
      return fail(Code::kFailed, "read net.ipv4.ip_local_port_range");
    return std::pair<uint16_t, uint16_t>(lo, hi);
  }
};

}  // namespace

std::unique_ptr<HostPorts> make_linux_host_ports() { return std::make_unique<LinuxHostPorts>(); }

}  // namespace cnm::kernel

#include "tests/priv/netlink_monitor.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace priv {
namespace {

// IFLA_IFNAME of one RTM_*LINK message, or "".
std::string link_name(const nlmsghdr* h) {
  const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
  int len = static_cast<int>(h->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof *ifi));
  for (const rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_IFNAME)
      return std::string(static_cast<const char*>(RTA_DATA(a)),
                         strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
  }
  return "";
}

}  // namespace

LinkMonitor::LinkMonitor() {
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd_ < 0) throw std::runtime_error(std::string("netlink socket: ") + std::strerror(errno));
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int saved = errno;
    close(fd_);
    throw std::runtime_error(std::string("bind netlink socket: ") + std::strerror(saved));
  }
}

LinkMonitor::~LinkMonitor() { close(fd_); }

std::vector<std::string> LinkMonitor::names() {
  std::vector<std::string> out;
  alignas(nlmsghdr) char buf[65536];
  ssize_t n = 0;
  while ((n = recv(fd_, buf, sizeof buf, 0)) > 0) {
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) out.push_back(link_name(h));
    }
  }
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    throw std::runtime_error(std::string("read netlink socket: ") + std::strerror(errno));
  return out;
}

}  // namespace priv

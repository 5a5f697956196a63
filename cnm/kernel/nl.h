// Private to cnm/kernel: RAII owners for libnl objects, a NETLINK_ROUTE socket that remembers the
// kernel's own errno (libnl folds it into coarser NLE_* codes), and address conversions.
#pragma once

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "cnm/model/error.h"
#include "cnm/model/net.h"

namespace cnm::kernel::nl {

// Calls a libnl release function; unique_ptr<T, Free<fn>> owns one reference.
template <auto Fn>
struct Free {
  template <class T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) Fn(p);
  }
};

using SockPtr = std::unique_ptr<nl_sock, Free<nl_socket_free>>;
using CachePtr = std::unique_ptr<nl_cache, Free<nl_cache_free>>;
using MsgPtr = std::unique_ptr<nl_msg, Free<nlmsg_free>>;
using AddrPtr = std::unique_ptr<nl_addr, Free<nl_addr_put>>;
using LinkPtr = std::unique_ptr<rtnl_link, Free<rtnl_link_put>>;
using RtAddrPtr = std::unique_ptr<rtnl_addr, Free<rtnl_addr_put>>;
using RoutePtr = std::unique_ptr<rtnl_route, Free<rtnl_route_put>>;

// The result of one libnl call.
struct Outcome {
  int nle = 0;         // 0, or the NLE_* code libnl returned (positive)
  int sys = 0;         // the errno the kernel answered with, when it refused the request
  std::string detail;  // the kernel's extended-ack message, if it sent one

  explicit operator bool() const { return nle == 0; }
  // The object named by the request does not exist (ENODEV, ENOENT, ...).
  bool missing() const;
  // "doing: cause" with Code::kConflict for EEXIST, Code::kFailed otherwise.
  Error error(std::string_view doing) const;
};

// A NETLINK_ROUTE socket, bound to the network namespace that was current when open() ran.
// Not thread-safe: one request at a time.
class Socket {
 public:
  static Result<Socket> open();

  nl_sock* get() const { return sock_.get(); }

  // Runs `fn(sock)`, a libnl call returning 0 or a negative NLE_* code.
  template <class Fn>
  Outcome call(Fn&& fn) {
    *last_ = Outcome{};
    int rc = std::forward<Fn>(fn)(sock_.get());
    Outcome out = std::move(*last_);
    out.nle = rc < 0 ? -rc : 0;
    if (out.nle == 0) out = Outcome{};
    return out;
  }

  // Sends a hand-built request and waits for the kernel's acknowledgement.
  Outcome send(nl_msg* msg);

 private:
  static int on_error(sockaddr_nl* who, nlmsgerr* err, void* arg);

  SockPtr sock_;
  // Heap-allocated so the error callback's pointer survives moves of the Socket.
  std::unique_ptr<Outcome> last_ = std::make_unique<Outcome>();
};

// The Outcome of an allocation that failed.
Outcome out_of_memory();

// Link `name` in the socket's namespace into `out`; missing() if there is none.
Outcome get_link(Socket& sock, const std::string& name, LinkPtr& out);

// Sets IPv6 address generation of `link` to "none": it gets no link-local address, so it sends no
// router solicitations or MLD reports (which a bridge floods to every port) and adds no route.
// A link without IPv6 (a kernel booted with ipv6.disable=1, an MTU below 1280) has nothing to turn
// off: the kernel's EAFNOSUPPORT is success.
Outcome no_link_local(Socket& sock, rtnl_link* link);

// Adds address/len to link `ifindex` (NLM_F_EXCL): IPv4 with its broadcast address, IPv6 without
// duplicate address detection so the address works at once.
Outcome add_address(Socket& sock, int ifindex, const Prefix& p);
// Removes address/len from link `ifindex`; one that is not there counts as removed.
Outcome remove_address(Socket& sock, int ifindex, const Prefix& p);

// What the kernel reports about a link's state: its RFC 2863 operational state (IF_OPER_*) and, for
// a bridge port, its STP port state (BR_STATE_*); -1 where the kernel reports none.
struct LinkState {
  int operstate = -1;
  int port_state = -1;
  // A bridge port the bridge drops frames from (BR_STATE_DISABLED: no carrier seen yet).
  bool port_disabled() const;
};

// The LinkState of link `name` in the socket's namespace.
Outcome get_link_state(Socket& sock, const std::string& name, LinkState& out);

// Conversions between libnl addresses and cnm's. An nl_addr of another family is an error.
Result<IpAddr> to_ip(const nl_addr* a);
AddrPtr to_nl(const IpAddr& a, int prefixlen);

}  // namespace cnm::kernel::nl

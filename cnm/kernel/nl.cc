#include "cnm/kernel/nl.h"

#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/route/link/inet6.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace cnm::kernel::nl {

bool Outcome::missing() const {
  if (sys != 0) return sys == ENODEV || sys == ENOENT || sys == ESRCH || sys == EADDRNOTAVAIL;
  return nle == NLE_OBJ_NOTFOUND || nle == NLE_NODEV;
}

Error Outcome::error(std::string_view doing) const {
  std::string cause = sys != 0 ? std::strerror(sys) : nl_geterror(nle);
  if (!detail.empty()) cause = fmt::format("{} ({})", cause, detail);
  bool conflict = sys != 0 ? sys == EEXIST : nle == NLE_EXIST;
  return Error{conflict ? Code::kConflict : Code::kFailed, fmt::format("{}: {}", doing, cause)};
}

Result<Socket> Socket::open() {
  Socket s;
  s.sock_.reset(nl_socket_alloc());
  if (!s.sock_) return fail(Code::kFailed, "open netlink socket: {}", std::strerror(ENOMEM));
  if (int rc = nl_connect(s.sock_.get(), NETLINK_ROUTE); rc < 0)
    return fail(Code::kFailed, "open netlink socket: {}", nl_geterror(rc));
  // Best effort: the kernel's extended ack turns "Invalid argument" into something actionable;
  // CAP_ACK keeps it from echoing our whole request back in every error.
  int one = 1;
  int fd = nl_socket_get_fd(s.sock_.get());
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  nl_socket_modify_err_cb(s.sock_.get(), NL_CB_CUSTOM, &Socket::on_error, s.last_.get());
  return s;
}

// Records the kernel's errno and extended-ack message, then lets libnl fail the call as usual.
int Socket::on_error(sockaddr_nl*, nlmsgerr* err, void* arg) {
  auto* out = static_cast<Outcome*>(arg);
  out->sys = -err->error;
  // libnl hands us the payload of an NLMSG_ERROR message; its header sits right before it.
  const auto* hdr =
      reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(err) - NLMSG_HDRLEN);
  if ((hdr->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return NL_STOP;
  size_t payload = sizeof(nlmsgerr);
  if ((hdr->nlmsg_flags & NLM_F_CAPPED) == 0) payload += err->msg.nlmsg_len - NLMSG_HDRLEN;
  size_t start = NLMSG_HDRLEN + NLMSG_ALIGN(payload);
  if (hdr->nlmsg_len <= start) return NL_STOP;
  const auto* attrs = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(hdr) + start);
  nlattr* msg = nla_find(attrs, static_cast<int>(hdr->nlmsg_len - start), NLMSGERR_ATTR_MSG);
  if (msg != nullptr && nla_len(msg) > 0)
    out->detail.assign(static_cast<const char*>(nla_data(msg)),
                       strnlen(static_cast<const char*>(nla_data(msg)), nla_len(msg)));
  return NL_STOP;
}

Outcome Socket::send(nl_msg* msg) {
  return call([msg](nl_sock* s) {
    int rc = nl_send_auto(s, msg);
    return rc < 0 ? rc : nl_wait_for_ack(s);
  });
}

Outcome out_of_memory() { return Outcome{NLE_NOMEM, ENOMEM, ""}; }

Outcome get_link(Socket& sock, const std::string& name, LinkPtr& out) {
  rtnl_link* raw = nullptr;
  Outcome o = sock.call([&](nl_sock* s) { return rtnl_link_get_kernel(s, 0, name.c_str(), &raw); });
  out.reset(raw);
  return o;
}

Outcome no_link_local(Socket& sock, rtnl_link* link) {
  LinkPtr change(rtnl_link_alloc());
  if (!change) return out_of_memory();
  if (int rc = rtnl_link_inet6_set_addr_gen_mode(change.get(), IN6_ADDR_GEN_MODE_NONE); rc < 0)
    return Outcome{-rc, 0, ""};
  Outcome o = sock.call([&](nl_sock* s) { return rtnl_link_change(s, link, change.get(), 0); });
  if (!o && (o.sys == EAFNOSUPPORT || o.nle == NLE_AF_NOSUPPORT)) return Outcome{};
  return o;
}

Outcome add_address(Socket& sock, int ifindex, const Prefix& p) {
  RtAddrPtr addr(rtnl_addr_alloc());
  AddrPtr local = to_nl(p.addr(), p.len());
  if (!addr || !local) return out_of_memory();
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  if (int rc = rtnl_addr_set_local(addr.get(), local.get()); rc < 0) return Outcome{-rc, 0, ""};
  if (!p.is_v6() && p.len() < 31) {
    AddrPtr brd = to_nl(p.last(), 32);
    if (!brd) return out_of_memory();
    rtnl_addr_set_broadcast(addr.get(), brd.get());
  }
  if (p.is_v6()) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  return sock.call([&](nl_sock* s) { return rtnl_addr_add(s, addr.get(), NLM_F_EXCL); });
}

Outcome remove_address(Socket& sock, int ifindex, const Prefix& p) {
  RtAddrPtr addr(rtnl_addr_alloc());
  AddrPtr local = to_nl(p.addr(), p.len());
  if (!addr || !local) return out_of_memory();
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  if (int rc = rtnl_addr_set_local(addr.get(), local.get()); rc < 0) return Outcome{-rc, 0, ""};
  Outcome o = sock.call([&](nl_sock* s) { return rtnl_addr_delete(s, addr.get(), 0); });
  return o.missing() ? Outcome{} : o;  // missing() counts EADDRNOTAVAIL
}

namespace {

// NL_CB_VALID for get_link_state: IFLA_OPERSTATE and IFLA_LINKINFO/INFO_SLAVE_DATA/BRPORT_STATE.
int parse_link_state(nl_msg* msg, void* arg) {
  auto* out = static_cast<LinkState*>(arg);
  nlmsghdr* hdr = nlmsg_hdr(msg);
  nlattr* tb[IFLA_MAX + 1];
  if (hdr->nlmsg_type != RTM_NEWLINK || nlmsg_parse(hdr, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr))
    return NL_SKIP;
  if (tb[IFLA_OPERSTATE] != nullptr) out->operstate = nla_get_u8(tb[IFLA_OPERSTATE]);
  nlattr* info[IFLA_INFO_MAX + 1];
  if (tb[IFLA_LINKINFO] == nullptr ||
      nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) < 0 ||
      info[IFLA_INFO_SLAVE_DATA] == nullptr)
    return NL_OK;
  nlattr* port[IFLA_BRPORT_MAX + 1];
  if (nla_parse_nested(port, IFLA_BRPORT_MAX, info[IFLA_INFO_SLAVE_DATA], nullptr) == 0 &&
      port[IFLA_BRPORT_STATE] != nullptr)
    out->port_state = nla_get_u8(port[IFLA_BRPORT_STATE]);
  return NL_OK;
}

}  // namespace

bool LinkState::port_disabled() const { return port_state == BR_STATE_DISABLED; }

Outcome get_link_state(Socket& sock, const std::string& name, LinkState& out) {
  out = LinkState{};
  MsgPtr msg(nlmsg_alloc_simple(RTM_GETLINK, 0));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  if (!msg || nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
      nla_put_string(msg.get(), IFLA_IFNAME, name.c_str()) < 0 ||
      nla_put_u32(msg.get(), IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
    return out_of_memory();
  return sock.call([&](nl_sock* s) {
    nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_CUSTOM, &parse_link_state, &out);
    int rc = nl_send_auto(s, msg.get());
    // The kernel answers with two datagrams: the link (or an error), then the acknowledgement. Both
    // must be read, or the next request on this socket would read this one's ack.
    if (rc >= 0) rc = nl_recvmsgs_default(s);
    nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);
    if (rc >= 0) rc = nl_wait_for_ack(s);
    return rc < 0 ? rc : 0;
  });
}

Result<IpAddr> to_ip(const nl_addr* a) {
  int family = nl_addr_get_family(a);
  unsigned len = nl_addr_get_len(a);
  bool v6 = family == AF_INET6;
  if ((family != AF_INET || len != 4) && (!v6 || len != 16))
    return fail(Code::kFailed, "unexpected address family {} (length {})", family, len);
  const auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(a));
  u128 value = 0;
  for (unsigned i = 0; i < len; ++i) value = (value << 8) | bytes[i];
  return IpAddr::from_value(v6, value);
}

AddrPtr to_nl(const IpAddr& a, int prefixlen) {
  auto bytes = a.bytes();
  AddrPtr out(nl_addr_build(a.is_v6() ? AF_INET6 : AF_INET, bytes.data(), a.is_v6() ? 16 : 4));
  if (out) nl_addr_set_prefixlen(out.get(), prefixlen);
  return out;
}

}  // namespace cnm::kernel::nl

// Endpoints over libnl-route-3. One RTM_NEWLINK creates the veth pair with its peer already inside
// the target namespace (IFLA_NET_NS_FD in the peer's attributes: 0.47 ms, against 17 ms for create
// then move); everything inside goes through a socket opened there on a short-lived thread, which
// runs while the pair is being created. The gratuitous ARP is sent on demand once the bridge port
// forwards: the one the kernel sends when the peer comes up races with the port's enabling.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <net/ethernet.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/netns.h"

namespace cnm::kernel {
namespace {

using nl::Outcome;

// IFNAMSIZ includes the terminating NUL; libnl silently truncates longer names.
bool fits(const std::string& name) { return !name.empty() && name.size() < IFNAMSIZ; }

// "02:42:0a:58:00:02" as a link-layer address; "" is none (the kernel picks a random one).
Result<nl::AddrPtr> parse_mac(const std::string& mac) {
  if (mac.empty()) return nl::AddrPtr();
  bool ok = mac.size() == 17;
  for (size_t i = 0; ok && i < mac.size(); ++i)
    ok = i % 3 == 2 ? mac[i] == ':' : std::isxdigit(static_cast<unsigned char>(mac[i])) != 0;
  nl_addr* raw = nullptr;
  if (!ok || nl_addr_parse(mac.c_str(), AF_LLC, &raw) < 0)
    return fail(Code::kInvalid, "invalid MAC address '{}'", mac);
  return nl::AddrPtr(raw);
}

Status check(const EndpointSpec& spec) {
  for (const std::string* name : {&spec.host_ifname, &spec.ifname, &spec.bridge}) {
    if (!fits(*name))
      return fail(Code::kInvalid, "interface name '{}' must be 1 to 15 characters", *name);
  }
  return {};
}

// The namespace opened at spec.netns_path must still be the one resolved for it (spec.netns_key):
// a process that exited since and whose pid another process took leads elsewhere.
Status same_netns(const Fd& netns, const EndpointSpec& spec) {
  if (spec.netns_key.empty()) return {};
  struct stat st {};
  if (fstat(netns.get(), &st) != 0)
    return fail(Code::kFailed, "stat network namespace {}: {}", spec.netns_path,
                std::strerror(errno));
  if (fmt::format("{}:{}", st.st_dev, st.st_ino) != spec.netns_key)
    return fail(Code::kNotFound, "network namespace {} is gone (another one is at that path now)",
                spec.netns_path);
  return {};
}

// RTM_NEWLINK on `orig` (looked up in the socket's namespace) with the attributes of `change`.
Outcome change_link(nl::Socket& sock, rtnl_link* orig, rtnl_link* change) {
  return sock.call([&](nl_sock* s) { return rtnl_link_change(s, orig, change, 0); });
}

// With arp_notify the kernel sends a gratuitous ARP for every address on NETDEV_UP and
// NETDEV_CHANGEADDR (announce() below), and again whenever the link is reconfigured later.
Outcome set_arp_notify(nl::Socket& sock, rtnl_link* link) {
  nl::LinkPtr change(rtnl_link_alloc());
  if (!change) return nl::out_of_memory();
  if (int rc = rtnl_link_inet_set_conf(change.get(), IPV4_DEVCONF_ARP_NOTIFY, 1); rc < 0)
    return Outcome{-rc, 0, ""};
  return change_link(sock, link, change.get());
}

Outcome set_up(nl::Socket& sock, rtnl_link* link) {
  nl::LinkPtr change(rtnl_link_alloc());
  if (!change) return nl::out_of_memory();
  rtnl_link_set_flags(change.get(), IFF_UP);
  return change_link(sock, link, change.get());
}

// A link object that names link `index` in a change request.
nl::LinkPtr link_at(int index) {
  nl::LinkPtr link(rtnl_link_alloc());
  if (link) rtnl_link_set_ifindex(link.get(), index);
  return link;
}

// A default route in the main table via `gw` out of link `ifindex`, like `ip route add default
// via GW dev IF`.
Outcome add_default_route(nl::Socket& sock, int ifindex, const IpAddr& gw) {
  nl::RoutePtr route(rtnl_route_alloc());
  nl::AddrPtr dst = nl::to_nl(IpAddr::from_value(gw.is_v6(), 0), 0);
  nl::AddrPtr via = nl::to_nl(gw, gw.bits());
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!route || !dst || !via || nh == nullptr) {
    if (nh != nullptr) rtnl_route_nh_free(nh);
    return nl::out_of_memory();
  }
  rtnl_route_set_family(route.get(), gw.is_v6() ? AF_INET6 : AF_INET);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_protocol(route.get(), RTPROT_BOOT);
  if (int rc = rtnl_route_set_dst(route.get(), dst.get()); rc < 0) {
    rtnl_route_nh_free(nh);
    return Outcome{-rc, 0, ""};
  }
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_nh_set_gateway(nh, via.get());
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns it from here
  return sock.call([&](nl_sock* s) { return rtnl_route_add(s, route.get(), NLM_F_EXCL); });
}

// Setting the MAC a link already has is a no-op except for NETDEV_CHANGEADDR, on which the kernel
// sends a gratuitous ARP for every address when arp_notify is on: an announcement on demand.
Outcome announce(nl::Socket& sock, const Fd& inet, const std::string& ifname, rtnl_link* link) {
  ifreq req{};
  ifname.copy(req.ifr_name, sizeof req.ifr_name - 1);
  if (ioctl(inet.get(), SIOCGIFHWADDR, &req) != 0) return Outcome{NLE_FAILURE, errno, ""};
  nl::AddrPtr mac(nl_addr_build(AF_LLC, req.ifr_hwaddr.sa_data, ETH_ALEN));
  nl::LinkPtr change(rtnl_link_alloc());
  if (!mac || !change) return nl::out_of_memory();
  rtnl_link_set_addr(change.get(), mac.get());
  return change_link(sock, link, change.get());
}

// Writes "1" to /proc/sys/net/ipv6/conf/<ifname>/<knob> of the current namespace. A kernel
// without IPv6, or a link without it (MTU below 1280), has no such directory: nothing to switch.
Status ipv6_conf_on(const std::string& ifname, const char* knob) {
  auto dir = fmt::format("/proc/sys/net/ipv6/conf/{}", ifname);
  auto key = fmt::format("{}/{}", dir, knob);
  Fd fd(open(key.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() && errno == ENOENT && access(dir.c_str(), F_OK) != 0) return {};
  if (!fd.valid() || write(fd.get(), "1", 1) != 1)
    return fail(Code::kFailed, "set {}: {}", key, std::strerror(errno));
  return {};
}

// ndisc_notify, IPv6's arp_notify, has no netlink knob: it is written under /proc/sys from a
// short-lived thread inside the namespace. With it, the announcement below also sends unsolicited
// neighbour advertisements for the IPv6 addresses. Per device, so it dies with the endpoint.
Status set_ndisc_notify(const Fd& netns, const EndpointSpec& spec) {
  return on_new_thread([&]() -> Status {
    if (setns(netns.get(), CLONE_NEWNET) != 0)
      return fail(Code::kFailed, "enter network namespace {}: {}", spec.netns_path,
                  std::strerror(errno));
    return ipv6_conf_on(spec.ifname, "ndisc_notify");
  });
}

// On an IPv4-only network the peer gets no IPv6 link-local address (address generation "none",
// set before it comes up), so it sends no DAD, MLD or router solicitations, which the bridge would
// flood to every other port. (Not disable_ipv6 under /proc/sys: every namespace has an "eth0",
// and the kernel's lookup of /proc/sys/net/ipv6/conf/eth0 compares each one's entry: a cost that
// grows with the number of sandboxes.)

// Hairpin mode on the host end's bridge port: a frame may leave by the port it came in on, which a
// container reaching its own published port through the host's address needs (br_netfilter DNATs
// it on the bridge and sends it back out of the same port). RTM_SETLINK, AF_BRIDGE,
// IFLA_PROTINFO { IFLA_BRPORT_MODE = 1 }, built by hand: libnl has no setter for a port's mode.
Outcome set_hairpin(nl::Socket& sock, int ifindex) {
  nl::MsgPtr msg(nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK));
  if (!msg) return nl::out_of_memory();
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = ifindex;
  nlattr* info = nullptr;
  if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
      (info = nla_nest_start(msg.get(), IFLA_PROTINFO | NLA_F_NESTED)) == nullptr ||
      nla_put_u8(msg.get(), IFLA_BRPORT_MODE, 1) < 0 || nla_nest_end(msg.get(), info) < 0)
    return nl::out_of_memory();
  return sock.send(msg.get());
}

// First step inside: the peer up, which gives both ends carrier. Announcing now would be too early:
// the bridge enables the host end's port only once the kernel's linkwatch has seen that carrier.
Result<int> peer_up(NetnsSockets& inside, const EndpointSpec& spec, bool v6) {
  const std::string in = fmt::format("{} in {}", spec.ifname, spec.netns_path);
  auto index = ifindex_of(inside.inet, spec.ifname);
  if (!index) return fail(Code::kFailed, "find {}: {}", in, std::strerror(index.error()));
  nl::LinkPtr peer = link_at(*index);
  if (!peer) return std::unexpected(nl::out_of_memory().error("set up " + in));
  if (!v6)
    if (Outcome o = nl::no_link_local(inside.route, peer.get()); !o)
      return std::unexpected(o.error("turn off IPv6 address generation on " + in));
  if (Outcome o = set_up(inside.route, peer.get()); !o)
    return std::unexpected(o.error("set up " + in));
  return *index;
}

// Then, with the port forwarding: arp_notify, the addresses (IPv6 without DAD), the announcement
// (neighbours drop a stale entry for a reused IP at once instead of after their timeout), and the
// default routes. Without spec.announce neither arp_notify nor the announcement: the broadcast
// reaches every port of the bridge, and its cost grows with them.
Status configure_peer(NetnsSockets& inside, const EndpointSpec& spec, int index) {
  const std::string in = fmt::format("{} in {}", spec.ifname, spec.netns_path);
  nl::Socket& inner = inside.route;
  nl::LinkPtr peer = link_at(index);
  if (!peer) return std::unexpected(nl::out_of_memory().error("configure " + in));
  if (spec.announce)
    if (Outcome o = set_arp_notify(inner, peer.get()); !o)
      return std::unexpected(o.error("set arp_notify on " + in));
  for (const Prefix& p : spec.addresses) {
    if (Outcome o = nl::add_address(inner, index, p); !o)
      return std::unexpected(o.error(fmt::format("add address {} to {}", p.str(), in)));
  }
  if (spec.announce)
    if (Outcome o = announce(inner, inside.inet, spec.ifname, peer.get()); !o)
      return std::unexpected(o.error("announce the addresses of " + in));
  for (const IpAddr& gw : spec.gateways) {
    if (Outcome o = add_default_route(inner, index, gw); !o)
      return std::unexpected(o.error(fmt::format("add default route via {} dev {}", gw.str(), in)));
  }
  return {};
}

class LinuxEndpoints final : public Endpoints {
 public:
  LinuxEndpoints(Result<nl::Socket> host, Result<Fd> inet, uint32_t mark)
      : host_(std::move(host)), inet_(std::move(inet)), mark_(mark) {}

  Status attach(const EndpointSpec& spec) override;
  Status add_default_routes(const std::string& netns_path, const std::string& ifname,
                            std::span<const IpAddr> gateways) override;
  Result<std::vector<DefaultRouteView>> default_routes(const std::string& netns_path,
                                                       const std::string& netns_key) override {
    return view_default_routes(netns_path, netns_key);
  }

 private:
  Result<int> bridge_index(const std::string& bridge);
  Status create_pair(const EndpointSpec& spec, const Fd& netns, int master, nl_addr* mac);
  Status plumb(NetnsSockets& inside, const Fd& netns, const EndpointSpec& spec);
  void await_port(const std::string& host_ifname);
  std::unexpected<Error> exists(const EndpointSpec& spec, const Outcome& made);
  void delete_pair(const std::string& host_ifname);

  // In the namespace make_linux_endpoints() ran in; the error, if they could not be opened.
  Result<nl::Socket> host_;
  Result<Fd> inet_;
  uint32_t mark_;  // the host end's group: owner_group() of the state root
};

Status LinuxEndpoints::attach(const EndpointSpec& spec) {
  if (!host_) return std::unexpected(host_.error());
  if (!inet_) return std::unexpected(inet_.error());
  CNM_TRY(check(spec));
  auto mac = CNM_VALUE(parse_mac(spec.mac));
  auto netns = CNM_VALUE(open_netns(spec.netns_path));
  CNM_TRY(same_netns(netns, spec));
  SocketOpener inner(netns, spec.netns_path);  // meanwhile, on a thread of its own
  auto master = CNM_VALUE(bridge_index(spec.bridge));
  CNM_TRY(create_pair(spec, netns, master, mac.get()));
  // A bridge port needs no IPv6 of its own: without it the host end adds no link-local address
  // and routes, so the host's IPv6 routing table does not grow with every endpoint (the kernel
  // walks that table whenever a link goes up or down). No carrier yet, so nothing was configured.
  if (Status st = ipv6_conf_on(spec.host_ifname, "disable_ipv6"); !st) {
    delete_pair(spec.host_ifname);
    return st;
  }
  if (spec.hairpin) {
    auto index = ifindex_of(*inet_, spec.host_ifname);
    Outcome o = index ? set_hairpin(*host_, *index) : Outcome{NLE_FAILURE, index.error(), ""};
    if (!o) {
      delete_pair(spec.host_ifname);
      return std::unexpected(o.error("set hairpin mode on " + spec.host_ifname));
    }
  }
  auto inside = inner.get();
  Status st = inside ? plumb(*inside, netns, spec) : Status(std::unexpected(inside.error()));
  if (!st) delete_pair(spec.host_ifname);
  return st;
}

Status LinuxEndpoints::plumb(NetnsSockets& inside, const Fd& netns, const EndpointSpec& spec) {
  bool v6 = false;
  for (const Prefix& p : spec.addresses) v6 |= p.is_v6();
  auto index = CNM_VALUE(peer_up(inside, spec, v6));
  if (v6) CNM_TRY(set_ndisc_notify(netns, spec));
  await_port(spec.host_ifname);
  return configure_peer(inside, spec, index);
}

// The bridge enables a port asynchronously (linkwatch) once it has carrier, and drops what arrives
// before. Recent kernels sync linkwatch on RTM_GETLINK, so the first answer is usually final; older
// ones may need a few polls. Best effort: after the deadline the announcement may be lost, nothing
// worse. A port in an STP state other than disabled is as ready as it gets.
void LinuxEndpoints::await_port(const std::string& host_ifname) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  for (;;) {
    nl::LinkState st;
    if (!nl::get_link_state(*host_, host_ifname, st) || !st.port_disabled() ||
        std::chrono::steady_clock::now() > deadline)
      return;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

Status LinuxEndpoints::add_default_routes(const std::string& netns_path, const std::string& ifname,
                                          std::span<const IpAddr> gateways) {
  auto netns = CNM_VALUE(open_netns(netns_path));
  auto inside = CNM_VALUE(sockets_in(netns, netns_path));
  auto index = ifindex_of(inside.inet, ifname);
  if (!index)
    return fail(index.error() == ENODEV ? Code::kNotFound : Code::kFailed, "find {} in {}: {}",
                ifname, netns_path, std::strerror(index.error()));
  for (const IpAddr& gw : gateways) {
    Outcome o = add_default_route(inside.route, *index, gw);
    bool there = o.sys == EEXIST || (o.sys == 0 && o.nle == NLE_EXIST);
    if (!o && !there)
      return std::unexpected(o.error(
          fmt::format("add default route via {} dev {} in {}", gw.str(), ifname, netns_path)));
  }
  return {};
}

Result<int> LinuxEndpoints::bridge_index(const std::string& bridge) {
  auto index = ifindex_of(*inet_, bridge);
  if (!index)
    return fail(Code::kFailed, "look up bridge {}: {}", bridge, std::strerror(index.error()));
  return *index;
}

Status LinuxEndpoints::create_pair(const EndpointSpec& spec, const Fd& netns, int master,
                                   nl_addr* mac) {
  std::string doing = fmt::format("create veth {}", spec.host_ifname);
  nl::LinkPtr link(rtnl_link_veth_alloc());
  if (!link) return std::unexpected(nl::out_of_memory().error(doing));
  nl::LinkPtr peer(rtnl_link_veth_get_peer(link.get()));
  rtnl_link_set_name(link.get(), spec.host_ifname.c_str());
  rtnl_link_set_group(link.get(), mark_);  // in the creating request: never unmarked
  rtnl_link_set_master(link.get(), master);
  rtnl_link_set_flags(link.get(), IFF_UP);  // no carrier until the peer is up
  rtnl_link_set_name(peer.get(), spec.ifname.c_str());
  if (mac != nullptr) rtnl_link_set_addr(peer.get(), mac);
  // One queue each way on both ends, asked for up front. Left unset, the kernel gives a veth one
  // queue per CPU and then, with the device already registered, cuts it to one: that waits for an
  // expedited RCU grace period (an IPI to every CPU) per end, ~0.09 ms of every attach here.
  for (rtnl_link* end : {link.get(), peer.get()}) {
    rtnl_link_set_num_tx_queues(end, 1);
    rtnl_link_set_num_rx_queues(end, 1);
  }
  if (spec.mtu != 0) {
    rtnl_link_set_mtu(link.get(), spec.mtu);
    rtnl_link_set_mtu(peer.get(), spec.mtu);
  }
  // The kernel creates the peer in that namespace: it never exists in ours.
  rtnl_link_set_ns_fd(peer.get(), netns.get());
  Outcome made = host_->call(
      [&](nl_sock* s) { return rtnl_link_add(s, link.get(), NLM_F_CREATE | NLM_F_EXCL); });
  if (made) return {};
  if (made.sys == EEXIST || (made.sys == 0 && made.nle == NLE_EXIST)) return exists(spec, made);
  return std::unexpected(made.error(doing));
}

// The kernel says EEXIST for either name: the host end's here, or the peer's in the namespace.
std::unexpected<Error> LinuxEndpoints::exists(const EndpointSpec& spec, const Outcome& made) {
  if (auto index = ifindex_of(*inet_, spec.host_ifname); !index && index.error() == ENODEV)
    return fail(Code::kConflict, "interface {} already exists in {}", spec.ifname, spec.netns_path);
  return std::unexpected(made.error(fmt::format("create veth {}", spec.host_ifname)));
}

// Deleting either end deletes the pair.
void LinuxEndpoints::delete_pair(const std::string& host_ifname) {
  nl::LinkPtr link(rtnl_link_alloc());
  if (!link) return;
  rtnl_link_set_name(link.get(), host_ifname.c_str());
  host_->call([&](nl_sock* s) { return rtnl_link_delete(s, link.get()); });
}

}  // namespace

std::unique_ptr<Endpoints> make_linux_endpoints(uint32_t mark) {
  return std::make_unique<LinuxEndpoints>(nl::Socket::open(), open_inet_socket(), mark);
}

}  // namespace cnm::kernel

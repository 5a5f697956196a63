// view_interface over libnl, through sockets opened inside the namespace (netns.h), so the calling
// thread never switches namespace.
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/rtnl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "cnm/kernel/netns.h"
#include "cnm/kernel/netns_view.h"
#include "cnm/kernel/nl.h"

namespace cnm::kernel {
namespace {

std::string mac_of(rtnl_link* link) {
  nl_addr* a = rtnl_link_get_addr(link);
  if (a == nullptr || nl_addr_get_len(a) != 6) return "";
  const auto* b = static_cast<const uint8_t*>(nl_addr_get_binary_addr(a));
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4],
                     b[5]);
}

Status read_addresses(nl::Socket& sock, int index, IfaceView& out, const std::string& where) {
  nl_cache* raw = nullptr;
  nl::Outcome o = sock.call([&](nl_sock* s) { return rtnl_addr_alloc_cache(s, &raw); });
  nl::CachePtr cache(raw);
  if (!o) return std::unexpected(o.error(fmt::format("list addresses in {}", where)));
  for (nl_object* obj = nl_cache_get_first(raw); obj != nullptr; obj = nl_cache_get_next(obj)) {
    auto* a = reinterpret_cast<rtnl_addr*>(obj);
    if (rtnl_addr_get_ifindex(a) != index || rtnl_addr_get_local(a) == nullptr) continue;
    auto ip = nl::to_ip(rtnl_addr_get_local(a));
    if (!ip || (ip->is_v6() && ip->bytes()[0] == 0xfe && (ip->bytes()[1] & 0xc0) == 0x80))
      continue;  // link-local IPv6 is the kernel's, not ours
    out.addresses.emplace_back(*ip, rtnl_addr_get_prefixlen(a));
  }
  return {};
}

Status read_gateways(nl::Socket& sock, int index, IfaceView& out, const std::string& where) {
  nl_cache* raw = nullptr;
  nl::Outcome o =
      sock.call([&](nl_sock* s) { return rtnl_route_alloc_cache(s, AF_UNSPEC, 0, &raw); });
  nl::CachePtr cache(raw);
  if (!o) return std::unexpected(o.error(fmt::format("list routes in {}", where)));
  for (nl_object* obj = nl_cache_get_first(raw); obj != nullptr; obj = nl_cache_get_next(obj)) {
    auto* r = reinterpret_cast<rtnl_route*>(obj);
    nl_addr* dst = rtnl_route_get_dst(r);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN || dst == nullptr || nl_addr_get_prefixlen(dst))
      continue;
    if (rtnl_route_get_nnexthops(r) < 1) continue;
    rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
    if (rtnl_route_nh_get_ifindex(nh) != index || rtnl_route_nh_get_gateway(nh) == nullptr)
      continue;
    if (auto gw = nl::to_ip(rtnl_route_nh_get_gateway(nh))) out.gateways.push_back(*gw);
  }
  return {};
}

// The name of link `index` in the namespace of `inet`; "" if it has none (gone meanwhile).
std::string name_of(const Fd& inet, int index) {
  ifreq req{};
  req.ifr_ifindex = index;
  if (ioctl(inet.get(), SIOCGIFNAME, &req) != 0) return "";
  return std::string(req.ifr_name, strnlen(req.ifr_name, sizeof req.ifr_name));
}

DefaultRouteView describe_route(rtnl_route* r, const Fd& inet) {
  DefaultRouteView v;
  v.v6 = rtnl_route_get_family(r) == AF_INET6;
  char type[32];
  v.type = nl_rtntype2str(rtnl_route_get_type(r), type, sizeof type);
  if (rtnl_route_get_nnexthops(r) < 1) return v;
  rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
  if (int index = rtnl_route_nh_get_ifindex(nh); index > 0) v.ifname = name_of(inet, index);
  if (nl_addr* gw = rtnl_route_nh_get_gateway(nh); gw != nullptr)
    if (auto ip = nl::to_ip(gw)) v.via = *ip;
  return v;
}

}  // namespace

Result<std::vector<DefaultRouteView>> view_default_routes(const std::string& netns_path,
                                                          const std::string& netns_key) {
  auto fd = CNM_VALUE(open_netns(netns_path));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0)
    return fail(Code::kFailed, "stat network namespace {}: {}", netns_path, std::strerror(errno));
  if (!netns_key.empty() && fmt::format("{}:{}", st.st_dev, st.st_ino) != netns_key)
    return fail(Code::kNotFound, "network namespace {} is gone (another one is at that path now)",
                netns_path);
  auto socks = CNM_VALUE(sockets_in(fd, netns_path));
  nl_cache* raw = nullptr;
  nl::Outcome o =
      socks.route.call([&](nl_sock* s) { return rtnl_route_alloc_cache(s, AF_UNSPEC, 0, &raw); });
  nl::CachePtr cache(raw);
  if (!o) return std::unexpected(o.error(fmt::format("list routes in {}", netns_path)));
  std::vector<DefaultRouteView> out;
  for (nl_object* obj = nl_cache_get_first(raw); obj != nullptr; obj = nl_cache_get_next(obj)) {
    auto* r = reinterpret_cast<rtnl_route*>(obj);
    nl_addr* dst = rtnl_route_get_dst(r);
    int family = rtnl_route_get_family(r);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN || (family != AF_INET && family != AF_INET6) ||
        (dst != nullptr && nl_addr_get_prefixlen(dst) != 0))
      continue;
    out.push_back(describe_route(r, socks.inet));
  }
  return out;
}

Result<IfaceView> view_interface(const std::string& netns_path, const std::string& ifname) {
  auto fd = CNM_VALUE(open_netns(netns_path));
  auto socks = CNM_VALUE(sockets_in(fd, netns_path));
  nl::LinkPtr link;
  nl::Outcome o = nl::get_link(socks.route, ifname, link);
  if (o.missing() || (o && !link))
    return fail(Code::kNotFound, "interface {} not found in {}", ifname, netns_path);
  if (!o) return std::unexpected(o.error(fmt::format("get link {} in {}", ifname, netns_path)));
  IfaceView v;
  v.name = ifname;
  v.mac = mac_of(link.get());
  v.mtu = rtnl_link_get_mtu(link.get());
  v.up = (rtnl_link_get_flags(link.get()) & IFF_UP) != 0;
  int index = rtnl_link_get_ifindex(link.get());
  CNM_TRY(read_addresses(socks.route, index, v, netns_path));
  CNM_TRY(read_gateways(socks.route, index, v, netns_path));
  return v;
}

}  // namespace cnm::kernel

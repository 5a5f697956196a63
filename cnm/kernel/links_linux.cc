// Links over libnl-route-3. Every request goes through one NETLINK_ROUTE socket opened in the
// namespace that was current when make_linux_links() ran.
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <random>
#include <set>

#include "cnm/kernel/ambient.h"
#include "cnm/kernel/links.h"
#include "cnm/kernel/nl.h"

namespace cnm::kernel {
namespace {

using nl::Outcome;

// A random locally administered unicast MAC, outside 02:42:* (the containers' derived MACs).
void random_mac(uint8_t (&mac)[ETH_ALEN]) {
  std::random_device rd;
  for (auto& b : mac) b = static_cast<uint8_t>(rd());
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfe) | 0x02);
  if (mac[0] == 0x02 && mac[1] == 0x42) mac[1] = 0x43;
}

// IFNAMSIZ includes the terminating NUL; libnl silently truncates longer names.
bool fits(const std::string& name) { return !name.empty() && name.size() < IFNAMSIZ; }

// An RTM_*LINK request for one link by name (or for none, ifindex 0 without a name), with netlink
// header flags `nl_flags` and interface flags `up` set in both ifi_flags and ifi_change.
nl::MsgPtr link_msg(int type, const std::string* name, int nl_flags = 0, unsigned up = 0) {
  nl::MsgPtr msg(nlmsg_alloc_simple(type, nl_flags));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_flags = ifi.ifi_change = up;
  if (!msg || nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0) return nullptr;
  if (name != nullptr && nla_put_string(msg.get(), IFLA_IFNAME, name->c_str()) < 0) return nullptr;
  return msg;
}

using nl::out_of_memory;

// RTM_NEWLINK for a new bridge, built by hand because libnl has no setter for the bridge's own
// attributes. It is created up (which saves a round trip: addresses can be added to an up link)
// and with:
// - a MAC of its own: a bridge without one takes the lowest MAC of its ports and changes it as
//   ports come and go, which makes every container's cached gateway entry stale and sends IPv6
//   reports to every port on each change. An address set at creation is never replaced.
// - multicast snooping off. Nothing on a netctl bridge is a multicast querier, and without one the
//   kernel floods multicast to every port whether it snoops or not; but while it snoops, every
//   port that comes up re-arms two query timers on EVERY port of the bridge (2 x 500 timers per
//   attach at 500 ports). An admin who runs a querier can turn it back on (`ip link set BRIDGE
//   type bridge mcast_snooping 1`); netctl never resets it.
nl::MsgPtr bridge_request(const std::string& name, unsigned mtu, const uint8_t (&mac)[ETH_ALEN],
                          uint32_t mark) {
  nl::MsgPtr msg = link_msg(RTM_NEWLINK, &name, NLM_F_CREATE | NLM_F_EXCL, IFF_UP);
  nlattr* info = nullptr;
  nlattr* data = nullptr;
  if (!msg || (mtu != 0 && nla_put_u32(msg.get(), IFLA_MTU, mtu) < 0) ||
      nla_put_u32(msg.get(), IFLA_GROUP, mark) < 0 ||
      nla_put(msg.get(), IFLA_ADDRESS, ETH_ALEN, mac) < 0 ||
      (info = nla_nest_start(msg.get(), IFLA_LINKINFO)) == nullptr ||
      nla_put_string(msg.get(), IFLA_INFO_KIND, "bridge") < 0 ||
      (data = nla_nest_start(msg.get(), IFLA_INFO_DATA)) == nullptr ||
      nla_put_u8(msg.get(), IFLA_BR_MCAST_SNOOPING, 0) < 0 || nla_nest_end(msg.get(), data) < 0 ||
      nla_nest_end(msg.get(), info) < 0)
    return nullptr;
  return msg;
}

// A group number that no link in `cache` is in. High and pseudo-random, so that a concurrent
// netctl (or an admin's `ip link set group`) is very unlikely to pick the same one.
uint32_t unused_group(nl_cache* cache) {
  std::set<uint32_t> used;
  for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o))
    used.insert(rtnl_link_get_group(reinterpret_cast<rtnl_link*>(o)));
  auto seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  uint32_t g = 0x40000000u | static_cast<uint32_t>((seed ^ (seed >> 32) ^ getpid()) & 0x3fffffffu);
  while (used.contains(g)) g = 0x40000000u | ((g + 1) & 0x3fffffffu);
  return g;
}

LinkInfo to_info(rtnl_link* link) {
  LinkInfo info;
  info.group = rtnl_link_get_group(link);
  info.name = rtnl_link_get_name(link) != nullptr ? rtnl_link_get_name(link) : "";
  info.index = rtnl_link_get_ifindex(link);
  const char* kind = rtnl_link_get_type(link);
  info.kind = kind != nullptr ? kind : "";
  info.mtu = rtnl_link_get_mtu(link);
  info.up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
  info.master = rtnl_link_get_master(link);
  return info;
}

// Interface addresses in `cache` by ifindex, address/len as configured.
std::map<int, std::vector<Prefix>> addresses_by_link(nl_cache* cache) {
  std::map<int, std::vector<Prefix>> out;
  for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    nl_addr* local = rtnl_addr_get_local(a);
    if (local == nullptr) continue;
    auto ip = nl::to_ip(local);
    if (!ip || is_link_local(*ip)) continue;
    out[rtnl_addr_get_ifindex(a)].emplace_back(*ip, rtnl_addr_get_prefixlen(a));
  }
  return out;
}

// Route destinations the kernel routes by, outside the local table and the ambient prefixes.
void add_route_prefixes(nl_cache* cache, std::vector<Prefix>& out) {
  for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    uint8_t type = rtnl_route_get_type(r);
    if (rtnl_route_get_table(r) == RT_TABLE_LOCAL || type == RTN_LOCAL || type == RTN_BROADCAST ||
        type == RTN_ANYCAST || type == RTN_MULTICAST)
      continue;
    nl_addr* dst = rtnl_route_get_dst(r);
    if (dst == nullptr || nl_addr_get_prefixlen(dst) == 0) continue;
    auto ip = nl::to_ip(dst);
    if (!ip) continue;
    Prefix p(*ip, static_cast<int>(nl_addr_get_prefixlen(dst)));
    p = Prefix(p.network(), p.len());
    if (!is_ambient(p)) out.push_back(p);
  }
}

class LinuxLinks final : public Links {
 public:
  // By rvalue reference: with a by-value parameter GCC 12 can report a false maybe-uninitialized
  // on the moved socket.
  LinuxLinks(Result<nl::Socket>&& sock, uint32_t mark)
      : sock_(std::move(sock)), mark_(mark), alias_(fmt::format("netctl:{:08x}", mark)) {}

  Status create_bridge(const std::string& name, unsigned mtu,
                       std::span<const Prefix> addresses) override;
  Status delete_links(std::span<const std::string> names) override;
  Status add_addresses(const std::string& name, std::span<const Prefix> addresses) override;
  Status remove_addresses(const std::string& name, std::span<const Prefix> addresses) override;
  Result<std::optional<LinkInfo>> get(const std::string& name) override;
  Result<std::vector<LinkInfo>> list() override;
  Result<std::vector<Prefix>> used_prefixes() override;

 private:
  Status configure(const std::string& name, std::span<const Prefix> addresses);
  Outcome delete_one(const std::string& name);
  Outcome set_group(const std::string& name, uint32_t group);
  Outcome delete_group(uint32_t group);
  Status delete_many(const std::vector<std::string>& names);
  Result<nl::CachePtr> link_cache();
  Result<nl::CachePtr> addr_cache();

  bool ours(rtnl_link* link) const;
  LinkInfo info_of(rtnl_link* link) const;

  Result<nl::Socket> sock_;  // the error, if the socket could not be opened
  uint32_t mark_;
  std::string alias_;  // the mark while a link is in a temporary group (delete_many)
};

bool LinuxLinks::ours(rtnl_link* link) const {
  const char* alias = rtnl_link_get_ifalias(link);
  return rtnl_link_get_group(link) == mark_ || (alias != nullptr && alias == alias_);
}

LinkInfo LinuxLinks::info_of(rtnl_link* link) const {
  LinkInfo info = to_info(link);
  info.ours = ours(link);
  return info;
}

Status LinuxLinks::create_bridge(const std::string& name, unsigned mtu,
                                 std::span<const Prefix> addresses) {
  if (!sock_) return std::unexpected(sock_.error());
  std::string doing = fmt::format("create bridge {}", name);
  if (!fits(name)) return fail(Code::kInvalid, "{}: name must be 1 to 15 characters", doing);
  uint8_t mac[ETH_ALEN];
  random_mac(mac);
  nl::MsgPtr msg = bridge_request(name, mtu, mac, mark_);
  if (!msg) return std::unexpected(out_of_memory().error(doing));
  Outcome made = sock_->send(msg.get());
  if (!made) return std::unexpected(made.error(doing));
  Status st = configure(name, addresses);
  if (!st) delete_one(name);  // best effort; the first error is the one to report
  return st;
}

// Without an IPv6 address the bridge gets no link-local one either (nl::no_link_local): it has no
// carrier yet, so none was made. Then the addresses.
Status LinuxLinks::configure(const std::string& name, std::span<const Prefix> addresses) {
  bool v6 =
      std::any_of(addresses.begin(), addresses.end(), [](const Prefix& p) { return p.is_v6(); });
  nl::LinkPtr link;
  Outcome got = nl::get_link(*sock_, name, link);
  if (!got) return std::unexpected(got.error(fmt::format("look up bridge {}", name)));
  if (!v6)
    if (Outcome o = nl::no_link_local(*sock_, link.get()); !o)
      return std::unexpected(o.error(fmt::format("turn off IPv6 address generation on {}", name)));
  for (const Prefix& p : addresses) {
    // A gateway must answer at once; duplicate detection on a bridge we just made only delays it.
    if (Outcome o = nl::add_address(*sock_, rtnl_link_get_ifindex(link.get()), p); !o)
      return std::unexpected(o.error(fmt::format("add address {} to {}", p.str(), name)));
  }
  return {};
}

Status LinuxLinks::add_addresses(const std::string& name, std::span<const Prefix> addresses) {
  if (!sock_) return std::unexpected(sock_.error());
  nl::LinkPtr link;
  Outcome got = nl::get_link(*sock_, name, link);
  if (got.missing()) return fail(Code::kNotFound, "bridge {} is gone", name);
  if (!got) return std::unexpected(got.error(fmt::format("look up bridge {}", name)));
  for (const Prefix& p : addresses)
    if (Outcome o = nl::add_address(*sock_, rtnl_link_get_ifindex(link.get()), p); !o)
      return std::unexpected(o.error(fmt::format("add address {} to {}", p.str(), name)));
  nl::MsgPtr up = link_msg(RTM_NEWLINK, &name, 0, IFF_UP);
  if (!up) return std::unexpected(out_of_memory().error("set " + name + " up"));
  if (Outcome o = sock_->send(up.get()); !o)
    return std::unexpected(o.error(fmt::format("set {} up", name)));
  return {};
}

Status LinuxLinks::remove_addresses(const std::string& name, std::span<const Prefix> addresses) {
  if (!sock_) return std::unexpected(sock_.error());
  nl::LinkPtr link;
  Outcome got = nl::get_link(*sock_, name, link);
  if (got.missing()) return {};
  if (!got) return std::unexpected(got.error(fmt::format("look up bridge {}", name)));
  for (const Prefix& p : addresses)
    if (Outcome o = nl::remove_address(*sock_, rtnl_link_get_ifindex(link.get()), p); !o)
      return std::unexpected(o.error(fmt::format("remove address {} from {}", p.str(), name)));
  return {};
}

Outcome LinuxLinks::delete_one(const std::string& name) {
  nl::MsgPtr msg = link_msg(RTM_DELLINK, &name);
  if (!msg) return out_of_memory();
  Outcome o = sock_->send(msg.get());
  return o.missing() ? Outcome{} : o;
}

// The alias goes in the same request: a link in a temporary group still carries the mark.
Outcome LinuxLinks::set_group(const std::string& name, uint32_t group) {
  nl::MsgPtr msg = link_msg(RTM_NEWLINK, &name);
  if (!msg || nla_put_string(msg.get(), IFLA_IFALIAS, alias_.c_str()) < 0 ||
      nla_put_u32(msg.get(), IFLA_GROUP, group) < 0)
    return out_of_memory();
  return sock_->send(msg.get());
}

// Like `ip link del group N`: one request, so the kernel waits for RCU once for all of them.
Outcome LinuxLinks::delete_group(uint32_t group) {
  nl::MsgPtr msg = link_msg(RTM_DELLINK, nullptr);
  if (!msg || nla_put_u32(msg.get(), IFLA_GROUP, group) < 0) return out_of_memory();
  return sock_->send(msg.get());
}

Status LinuxLinks::delete_links(std::span<const std::string> names) {
  if (!sock_) return std::unexpected(sock_.error());
  std::vector<std::string> todo;
  for (const std::string& n : names) {
    // A name that cannot exist is already deleted.
    if (fits(n) && std::find(todo.begin(), todo.end(), n) == todo.end()) todo.push_back(n);
  }
  if (todo.size() > 1) return delete_many(todo);
  if (todo.empty()) return {};
  rtnl_link* raw = nullptr;
  Outcome got =
      sock_->call([&](nl_sock* s) { return rtnl_link_get_kernel(s, 0, todo[0].c_str(), &raw); });
  nl::LinkPtr link(raw);
  if (got.missing()) return {};
  if (!got) return std::unexpected(got.error(fmt::format("look up link {}", todo[0])));
  if (!ours(link.get())) return {};
  if (Outcome o = delete_one(todo[0]); !o)
    return std::unexpected(o.error(fmt::format("delete link {}", todo[0])));
  return {};
}

Status LinuxLinks::delete_many(const std::vector<std::string>& names) {
  Status first;
  auto delete_alone = [&](const std::string& n) {
    Outcome o = delete_one(n);
    if (!o && first) first = std::unexpected(o.error(fmt::format("delete link {}", n)));
    return o;
  };
  auto cache = link_cache();
  if (!cache) return std::unexpected(cache.error());
  uint32_t group = unused_group(cache->get());
  std::vector<std::pair<std::string, uint32_t>> grouped;  // name, original group
  for (const std::string& n : names) {
    nl::LinkPtr link(rtnl_link_get_by_name(cache->get(), n.c_str()));
    if (!link || !ours(link.get())) continue;
    if (Outcome o = set_group(n, group); o)
      grouped.emplace_back(n, rtnl_link_get_group(link.get()));
    else if (!o.missing())
      delete_alone(n);
  }
  bool batched = grouped.size() > 1;
  if (batched) {
    Outcome o = delete_group(group);
    batched = o || o.missing();
  }
  // The group request is all or nothing (EOPNOTSUPP if one link cannot be deleted): go one by
  // one, and give whatever survives its group back.
  if (!batched) {
    for (const auto& [n, original] : grouped) {
      if (!delete_alone(n)) set_group(n, original);
    }
  }
  return first;
}

Result<nl::CachePtr> LinuxLinks::link_cache() {
  nl_cache* raw = nullptr;
  Outcome o = sock_->call([&](nl_sock* s) { return rtnl_link_alloc_cache(s, AF_UNSPEC, &raw); });
  nl::CachePtr cache(raw);
  if (!o) return std::unexpected(o.error("list links"));
  return cache;
}

Result<nl::CachePtr> LinuxLinks::addr_cache() {
  nl_cache* raw = nullptr;
  Outcome o = sock_->call([&](nl_sock* s) { return rtnl_addr_alloc_cache(s, &raw); });
  nl::CachePtr cache(raw);
  if (!o) return std::unexpected(o.error("list addresses"));
  return cache;
}

Result<std::optional<LinkInfo>> LinuxLinks::get(const std::string& name) {
  if (!sock_) return std::unexpected(sock_.error());
  if (!fits(name)) return std::nullopt;
  rtnl_link* raw = nullptr;
  Outcome o =
      sock_->call([&](nl_sock* s) { return rtnl_link_get_kernel(s, 0, name.c_str(), &raw); });
  nl::LinkPtr link(raw);
  if (o.missing()) return std::nullopt;
  if (!o) return std::unexpected(o.error(fmt::format("get link {}", name)));
  auto addrs = CNM_VALUE(addr_cache());
  LinkInfo info = info_of(link.get());
  info.addresses = std::move(addresses_by_link(addrs.get())[info.index]);
  return info;
}

Result<std::vector<LinkInfo>> LinuxLinks::list() {
  if (!sock_) return std::unexpected(sock_.error());
  auto links = CNM_VALUE(link_cache());
  auto addrs = CNM_VALUE(addr_cache());
  auto by_link = addresses_by_link(addrs.get());
  std::vector<LinkInfo> out;
  for (nl_object* o = nl_cache_get_first(links.get()); o != nullptr; o = nl_cache_get_next(o)) {
    out.push_back(info_of(reinterpret_cast<rtnl_link*>(o)));
    out.back().addresses = std::move(by_link[out.back().index]);
  }
  std::ranges::sort(out, {}, &LinkInfo::index);
  return out;
}

Result<std::vector<Prefix>> LinuxLinks::used_prefixes() {
  if (!sock_) return std::unexpected(sock_.error());
  auto addrs = CNM_VALUE(addr_cache());
  std::vector<Prefix> out;
  for (auto& [index, list] : addresses_by_link(addrs.get())) {
    for (const Prefix& p : list) {
      Prefix subnet(p.network(), p.len());
      if (!is_ambient(subnet)) out.push_back(subnet);
    }
  }
  nl_cache* raw = nullptr;
  Outcome o =
      sock_->call([&](nl_sock* s) { return rtnl_route_alloc_cache(s, AF_UNSPEC, 0, &raw); });
  nl::CachePtr routes(raw);
  if (!o) return std::unexpected(o.error("list routes"));
  add_route_prefixes(routes.get(), out);
  std::ranges::sort(out);
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

uint32_t owner_group(std::string_view root_id) {
  uint32_t v = 0;
  for (char ch : root_id)
    v = v * 16 + static_cast<uint32_t>(std::isdigit(ch) ? ch - '0' : ch - 'a' + 10);
  return 0x20000000u | (v & 0x1fffffffu);
}

std::unique_ptr<Links> make_linux_links(uint32_t mark) {
  return std::make_unique<LinuxLinks>(nl::Socket::open(), mark);
}

}  // namespace cnm::kernel

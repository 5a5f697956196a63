// Vxlans over libnl-route-3, through one NETLINK_ROUTE socket opened in the namespace that was
// current when make_linux_vxlans() ran.
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "cnm/kernel/links.h"
#include "cnm/kernel/nl.h"
#include "cnm/kernel/vxlan.h"
#include "cnm/kernel/vxlan_check.h"

namespace cnm::kernel {
namespace {

using namespace vxlan_check;

using nl::Outcome;
using VxNeighPtr = std::unique_ptr<rtnl_neigh, nl::Free<rtnl_neigh_put>>;

// Bytes of outer headers a VXLAN frame carries: outer IP, UDP (8), VXLAN (8), inner Ethernet (14).
unsigned encap_overhead(const IpAddr& local) { return local.is_v6() ? 70 : 50; }

// The owner mark as links.h defines it: the link group, or the alias while delete_links has the
// link in a temporary group.
bool vx_marked(rtnl_link* link, uint32_t mark) {
  const char* alias = rtnl_link_get_ifalias(link);
  return rtnl_link_get_group(link) == mark ||
         (alias != nullptr && alias == fmt::format("netctl:{:08x}", mark));
}

bool is_vxlan(rtnl_link* link) {
  const char* kind = rtnl_link_get_type(link);
  return kind != nullptr && std::string_view(kind) == "vxlan";
}

// `link` must be a VXLAN link (libnl's vxlan getters complain on stderr about any other kind).
VxlanInfo vxlan_info(rtnl_link* link, uint32_t mark) {
  VxlanInfo v;
  v.name = rtnl_link_get_name(link) != nullptr ? rtnl_link_get_name(link) : "";
  v.index = rtnl_link_get_ifindex(link);
  rtnl_link_vxlan_get_id(link, &v.vni);
  nl_addr* raw = nullptr;
  if (rtnl_link_vxlan_get_local(link, &raw) == 0) {
    nl::AddrPtr local(raw);
    if (auto ip = nl::to_ip(local.get())) v.local = *ip;
  }
  uint32_t u32 = 0;
  if (rtnl_link_vxlan_get_link(link, &u32) == 0) v.underlay = static_cast<int>(u32);
  if (rtnl_link_vxlan_get_port(link, &u32) == 0) v.port = static_cast<uint16_t>(u32);
  v.learning = rtnl_link_vxlan_get_learning(link) == 1;
  v.proxy = rtnl_link_vxlan_get_proxy(link) == 1;
  v.mtu = rtnl_link_get_mtu(link);
  v.master = rtnl_link_get_master(link);
  v.up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
  v.ours = vx_marked(link, mark);
  return v;
}

// Why an existing device of ours cannot be adopted for `spec`, or "".
std::string vx_mismatch(const VxlanInfo& v, const VxlanSpec& spec, int underlay, int bridge) {
  if (v.vni != spec.vni) return fmt::format("vni {} (want {})", v.vni, spec.vni);
  if (v.local != spec.local)
    return fmt::format("local {} (want {})", v.local.valid() ? v.local.str() : "none",
                       spec.local.str());
  if (v.underlay != underlay) return fmt::format("underlay ifindex {}", v.underlay);
  if (v.port != spec.port) return fmt::format("dstport {} (want {})", v.port, spec.port);
  if (v.learning || !v.proxy) return "learning on or proxy off";
  if (v.master != 0 && v.master != bridge) return fmt::format("master ifindex {}", v.master);
  return "";
}

// A permanent entry on link `ifindex`: in the FDB (`fdb`, NTF_SELF), `mac` behind VTEP `ip`;
// else in the ARP or ND table, `ip` at `mac`. Null if out of memory.
VxNeighPtr neigh_object(int ifindex, bool fdb, const VxMac& mac, const IpAddr& ip) {
  VxNeighPtr n(rtnl_neigh_alloc());
  nl::AddrPtr ll(nl_addr_build(AF_LLC, mac.data(), mac.size()));
  nl::AddrPtr dst = nl::to_nl(ip, ip.bits());
  if (!n || !ll || !dst) return nullptr;
  rtnl_neigh_set_ifindex(n.get(), ifindex);
  rtnl_neigh_set_lladdr(n.get(), ll.get());
  // The destination first: rtnl_neigh_set_dst sets the family from the address, which an FDB
  // entry must then overwrite; the other order fails with an address family mismatch.
  rtnl_neigh_set_dst(n.get(), dst.get());
  rtnl_neigh_set_family(n.get(), fdb ? AF_BRIDGE : ip.is_v6() ? AF_INET6 : AF_INET);
  if (fdb) rtnl_neigh_set_flags(n.get(), NTF_SELF);
  rtnl_neigh_set_state(n.get(), NUD_PERMANENT);
  return n;
}

// NL_CB_VALID for a neighbour dump: the permanent entries of one device into `out`.
struct VxDumpInto {
  int ifindex = 0;
  VxlanEntries* out = nullptr;
};

int vx_on_neigh(nl_msg* msg, void* arg) {
  auto* into = static_cast<VxDumpInto*>(arg);
  nlmsghdr* hdr = nlmsg_hdr(msg);
  nlattr* tb[NDA_MAX + 1];
  if (hdr->nlmsg_type != RTM_NEWNEIGH || nlmsg_parse(hdr, sizeof(ndmsg), tb, NDA_MAX, nullptr) < 0)
    return NL_SKIP;
  const auto* ndm = static_cast<const ndmsg*>(nlmsg_data(hdr));
  if (ndm->ndm_ifindex != into->ifindex || (ndm->ndm_state & NUD_PERMANENT) == 0 ||
      tb[NDA_DST] == nullptr || tb[NDA_LLADDR] == nullptr || nla_len(tb[NDA_LLADDR]) != ETH_ALEN)
    return NL_SKIP;
  int len = nla_len(tb[NDA_DST]);
  if (len != 4 && len != 16) return NL_SKIP;
  nl::AddrPtr a(nl_addr_build(len == 4 ? AF_INET : AF_INET6, nla_data(tb[NDA_DST]), len));
  if (!a) return NL_SKIP;
  auto ip = nl::to_ip(a.get());
  if (!ip) return NL_SKIP;
  std::string mac = vx_mac_text(static_cast<const uint8_t*>(nla_data(tb[NDA_LLADDR])));
  if (ndm->ndm_family == AF_BRIDGE && (ndm->ndm_flags & NTF_SELF) != 0)
    into->out->fdb.push_back({mac, *ip});
  else if (ndm->ndm_family == AF_INET || ndm->ndm_family == AF_INET6)
    into->out->neigh.push_back({*ip, mac});
  return NL_OK;
}

// Sends dump request `req` and hands every answer to vx_on_neigh.
Outcome vx_dump(nl::Socket& sock, nl_msg* req, VxDumpInto& into) {
  return sock.call([&](nl_sock* s) {
    nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_CUSTOM, &vx_on_neigh, &into);
    int rc = nl_send_auto(s, req);
    if (rc >= 0) rc = nl_recvmsgs_default(s);
    nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);
    return rc < 0 ? rc : 0;
  });
}

class LinuxVxlans final : public Vxlans {
 public:
  LinuxVxlans(Result<nl::Socket>&& sock, uint32_t mark)
      : sock_(std::move(sock)), mark_(mark), links_(make_linux_links(mark)) {}

  Result<bool> ensure(const VxlanSpec& spec) override;
  Status remove(const std::string& name) override;
  Result<std::optional<VxlanInfo>> get(const std::string& name) override;
  Status add_entries(const std::string& dev, const VxlanEntries& entries) override;
  Status remove_entries(const std::string& dev, const VxlanEntries& entries) override;
  Result<VxlanEntries> entries(const std::string& dev) override;

 private:
  struct Underlay {
    int index = 0;  // 0: none named
    unsigned mtu = 0;
  };
  Result<int> index_of(const std::string& name, std::string_view what);
  Result<Underlay> underlay_of(const VxlanSpec& spec);
  Outcome create(const VxlanSpec& spec, int underlay, int bridge, unsigned mtu);
  Outcome adopt(const VxlanInfo& v, int bridge, unsigned mtu);
  Result<VxlanInfo> ours(const std::string& dev, std::string_view doing);
  Status program(int ifindex, const VxlanEntries& e, VxlanEntries& done);
  Outcome send(int cmd, int flags, VxNeighPtr obj);

  Result<nl::Socket> sock_;
  uint32_t mark_;
  std::unique_ptr<Links> links_;  // deletes devices (delete_links keeps to what carries the mark)
};

Result<int> LinuxVxlans::index_of(const std::string& name, std::string_view what) {
  nl::LinkPtr link;
  Outcome o = nl::get_link(*sock_, name, link);
  if (o.missing()) return fail(Code::kNotFound, "{} {} not found", what, name);
  if (!o) return std::unexpected(o.error(fmt::format("look up {} {}", what, name)));
  return rtnl_link_get_ifindex(link.get());
}

// The named underlay, or else the device that holds the local address.
Result<LinuxVxlans::Underlay> LinuxVxlans::underlay_of(const VxlanSpec& spec) {
  Underlay u;
  int holder = 0;
  if (!spec.underlay.empty()) {
    holder = u.index = CNM_VALUE(index_of(spec.underlay, "underlay"));
  } else {
    nl_cache* raw = nullptr;
    Outcome o = sock_->call([&](nl_sock* s) { return rtnl_addr_alloc_cache(s, &raw); });
    nl::CachePtr addrs(raw);
    if (!o) return std::unexpected(o.error("list addresses"));
    for (nl_object* a = nl_cache_get_first(addrs.get()); a != nullptr; a = nl_cache_get_next(a)) {
      auto* addr = reinterpret_cast<rtnl_addr*>(a);
      nl_addr* local = rtnl_addr_get_local(addr);
      if (local == nullptr) continue;
      if (auto ip = nl::to_ip(local); ip && *ip == spec.local) holder = rtnl_addr_get_ifindex(addr);
    }
    if (holder == 0)
      return fail(Code::kInvalid, "vxlan {}: local address {} is on no interface", spec.name,
                  spec.local.str());
  }
  rtnl_link* raw = nullptr;
  Outcome o =
      sock_->call([&](nl_sock* s) { return rtnl_link_get_kernel(s, holder, nullptr, &raw); });
  nl::LinkPtr link(raw);
  if (!o) return std::unexpected(o.error(fmt::format("look up the underlay of {}", spec.name)));
  u.mtu = rtnl_link_get_mtu(link.get());
  return u;
}

Result<bool> LinuxVxlans::ensure(const VxlanSpec& spec) {
  if (!sock_) return std::unexpected(sock_.error());
  CNM_TRY(vx_check_spec(spec));
  std::string doing = fmt::format("ensure vxlan {}", spec.name);
  int bridge = CNM_VALUE(index_of(spec.bridge, "bridge"));
  Underlay u = CNM_VALUE(underlay_of(spec));
  if (u.mtu < 68 + encap_overhead(spec.local))
    return fail(Code::kInvalid, "{}: underlay MTU {} is too small", doing, u.mtu);
  unsigned mtu = u.mtu - encap_overhead(spec.local);
  nl::LinkPtr link;
  Outcome got = nl::get_link(*sock_, spec.name, link);
  if (got.missing()) {
    if (Outcome o = create(spec, u.index, bridge, mtu); !o) return std::unexpected(o.error(doing));
    return true;
  }
  if (!got) return std::unexpected(got.error(doing));
  if (!vx_marked(link.get(), mark_))
    return fail(Code::kConflict, "{}: a device of that name exists and is not netctl's", doing);
  if (!is_vxlan(link.get()))
    return fail(Code::kConflict, "{}: a device of that name exists and is not a vxlan", doing);
  VxlanInfo v = vxlan_info(link.get(), mark_);
  if (std::string why = vx_mismatch(v, spec, u.index, bridge); !why.empty())
    return fail(Code::kConflict, "{}: it exists with {}", doing, why);
  if (Outcome o = adopt(v, bridge, mtu); !o) return std::unexpected(o.error(doing));
  return false;
}

// One request: the device exists complete (mark, MTU, master, up) or not at all.
Outcome LinuxVxlans::create(const VxlanSpec& spec, int underlay, int bridge, unsigned mtu) {
  nl::LinkPtr link(rtnl_link_vxlan_alloc());
  nl::AddrPtr local = nl::to_nl(spec.local, spec.local.bits());
  if (!link || !local) return nl::out_of_memory();
  rtnl_link_set_name(link.get(), spec.name.c_str());
  rtnl_link_set_group(link.get(), mark_);
  rtnl_link_set_mtu(link.get(), mtu);
  rtnl_link_set_master(link.get(), bridge);
  rtnl_link_set_flags(link.get(), IFF_UP);
  rtnl_link_vxlan_set_id(link.get(), spec.vni);
  if (int rc = rtnl_link_vxlan_set_local(link.get(), local.get()); rc < 0) return {-rc, 0, ""};
  if (underlay != 0) rtnl_link_vxlan_set_link(link.get(), static_cast<uint32_t>(underlay));
  rtnl_link_vxlan_set_port(link.get(), spec.port);
  rtnl_link_vxlan_set_learning(link.get(), 0);
  rtnl_link_vxlan_set_proxy(link.get(), 1);
  return sock_->call(
      [&](nl_sock* s) { return rtnl_link_add(s, link.get(), NLM_F_CREATE | NLM_F_EXCL); });
}

Outcome LinuxVxlans::adopt(const VxlanInfo& v, int bridge, unsigned mtu) {
  if (v.master == bridge && v.mtu == mtu && v.up) return {};
  nl::LinkPtr orig(rtnl_link_alloc());
  nl::LinkPtr change(rtnl_link_alloc());
  if (!orig || !change) return nl::out_of_memory();
  rtnl_link_set_ifindex(orig.get(), v.index);
  if (v.master != bridge) rtnl_link_set_master(change.get(), bridge);
  if (v.mtu != mtu) rtnl_link_set_mtu(change.get(), mtu);
  if (!v.up) rtnl_link_set_flags(change.get(), IFF_UP);
  return sock_->call([&](nl_sock* s) { return rtnl_link_change(s, orig.get(), change.get(), 0); });
}

Status LinuxVxlans::remove(const std::string& name) {
  auto v = CNM_VALUE(get(name));
  if (!v || !v->ours) return {};
  return links_->delete_links(std::span(&name, 1));
}

Result<std::optional<VxlanInfo>> LinuxVxlans::get(const std::string& name) {
  if (!sock_) return std::unexpected(sock_.error());
  if (!vx_name_fits(name)) return std::nullopt;
  nl::LinkPtr link;
  Outcome o = nl::get_link(*sock_, name, link);
  if (o.missing()) return std::nullopt;
  if (!o) return std::unexpected(o.error(fmt::format("get link {}", name)));
  if (!is_vxlan(link.get())) return std::nullopt;
  return vxlan_info(link.get(), mark_);
}

Result<VxlanInfo> LinuxVxlans::ours(const std::string& dev, std::string_view doing) {
  auto v = CNM_VALUE(get(dev));
  if (!v) return fail(Code::kNotFound, "{}: no vxlan device {}", doing, dev);
  if (!v->ours) return fail(Code::kConflict, "{}: vxlan {} is not netctl's", doing, dev);
  return *v;
}

Outcome LinuxVxlans::send(int cmd, int flags, VxNeighPtr obj) {
  if (!obj) return nl::out_of_memory();
  return sock_->call([&](nl_sock* s) {
    return cmd == RTM_NEWNEIGH ? rtnl_neigh_add(s, obj.get(), flags)
                               : rtnl_neigh_delete(s, obj.get(), flags);
  });
}

// FDB entries first: a neighbour is answered (proxy) only once its MAC can be forwarded.
Status LinuxVxlans::program(int ifindex, const VxlanEntries& e, VxlanEntries& done) {
  for (const FdbEntry& f : e.fdb) {
    VxMac mac = *vx_parse_mac(f.mac);
    int flags = NLM_F_CREATE | (vx_zero_mac(mac) ? NLM_F_APPEND : NLM_F_REPLACE);
    if (Outcome o = send(RTM_NEWNEIGH, flags, neigh_object(ifindex, true, mac, f.vtep)); !o)
      return std::unexpected(o.error(fmt::format("add fdb {} dst {}", f.mac, f.vtep.str())));
    done.fdb.push_back(f);
  }
  for (const NeighEntry& n : e.neigh) {
    int flags = NLM_F_CREATE | NLM_F_REPLACE;
    if (Outcome o =
            send(RTM_NEWNEIGH, flags, neigh_object(ifindex, false, *vx_parse_mac(n.mac), n.ip));
        !o)
      return std::unexpected(o.error(fmt::format("add neighbour {} lladdr {}", n.ip.str(), n.mac)));
    done.neigh.push_back(n);
  }
  return {};
}

Status LinuxVxlans::add_entries(const std::string& dev, const VxlanEntries& entries) {
  std::string doing = fmt::format("program vxlan {}", dev);
  VxlanInfo v = CNM_VALUE(ours(dev, doing));
  CNM_TRY(vx_check_entries(entries, v.local, doing));
  VxlanEntries done;
  Status st = program(v.index, entries, done);
  if (st) return {};
  if (!(done == VxlanEntries{})) (void)remove_entries(dev, done);  // the first error is reported
  return context(doing, st.error());
}

// Neighbours first (the reverse of add). A neighbour entry goes only while it still holds the MAC
// given: its IP may have moved to another endpoint since.
Status LinuxVxlans::remove_entries(const std::string& dev, const VxlanEntries& entries) {
  auto v = CNM_VALUE(get(dev));
  if (!v) return {};
  std::string doing = fmt::format("unprogram vxlan {}", dev);
  if (!v->ours) return fail(Code::kConflict, "{}: it is not netctl's", doing);
  VxlanEntries now = CNM_VALUE(this->entries(dev));
  Status first;
  auto note = [&](const Outcome& o, const std::string& what) {
    if (!o && !o.missing() && first) first = std::unexpected(o.error(doing + ": " + what));
  };
  for (const NeighEntry& n : entries.neigh) {
    auto mac = vx_parse_mac(n.mac);
    if (!mac || !std::ranges::binary_search(now.neigh, NeighEntry{n.ip, vx_mac_text(mac->data())}))
      continue;
    note(send(RTM_DELNEIGH, 0, neigh_object(v->index, false, *mac, n.ip)),
         "remove neighbour " + n.ip.str());
  }
  for (const FdbEntry& f : entries.fdb) {
    auto mac = vx_parse_mac(f.mac);
    if (!mac || !f.vtep.valid()) continue;
    note(send(RTM_DELNEIGH, 0, neigh_object(v->index, true, *mac, f.vtep)), "remove fdb " + f.mac);
  }
  return first;
}

Result<VxlanEntries> LinuxVxlans::entries(const std::string& dev) {
  auto v = CNM_VALUE(get(dev));
  if (!v) return fail(Code::kNotFound, "list vxlan {}: no such vxlan device", dev);
  VxlanEntries out;
  VxDumpInto into{v->index, &out};
  // The bridge family's dump takes an ifinfomsg header; its index picks the one device.
  nl::MsgPtr fdb(nlmsg_alloc_simple(RTM_GETNEIGH, NLM_F_DUMP));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = v->index;
  nl::MsgPtr neigh(nlmsg_alloc_simple(RTM_GETNEIGH, NLM_F_DUMP));
  ndmsg ndm{};
  ndm.ndm_family = AF_UNSPEC;  // every neighbour table (ARP and ND), never the bridge's
  if (!fdb || !neigh || nlmsg_append(fdb.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
      nlmsg_append(neigh.get(), &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0 ||
      nla_put_u32(neigh.get(), NDA_IFINDEX, static_cast<uint32_t>(v->index)) < 0)
    return std::unexpected(nl::out_of_memory().error("list vxlan " + dev));
  if (Outcome o = vx_dump(*sock_, fdb.get(), into); !o)
    return std::unexpected(o.error(fmt::format("list fdb of {}", dev)));
  if (Outcome o = vx_dump(*sock_, neigh.get(), into); !o)
    return std::unexpected(o.error(fmt::format("list neighbours of {}", dev)));
  std::ranges::sort(out.fdb);
  out.fdb.erase(std::unique(out.fdb.begin(), out.fdb.end()), out.fdb.end());
  std::ranges::sort(out.neigh);
  return out;
}

}  // namespace

std::unique_ptr<Vxlans> make_linux_vxlans(uint32_t mark) {
  return std::make_unique<LinuxVxlans>(nl::Socket::open(), mark);
}

}  // namespace cnm::kernel

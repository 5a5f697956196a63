#include "cnm/kernel/firewall_entry.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_conntrack.h>
// xt_sctp.h is C (its helpers return _Bool) and defines a macro called `bytes`.
#define _Bool bool
#include <linux/netfilter/xt_sctp.h>
#undef _Bool
#undef bytes
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <netinet/in.h>

#include <cstring>
#include <string_view>

namespace cnm::kernel::fw {
namespace {

// One match or target: the xt_entry_match/xt_entry_target header (same layout) and its payload.
struct Part {
  std::vector<unsigned char> bytes;
};

template <class T>
Part part(const char* name, uint8_t revision, const T& payload) {
  size_t size = XT_ALIGN(sizeof(xt_entry_match)) + XT_ALIGN(sizeof(T));
  Part p{std::vector<unsigned char>(size)};
  xt_entry_match hdr{};
  hdr.u.user.match_size = static_cast<uint16_t>(size);
  std::strncpy(hdr.u.user.name, name, sizeof hdr.u.user.name - 1);
  hdr.u.user.revision = revision;
  std::memcpy(p.bytes.data(), &hdr, sizeof hdr);
  std::memcpy(p.bytes.data() + XT_ALIGN(sizeof hdr), &payload, sizeof payload);
  return p;
}

uint32_t mask_of(int len) { return len == 0 ? 0 : htonl(~uint32_t{0} << (32 - len)); }
uint32_t addr_of(const IpAddr& a) { return htonl(static_cast<uint32_t>(a.value())); }

ipt_ip ip_header(const Rule& r) {
  ipt_ip ip{};
  if (r.src) {
    ip.src.s_addr = addr_of(r.src->addr());
    ip.smsk.s_addr = mask_of(r.src->len());
  }
  if (r.dst) {
    ip.dst.s_addr = addr_of(r.dst->addr());
    ip.dmsk.s_addr = mask_of(r.dst->len());
  }
  if (!r.in.empty()) set_iface(ip.iniface, ip.iniface_mask, r.in);
  if (!r.out.empty()) set_iface(ip.outiface, ip.outiface_mask, r.out);
  if (r.not_in) ip.invflags |= IPT_INV_VIA_IN;
  if (r.not_out) ip.invflags |= IPT_INV_VIA_OUT;
  if (r.proto) ip.proto = ip_proto(*r.proto);
  return ip;
}

uint16_t state_mask(uint8_t ct) {
  uint16_t m = 0;
  if (ct & kCtRelated) m |= XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
  if (ct & kCtEstablished) m |= XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED);
  if (ct & kCtDnat) m |= XT_CONNTRACK_STATE_DNAT;
  return m;
}

Part port_match(const Rule& r) {
  if (*r.proto == Proto::kSctp) {
    xt_sctp_info s{};
    s.dpts[0] = r.dport_lo;
    s.dpts[1] = r.dport_hi;
    for (auto& f : s.flag_info) f.chunktype = 0xff;  // as iptables' sctp extension leaves them
    s.flags = XT_SCTP_DEST_PORTS;
    return part("sctp", 0, s);
  }
  if (*r.proto == Proto::kUdp) {
    xt_udp u{};
    u.spts[1] = 0xffff;
    u.dpts[0] = r.dport_lo;
    u.dpts[1] = r.dport_hi;
    return part("udp", 0, u);
  }
  xt_tcp t{};
  t.spts[1] = 0xffff;
  t.dpts[0] = r.dport_lo;
  t.dpts[1] = r.dport_hi;
  return part("tcp", 0, t);
}

Part target_part(const Rule& r, Family f) {
  if (r.target == "MASQUERADE") {
    if (f == Family::kV6) return part("MASQUERADE", 0, nf_nat_range{});
    nf_nat_ipv4_multi_range_compat m{};
    m.rangesize = 1;
    return part("MASQUERADE", 0, m);
  }
  if (r.target == "DNAT") {
    nf_nat_range2 n{};
    n.flags = NF_NAT_RANGE_MAP_IPS;
    if (f == Family::kV6) {
      auto b = r.to_addr.bytes();
      std::memcpy(&n.min_addr.in6, b.data(), 16);
      std::memcpy(&n.max_addr.in6, b.data(), 16);
    } else {
      n.min_addr.ip = n.max_addr.ip = addr_of(r.to_addr);
    }
    if (r.to_lo != 0) {
      n.flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
      n.min_proto.all = htons(r.to_lo);
      n.max_proto.all = htons(r.to_hi);
    }
    if (r.to_base != 0) {
      n.flags |= NF_NAT_RANGE_PROTO_OFFSET;
      n.base_proto.all = htons(r.to_base);
    }
    return part("DNAT", 2, n);
  }
  // A verdict or a jump: libiptc maps the name.
  return part(r.target.c_str(), 0, int{0});
}

}  // namespace

uint8_t ip_proto(Proto p) {
  switch (p) {
    case Proto::kTcp:
      return IPPROTO_TCP;
    case Proto::kUdp:
      return IPPROTO_UDP;
    case Proto::kSctp:
      return IPPROTO_SCTP;
  }
  return 0;
}

void set_iface(char* name, unsigned char* mask, const std::string& iface) {
  std::strncpy(name, iface.c_str(), IFNAMSIZ - 1);
  // iptables matches the name with its terminating NUL, so "nc-a" does not match "nc-ab".
  std::memset(mask, 0xff, std::min<size_t>(iface.size() + 1, IFNAMSIZ));
}

Body encode_body(const Rule& r, Family f) {
  Body b;
  auto add = [&](const Part& p) {
    b.matches.insert(b.matches.end(), p.bytes.begin(), p.bytes.end());
  };
  if (r.dst_local) {
    xt_addrtype_info_v1 a{};
    a.dest = XT_ADDRTYPE_LOCAL;
    add(part("addrtype", 1, a));
  }
  if (r.ctstate != 0) {
    xt_conntrack_mtinfo3 c{};
    c.match_flags = XT_CONNTRACK_STATE;
    c.state_mask = state_mask(r.ctstate);
    add(part("conntrack", 3, c));
  }
  if (r.proto && r.dport_lo != 0) add(port_match(r));
  b.target = target_part(r, f).bytes;
  return b;
}

Entry encode(const Rule& r) {
  ipt_entry e{};
  e.ip = ip_header(r);
  return assemble(e, encode_body(r, Family::kV4));
}

}  // namespace cnm::kernel::fw

// fw::decode(): ipt_entry -> fw::Rule (firewall_entry.h), and the matches and targets both
// families share.
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

#include <bit>
#include <cstring>
#include <string_view>

#include "cnm/kernel/firewall_entry.h"

namespace cnm::kernel::fw {
namespace {

struct Decoded {
  Rule rule;
  std::string other;
  void note(std::string_view what) {
    if (!other.empty()) other += ' ';
    other += what;
  }
};

std::optional<Prefix> prefix(in_addr addr, in_addr mask, const char* flag, Decoded& d) {
  uint32_t m = ntohl(mask.s_addr);
  if (m == 0) return std::nullopt;
  int len = std::popcount(m);
  IpAddr a = IpAddr::v4(ntohl(addr.s_addr));
  if (m != ~uint32_t{0} << (32 - len)) {
    d.note(fmt::format("{} {}/{}", flag, a.str(), IpAddr::v4(m).str()));
    return std::nullopt;
  }
  return Prefix(a, len);
}

std::string iface(const char* name) { return std::string(name, strnlen(name, IFNAMSIZ)); }

std::optional<Proto> proto_of(uint16_t p) {
  switch (p) {
    case IPPROTO_TCP:
      return Proto::kTcp;
    case IPPROTO_UDP:
      return Proto::kUdp;
    case IPPROTO_SCTP:
      return Proto::kSctp;
    default:
      return std::nullopt;
  }
}

void decode_ip(const ipt_ip& ip, Decoded& d) {
  d.rule.src = prefix(ip.src, ip.smsk, "-s", d);
  d.rule.dst = prefix(ip.dst, ip.dmsk, "-d", d);
  d.rule.in = iface(ip.iniface);
  d.rule.out = iface(ip.outiface);
  d.rule.not_in = (ip.invflags & IPT_INV_VIA_IN) != 0;
  d.rule.not_out = (ip.invflags & IPT_INV_VIA_OUT) != 0;
  if (ip.proto != 0) {
    d.rule.proto = proto_of(ip.proto);
    if (!d.rule.proto) d.note(fmt::format("-p {}", ip.proto));
  }
  if ((ip.invflags & ~(IPT_INV_VIA_IN | IPT_INV_VIA_OUT)) != 0)
    d.note(fmt::format("[inverted 0x{:x}]", ip.invflags));
  if ((ip.flags & IPT_F_FRAG) != 0) d.note("-f");
  if ((ip.flags & IPT_F_GOTO) != 0) d.note("[goto]");
}

template <class T>
const T* payload(const xt_entry_match* m) {
  size_t have = m->u.match_size - XT_ALIGN(sizeof(xt_entry_match));
  return have >= sizeof(T) ? reinterpret_cast<const T*>(m->data) : nullptr;
}

bool decode_ctstate(uint16_t mask, Decoded& d) {
  const uint16_t rel = XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
  const uint16_t est = XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED);
  if (mask == 0 || (mask & ~(rel | est | XT_CONNTRACK_STATE_DNAT)) != 0) return false;
  d.rule.ctstate =
      static_cast<uint8_t>(((mask & rel) ? kCtRelated : 0) | ((mask & est) ? kCtEstablished : 0) |
                           ((mask & XT_CONNTRACK_STATE_DNAT) ? kCtDnat : 0));
  return true;
}

bool set_dport(Decoded& d, Proto p, const uint16_t* dpts) {
  if (d.rule.proto != p || d.rule.dport_lo != 0 || dpts[0] == 0 || dpts[0] > dpts[1]) return false;
  d.rule.dport_lo = dpts[0];
  d.rule.dport_hi = dpts[1];
  return true;
}

// The match, if it is one netctl writes with the options it uses.
bool decode_known(const xt_entry_match* m, std::string_view name, Decoded& d) {
  uint8_t rev = m->u.user.revision;
  if (name == "addrtype" && rev == 1) {
    const auto* a = payload<xt_addrtype_info_v1>(m);
    if (a == nullptr || a->source != 0 || a->dest != XT_ADDRTYPE_LOCAL || a->flags != 0)
      return false;
    if (d.rule.dst_local) return false;
    return d.rule.dst_local = true;
  }
  if (name == "conntrack" && rev == 3) {
    const auto* c = payload<xt_conntrack_mtinfo3>(m);
    if (c == nullptr || c->match_flags != XT_CONNTRACK_STATE || c->invert_flags != 0) return false;
    return d.rule.ctstate == 0 && decode_ctstate(c->state_mask, d);
  }
  if (name == "tcp" && rev == 0) {
    const auto* t = payload<xt_tcp>(m);
    if (t == nullptr || t->spts[0] != 0 || t->spts[1] != 0xffff || t->option != 0 ||
        t->flg_mask != 0 || t->invflags != 0)
      return false;
    return set_dport(d, Proto::kTcp, t->dpts);
  }
  if (name == "udp" && rev == 0) {
    const auto* u = payload<xt_udp>(m);
    if (u == nullptr || u->spts[0] != 0 || u->spts[1] != 0xffff || u->invflags != 0) return false;
    return set_dport(d, Proto::kUdp, u->dpts);
  }
  if (name == "sctp" && rev == 0) {
    const auto* s = payload<xt_sctp_info>(m);
    if (s == nullptr || s->flags != XT_SCTP_DEST_PORTS || s->invflags != 0) return false;
    return set_dport(d, Proto::kSctp, s->dpts);
  }
  return false;
}

void decode_matches(const unsigned char* base, size_t first, size_t target_offset, Decoded& d) {
  for (size_t at = first; at + sizeof(xt_entry_match) <= target_offset;) {
    const auto* m = reinterpret_cast<const xt_entry_match*>(base + at);
    if (m->u.match_size < sizeof(xt_entry_match)) break;  // malformed: stop rather than loop
    std::string_view name(m->u.user.name, strnlen(m->u.user.name, sizeof m->u.user.name));
    if (!decode_known(m, name, d)) d.note(fmt::format("-m {}", name));
    at += m->u.match_size;
  }
}

IpAddr v6_of(const in6_addr& a) {
  u128 v = 0;
  for (uint8_t byte : a.s6_addr) v = (v << 8) | byte;
  return IpAddr::from_value(true, v);
}

void decode_dnat(const xt_entry_target* t, Family f, Decoded& d) {
  size_t have = t->u.target_size - XT_ALIGN(sizeof(xt_entry_target));
  const auto* n = reinterpret_cast<const nf_nat_range2*>(t->data);
  const unsigned known =
      NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED | NF_NAT_RANGE_PROTO_OFFSET;
  if (t->u.user.revision != 2 || have < sizeof(nf_nat_range2) || (n->flags & ~known) != 0 ||
      (n->flags & NF_NAT_RANGE_MAP_IPS) == 0 ||
      std::memcmp(&n->min_addr, &n->max_addr, sizeof n->min_addr) != 0) {
    d.note("[DNAT options]");
    return;
  }
  d.rule.to_addr = f == Family::kV6 ? v6_of(n->min_addr.in6) : IpAddr::v4(ntohl(n->min_addr.ip));
  if (n->flags & NF_NAT_RANGE_PROTO_SPECIFIED) {
    d.rule.to_lo = ntohs(n->min_proto.all);
    d.rule.to_hi = ntohs(n->max_proto.all);
  }
  if (n->flags & NF_NAT_RANGE_PROTO_OFFSET) d.rule.to_base = ntohs(n->base_proto.all);
}

void decode_masquerade(const xt_entry_target* t, Family f, Decoded& d) {
  size_t have = t->u.target_size - XT_ALIGN(sizeof(xt_entry_target));
  if (f == Family::kV6) {
    const auto* r = reinterpret_cast<const nf_nat_range*>(t->data);
    if (t->u.user.revision != 0 || have < sizeof *r || r->flags != 0)
      d.note("[MASQUERADE options]");
    return;
  }
  const auto* m = reinterpret_cast<const nf_nat_ipv4_multi_range_compat*>(t->data);
  if (t->u.user.revision != 0 || have < sizeof *m || m->rangesize != 1 || m->range[0].flags != 0)
    d.note("[MASQUERADE options]");
}

}  // namespace

void decode_body(const unsigned char* base, size_t first, size_t target_offset, const char* target,
                 Family f, Rule& r, std::string& other) {
  Decoded d{std::move(r), std::move(other)};
  decode_matches(base, first, target_offset, d);
  d.rule.target = target != nullptr ? target : "";
  const auto* t = reinterpret_cast<const xt_entry_target*>(base + target_offset);
  if (d.rule.target == "DNAT") decode_dnat(t, f, d);
  if (d.rule.target == "MASQUERADE") decode_masquerade(t, f, d);
  r = std::move(d.rule);
  other = std::move(d.other);
}

Rule decode(const ipt_entry* e, const char* target) {
  Decoded d;
  decode_ip(e->ip, d);
  decode_body(reinterpret_cast<const unsigned char*>(e), sizeof(ipt_entry), e->target_offset,
              target, Family::kV4, d.rule, d.other);
  d.rule.other = std::move(d.other);
  return d.rule;
}

}  // namespace cnm::kernel::fw

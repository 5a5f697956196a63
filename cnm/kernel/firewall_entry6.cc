// fw::encode6() / fw::decode6(): fw::Rule <-> ip6t_entry, byte for byte what ip6tables 1.8.9
// builds (firewall_entry.h). Only the header differs from IPv4; matches and targets are shared.
// netinet/in.h before the kernel headers, which then leave its definitions alone.
#include <arpa/inet.h>
#include <netinet/in.h>
// clang-format off
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
// clang-format on

#include <bit>
#include <cstring>

#include "cnm/kernel/firewall_entry.h"

namespace cnm::kernel::fw {
namespace {

in6_addr in6_of(const IpAddr& a) {
  in6_addr out{};
  auto b = a.bytes();
  std::memcpy(out.s6_addr, b.data(), sizeof out.s6_addr);
  return out;
}

in6_addr mask6(int len) {
  in6_addr m{};
  for (int i = 0; i < 16; ++i) {
    int bits = std::clamp(len - 8 * i, 0, 8);
    m.s6_addr[i] = static_cast<uint8_t>(0xff00 >> bits);
  }
  return m;
}

ip6t_ip6 ip_header6(const Rule& r) {
  ip6t_ip6 ip{};
  if (r.src) {
    ip.src = in6_of(r.src->addr());
    ip.smsk = mask6(r.src->len());
  }
  if (r.dst) {
    ip.dst = in6_of(r.dst->addr());
    ip.dmsk = mask6(r.dst->len());
  }
  if (!r.in.empty()) set_iface(ip.iniface, ip.iniface_mask, r.in);
  if (!r.out.empty()) set_iface(ip.outiface, ip.outiface_mask, r.out);
  if (r.not_in) ip.invflags |= IP6T_INV_VIA_IN;
  if (r.not_out) ip.invflags |= IP6T_INV_VIA_OUT;
  if (r.proto) {
    ip.proto = ip_proto(*r.proto);
    ip.flags |= IP6T_F_PROTO;  // ip6tables sets it whenever -p is given
  }
  return ip;
}

IpAddr addr6(const in6_addr& a) {
  u128 v = 0;
  for (uint8_t byte : a.s6_addr) v = (v << 8) | byte;
  return IpAddr::from_value(true, v);
}

void note(std::string& other, const std::string& what) {
  if (!other.empty()) other += ' ';
  other += what;
}

std::optional<Prefix> prefix6(const in6_addr& addr, const in6_addr& mask, const char* flag,
                              std::string& other) {
  int len = 0;
  for (uint8_t byte : mask.s6_addr) len += std::popcount(byte);
  if (len == 0) return std::nullopt;
  in6_addr want = mask6(len);
  if (std::memcmp(&mask, &want, sizeof mask) != 0) {
    note(other, fmt::format("{} {}/{}", flag, addr6(addr).str(), addr6(mask).str()));
    return std::nullopt;
  }
  return Prefix(addr6(addr), len);
}

std::string iface(const char* name) { return std::string(name, strnlen(name, IFNAMSIZ)); }

void decode_ip6(const ip6t_ip6& ip, Rule& r, std::string& other) {
  r.src = prefix6(ip.src, ip.smsk, "-s", other);
  r.dst = prefix6(ip.dst, ip.dmsk, "-d", other);
  r.in = iface(ip.iniface);
  r.out = iface(ip.outiface);
  r.not_in = (ip.invflags & IP6T_INV_VIA_IN) != 0;
  r.not_out = (ip.invflags & IP6T_INV_VIA_OUT) != 0;
  if (ip.proto != 0) {
    for (Proto p : {Proto::kTcp, Proto::kUdp, Proto::kSctp})
      if (ip_proto(p) == ip.proto) r.proto = p;
    if (!r.proto) note(other, fmt::format("-p {}", ip.proto));
  }
  // ip6tables sets IP6T_F_PROTO with -p; anything else is beyond the model.
  uint8_t flags = ip.proto != 0 ? ip.flags & ~IP6T_F_PROTO : ip.flags;
  if (flags != 0) note(other, fmt::format("[flags 0x{:x}]", flags));
  if ((ip.invflags & ~(IP6T_INV_VIA_IN | IP6T_INV_VIA_OUT)) != 0)
    note(other, fmt::format("[inverted 0x{:x}]", ip.invflags));
}

}  // namespace

Entry encode6(const Rule& r) {
  ip6t_entry e{};
  e.ipv6 = ip_header6(r);
  return assemble(e, encode_body(r, Family::kV6));
}

Rule decode6(const ip6t_entry* e, const char* target) {
  Rule r;
  std::string other;
  decode_ip6(e->ipv6, r, other);
  decode_body(reinterpret_cast<const unsigned char*>(e), sizeof(ip6t_entry), e->target_offset,
              target, Family::kV6, r, other);
  r.other = std::move(other);
  return r;
}

}  // namespace cnm::kernel::fw

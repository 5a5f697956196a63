#include "cnm/model/net.h"

#include <arpa/inet.h>

#include <charconv>

namespace cnm {
namespace {

u128 mask_of(int bits, int len) {
  if (len <= 0) return 0;
  u128 all = bits == 128 ? ~u128{0} : ((u128{1} << bits) - 1);
  u128 host = len >= bits ? 0 : ((u128{1} << (bits - len)) - 1);
  return all & ~host;
}

}  // namespace

Result<IpAddr> IpAddr::parse(std::string_view text) {
  std::string s(text);
  // inet_pton stops at a NUL, so "10.0.0.1\0junk" (possible from JSON) must be refused here.
  if (s.empty() || s.size() > 45 || s.find('\0') != std::string::npos)
    return fail(Code::kInvalid, "invalid IP address '{}'", text);
  IpAddr a;
  a.set_ = true;
  if (s.find(':') == std::string::npos) {
    in_addr v4{};
    if (inet_pton(AF_INET, s.c_str(), &v4) != 1)
      return fail(Code::kInvalid, "invalid IP address '{}'", text);
    a.value_ = ntohl(v4.s_addr);
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) != 1)
    return fail(Code::kInvalid, "invalid IP address '{}'", text);
  a.v6_ = true;
  for (uint8_t byte : v6.s6_addr) a.value_ = (a.value_ << 8) | byte;
  return a;
}

IpAddr IpAddr::v4(uint32_t host_order) { return from_value(false, host_order); }

IpAddr IpAddr::from_value(bool v6, u128 value) {
  IpAddr a;
  a.set_ = true;
  a.v6_ = v6;
  a.value_ = v6 ? value : (value & 0xffffffffu);
  return a;
}

std::array<uint8_t, 16> IpAddr::bytes() const {
  std::array<uint8_t, 16> out{};
  int n = v6_ ? 16 : 4;
  u128 v = value_;
  for (int i = n - 1; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::string IpAddr::str() const {
  if (!set_) return "";
  auto b = bytes();
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6_ ? AF_INET6 : AF_INET, b.data(), buf, sizeof buf);
  return buf;
}

Result<Prefix> Prefix::parse(std::string_view text, bool strict) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return fail(Code::kInvalid, "invalid CIDR '{}': missing /length", text);
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) return fail(Code::kInvalid, "invalid CIDR '{}': bad address", text);
  auto lt = text.substr(slash + 1);
  int len = -1;
  auto [ptr, ec] = std::from_chars(lt.data(), lt.data() + lt.size(), len);
  // from_chars accepts a leading '-', so "-0" would pass as /0 without the digit check.
  if (lt.empty() || lt.front() < '0' || lt.front() > '9' || ec != std::errc{} ||
      ptr != lt.data() + lt.size() || len < 0 || len > addr->bits())
    return fail(Code::kInvalid, "invalid CIDR '{}': bad prefix length", text);
  Prefix p(*addr, len);
  if (strict && p.network() != *addr)
    return fail(Code::kInvalid, "invalid subnet '{}': host bits set (did you mean {}/{}?)", text,
                p.network().str(), len);
  return p;
}

IpAddr Prefix::network() const {
  return IpAddr::from_value(is_v6(), addr_.value() & mask_of(addr_.bits(), len_));
}

IpAddr Prefix::last() const {
  u128 all = addr_.bits() == 128 ? ~u128{0} : ((u128{1} << 32) - 1);
  return IpAddr::from_value(is_v6(), network().value() | (all & ~mask_of(addr_.bits(), len_)));
}

u128 Prefix::size() const {
  int host_bits = addr_.bits() - len_;
  if (host_bits >= 127) return u128{1} << 127;
  return u128{1} << host_bits;
}

bool Prefix::contains(const IpAddr& a) const {
  if (a.is_v6() != is_v6()) return false;
  return (a.value() & mask_of(addr_.bits(), len_)) == network().value();
}

bool Prefix::contains(const Prefix& p) const { return p.len_ >= len_ && contains(p.addr_); }

bool Prefix::overlaps(const Prefix& p) const {
  if (p.is_v6() != is_v6()) return false;
  return contains(p.network()) || p.contains(network());
}

std::string Prefix::str() const { return fmt::format("{}/{}", addr_.str(), len_); }

}  // namespace cnm

// IPv4/IPv6 addresses and prefixes: parsing, formatting and arithmetic. Pure logic.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "cnm/model/error.h"

namespace cnm {

using u128 = unsigned __int128;

class IpAddr {
 public:
  IpAddr() = default;
  // Parses dotted IPv4 or RFC 4291 IPv6 text; anything else is Code::kInvalid.
  static Result<IpAddr> parse(std::string_view text);
  static IpAddr v4(uint32_t host_order);
  static IpAddr from_value(bool v6, u128 value);

  bool is_v6() const { return v6_; }
  int bits() const { return v6_ ? 128 : 32; }
  // The address as an integer (IPv4 in the low 32 bits).
  u128 value() const { return value_; }
  std::string str() const;
  // Network-order bytes: 4 for IPv4, 16 for IPv6.
  std::array<uint8_t, 16> bytes() const;
  bool valid() const { return set_; }

  auto operator<=>(const IpAddr&) const = default;

 private:
  bool set_ = false;
  bool v6_ = false;
  u128 value_ = 0;
};

class Prefix {
 public:
  Prefix() = default;
  Prefix(IpAddr addr, int len) : addr_(addr), len_(len) {}
  // Parses "addr/len". With `strict`, host bits must be zero (a subnet); otherwise the address is
  // kept as given (an interface address such as 10.0.0.1/24).
  static Result<Prefix> parse(std::string_view text, bool strict = true);

  const IpAddr& addr() const { return addr_; }
  int len() const { return len_; }
  bool is_v6() const { return addr_.is_v6(); }
  IpAddr network() const;
  IpAddr last() const;  // broadcast for IPv4
  // Number of addresses in the prefix, saturated at 2^127 for huge IPv6 prefixes.
  u128 size() const;
  bool contains(const IpAddr& a) const;
  bool contains(const Prefix& p) const;
  bool overlaps(const Prefix& p) const;
  std::string str() const;

  auto operator<=>(const Prefix&) const = default;

 private:
  IpAddr addr_;
  int len_ = 0;
};

}  // namespace cnm

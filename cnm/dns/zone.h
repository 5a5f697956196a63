// The names netctl answers for (cnm/dns/README.md): an immutable index built from the networks and
// endpoints tables, read without locks by the answer path (cnm/dns/answer.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cnm/model/model.h"

namespace cnm::dns {

// The longest name the zone holds, in presentation form without the final dot (RFC 1035).
inline constexpr size_t kMaxName = 253;

// Whether `c` may appear in a label of a zone name (names are lowercase).
inline bool is_name_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

struct AddrHash {
  size_t operator()(const IpAddr& a) const noexcept;
};
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class Zone {
 public:
  using NetIndex = uint32_t;
  // One address a name has, on one network.
  struct Record {
    NetIndex net;
    IpAddr addr;
  };
  // The PTR target of an address on one network: a name in wire form (length-prefixed labels).
  struct Reverse {
    NetIndex net;
    std::vector<uint8_t> target;
  };
  // The networks a namespace is on (sorted): the names it may see.
  using Scope = std::vector<NetIndex>;

  // The scope of a query that arrived on gateway `local` from `source`: the networks of the
  // namespace whose endpoint on that gateway's network has address `source`. nullptr when `local`
  // is no DNS network's gateway or `source` no endpoint on it.
  const Scope* scope(const IpAddr& local, const IpAddr& source) const;
  // The records of `name` (lowercase, no final dot) on every network; filter with visible().
  std::span<const Record> records(std::string_view name) const;
  // The PTR targets of `addr` on every network; filter with visible().
  std::span<const Reverse> reverse(const IpAddr& addr) const;
  static bool visible(const Scope& scope, NetIndex net);
  // Whether `name` (lowercase) is a DNS network's name.
  bool is_network(std::string_view name) const { return networks_.contains(name); }
  // Whether `addr` lies in a DNS network's subnet: its reverse name is netctl's.
  bool in_reverse_zone(const IpAddr& addr) const;
  size_t name_count() const { return names_.size(); }

 private:
  friend class ZoneBuilder;
  friend std::vector<IpAddr> listen_addresses(const Zone& z);

  struct SourceKey {
    NetIndex net;
    IpAddr addr;
    bool operator==(const SourceKey&) const = default;
  };
  struct SourceHash {
    size_t operator()(const SourceKey& k) const noexcept;
  };

  std::unordered_set<std::string, TextHash, std::equal_to<>> networks_;
  std::unordered_map<std::string, std::vector<Record>, TextHash, std::equal_to<>> names_;
  std::unordered_map<IpAddr, std::vector<Reverse>, AddrHash> reverse_;
  std::unordered_map<IpAddr, NetIndex, AddrHash> gateways_;
  std::unordered_map<SourceKey, uint32_t, SourceHash> sources_;  // -> index in scopes_
  std::vector<Scope> scopes_;
  std::vector<Prefix> subnets_;  // of DNS networks
  std::vector<IpAddr> listen_;
};

// Builds the zone of the DNS networks (cnm::dns_enabled) among `networks` and their endpoints.
// Names that are no valid host name (labels of letters, digits, '-' and '_', at most 63 bytes, 253
// in all) are left out.
std::shared_ptr<const Zone> build_zone(std::span<const Network> networks,
                                       std::span<const Endpoint> endpoints);
// The gateway addresses (IPv4, and IPv6 of dual-stack networks) of DNS networks that have at
// least one endpoint: where the server listens. Sorted, without duplicates.
std::vector<IpAddr> listen_addresses(const Zone& z);

// `name` lowercased without a final dot when it is a valid host name (see build_zone), else "".
std::string normalize_name(std::string_view name);

}  // namespace cnm::dns

// The built-in IPAM ("default"): Docker's default-address-pools subnet choice and a lowest-free
// address allocator. Pure logic; the controller supplies what is in use and stores the results.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "cnm/model/error.h"
#include "cnm/model/ipam.h"
#include "cnm/model/net.h"

namespace ipam {

// Docker's built-in IPv4 defaults: 172.17.0.0/16 .. 172.31.0.0/16 (one /16 each), then
// 192.168.0.0/16 carved into /20s. (Docker has no IPv6 default pool.)
std::vector<cnm::AddressPoolBase> docker_default_pools();

// Checks a configured pool list before it is handed to DefaultIpam: every base must be a subnet
// (no host bits) of the given family, and `size` must lie between the base length and the largest
// usable subnet length (30 for IPv4, 126 for IPv6), and no base may overlap a reserved range (see
// request_pool). Bad entries are Code::kInvalid.
cnm::Status check_pools(std::span<const cnm::AddressPoolBase> pools, bool v6);

class DefaultIpam : public cnm::Ipam {
 public:
  // Smallest subnets the IPAM accepts: a network needs a gateway and at least one more host.
  static constexpr int kMaxPrefixLenV4 = 30;
  static constexpr int kMaxPrefixLenV6 = 126;

  // `v4_pools` and `v6_pools` are walked in order when a request names no subnet. Entries that
  // check_pools() would reject are skipped rather than trusted.
  explicit DefaultIpam(std::vector<cnm::AddressPoolBase> v4_pools = docker_default_pools(),
                       std::vector<cnm::AddressPoolBase> v6_pools = {});

  std::string_view name() const override { return "default"; }

  // See cnm::Ipam. Explicit subnets must match req.v6, be no longer than /30 (/126) and overlap no
  // network of the same family; they may overlap host routes. A subnet overlapping a reserved range
  // (0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4, 240.0.0.0/4, ::/128, ::1/128, ff00::/8) is
  // Code::kInvalid, checked before any conflict. An automatic choice is the first
  // pool subnet overlapping neither a network nor a host prefix (default routes, length 0, are
  // ignored); time is O(k log k) in the number of those prefixes, whatever the pool sizes.
  // Gateway, ip_range and aux without a subnet are Code::kInvalid (Docker rejects them too).
  cnm::Result<cnm::Pool> request_pool(const cnm::PoolRequest& req,
                                      std::span<const cnm::Prefix> networks,
                                      std::span<const cnm::Prefix> host) const override;

  // See cnm::Ipam. Reserved: the network address (IPv6 subnet-router anycast too), the IPv4
  // broadcast, the gateway and the aux addresses. A wanted address may lie outside ip_range as
  // long as it is inside the subnet. O(n log n) in |used|.
  cnm::Result<cnm::IpAddr> allocate(const cnm::Pool& pool, std::span<const cnm::IpAddr> used,
                                    std::optional<cnm::IpAddr> want) const override;

  // See cnm::Ipam. O(number of aux addresses).
  std::optional<cnm::IpAddr> candidate(const cnm::Pool& pool,
                                       const cnm::IpAddr& from) const override;

 private:
  std::vector<cnm::AddressPoolBase> v4_pools_;
  std::vector<cnm::AddressPoolBase> v6_pools_;
};

}  // namespace ipam

#include "ipam/default_ipam.h"

#include <algorithm>
#include <utility>

namespace ipam {
namespace {

using cnm::Code;
using cnm::fail;
using cnm::IpAddr;
using cnm::Prefix;
using cnm::u128;

const char* family(bool v6) { return v6 ? "IPv6" : "IPv4"; }
int max_len(bool v6) { return v6 ? DefaultIpam::kMaxPrefixLenV6 : DefaultIpam::kMaxPrefixLenV4; }
bool is_subnet(const Prefix& p) { return p.addr().valid() && p.network() == p.addr(); }

// An inclusive range of addresses; the prefixes a subnet choice must avoid, as integers.
struct Span {
  u128 first;
  u128 last;
};

// Address ranges no network may overlap: IPv4 "this network", loopback, multicast and the
// reserved class E; IPv6 unspecified, loopback and multicast. A bridge there would take over
// addresses the host stack treats specially (127.0.0.1 on a bridge, a multicast gateway).
struct ReservedRange {
  std::string_view prefix;
  std::string_view what;
};
constexpr ReservedRange kReserved[] = {
    {"0.0.0.0/8", "\"this network\""}, {"127.0.0.0/8", "loopback"}, {"224.0.0.0/4", "multicast"},
    {"240.0.0.0/4", "reserved"},       {"::/128", "unspecified"},   {"::1/128", "loopback"},
    {"ff00::/8", "multicast"},
};

// Code::kInvalid "<what> overlaps the loopback range 127.0.0.0/8" if `p` overlaps a reserved range.
cnm::Status check_unreserved(const Prefix& p, std::string_view what) {
  for (const auto& r : kReserved) {
    auto range = Prefix::parse(r.prefix);
    if (range && range->is_v6() == p.is_v6() && p.overlaps(*range))
      return fail(Code::kInvalid, "{} overlaps the {} range {}", what, r.what, r.prefix);
  }
  return {};
}

cnm::Status check_subnet(const Prefix& s, bool v6) {
  if (!s.addr().valid() || s.is_v6() != v6)
    return fail(Code::kInvalid, "subnet {} is not an {} subnet", s.str(), family(v6));
  if (!is_subnet(s))
    return fail(Code::kInvalid, "subnet {} has host bits set (did you mean {}/{}?)", s.str(),
                s.network().str(), s.len());
  if (s.len() > max_len(v6))
    return fail(Code::kInvalid, "subnet {} is too small: the longest {} prefix allowed is /{}",
                s.str(), family(v6), max_len(v6));
  return check_unreserved(s, fmt::format("subnet {}", s.str()));
}

cnm::Result<IpAddr> pick_gateway(const Prefix& s, const std::optional<IpAddr>& gw) {
  if (!gw) return IpAddr::from_value(s.is_v6(), s.network().value() + 1);
  if (!s.contains(*gw))
    return fail(Code::kInvalid, "gateway {} is outside subnet {}", gw->str(), s.str());
  if (*gw == s.network())
    return fail(Code::kInvalid, "gateway {} is the network address of subnet {}", gw->str(),
                s.str());
  if (!s.is_v6() && *gw == s.last())
    return fail(Code::kInvalid, "gateway {} is the broadcast address of subnet {}", gw->str(),
                s.str());
  return *gw;
}

// Completes a pool around a validated subnet: gateway, ip range and aux addresses.
cnm::Result<cnm::Pool> build_pool(const Prefix& s, const cnm::PoolRequest& req) {
  cnm::Pool pool;
  pool.subnet = s;
  auto gw = CNM_VALUE(pick_gateway(s, req.gateway));
  pool.gateway = gw;
  if (req.ip_range) {
    const Prefix& r = *req.ip_range;
    if (!s.contains(r))
      return fail(Code::kInvalid, "ip range {} is outside subnet {}", r.str(), s.str());
    if (!is_subnet(r))
      return fail(Code::kInvalid, "ip range {} has host bits set (did you mean {}/{}?)", r.str(),
                  r.network().str(), r.len());
    pool.ip_range = r;
  }
  for (const auto& [name, addr] : req.aux) {
    if (!s.contains(addr))
      return fail(Code::kInvalid, "aux address {}={} is outside subnet {}", name, addr.str(),
                  s.str());
  }
  pool.aux = req.aux;
  return pool;
}

bool usable_pool(const cnm::AddressPoolBase& p, bool v6) {
  return is_subnet(p.base) && p.base.is_v6() == v6 && p.size >= p.base.len() &&
         p.size <= max_len(v6) && check_unreserved(p.base, "").has_value();
}

// The prefixes of one family an automatic choice must avoid, sorted and merged so that both the
// starts and the ends ascend (binary search on the end then finds the first one at or after x).
std::vector<Span> taken_spans(bool v6, std::span<const Prefix> networks,
                              std::span<const Prefix> host) {
  std::vector<Span> spans;
  spans.reserve(networks.size() + host.size());
  auto add = [&](const Prefix& p) {
    if (p.addr().valid() && p.is_v6() == v6)
      spans.push_back({p.network().value(), p.last().value()});
  };
  for (const Prefix& p : networks) add(p);
  for (const Prefix& p : host) {
    if (p.len() > 0) add(p);  // a default route covers everything; Docker ignores it too
  }
  std::ranges::sort(spans, {}, &Span::first);
  std::vector<Span> merged;
  for (const Span& s : spans) {
    if (!merged.empty() && s.first <= merged.back().last) {
      merged.back().last = std::max(merged.back().last, s.last);
    } else {
      merged.push_back(s);
    }
  }
  return merged;
}

// The first subnet of `pool` overlapping no span. Each step either returns or jumps past one
// span, so the loop runs at most |taken|+1 times however large the pool is.
std::optional<Prefix> first_free(const cnm::AddressPoolBase& pool, const std::vector<Span>& taken) {
  const bool v6 = pool.base.is_v6();
  const int host_bits = pool.base.addr().bits() - pool.size;
  const u128 step_mask = host_bits >= 128 ? ~u128{0} : (u128{1} << host_bits) - 1;
  const u128 end = pool.base.last().value();
  u128 cand = pool.base.network().value();
  for (;;) {
    const u128 cand_last = cand | step_mask;
    auto it = std::ranges::lower_bound(taken, cand, {}, &Span::last);
    if (it == taken.end() || it->first > cand_last)
      return Prefix(IpAddr::from_value(v6, cand), pool.size);
    if (it->last >= end) return std::nullopt;
    // The next candidate boundary after the span; no overflow since it->last < end.
    u128 next = it->last + 1;
    if ((next & step_mask) != 0) {
      next |= step_mask;
      if (next >= end) return std::nullopt;
      ++next;
    }
    cand = next;
  }
}

cnm::Result<Prefix> choose_subnet(std::span<const cnm::AddressPoolBase> pools, bool v6,
                                  std::span<const Prefix> networks, std::span<const Prefix> host) {
  if (v6 && pools.empty())
    return fail(Code::kInvalid, "no IPv6 subnet given and no IPv6 default pool configured");
  const std::vector<Span> taken = taken_spans(v6, networks, host);
  for (const auto& pool : pools) {
    if (!usable_pool(pool, v6)) continue;
    if (auto s = first_free(pool, taken)) return *s;
  }
  return fail(Code::kConflict, "all default address pools are in use");
}

cnm::Result<IpAddr> check_wanted(const cnm::Pool& pool, std::span<const IpAddr> used,
                                 const IpAddr& want) {
  const Prefix& s = pool.subnet;
  if (!s.contains(want))
    return fail(Code::kInvalid, "address {} is outside subnet {}", want.str(), s.str());
  if (want == s.network())
    return fail(Code::kConflict, "address {} is reserved (network address of {})", want.str(),
                s.str());
  if (!s.is_v6() && want == s.last())
    return fail(Code::kConflict, "address {} is reserved (broadcast address of {})", want.str(),
                s.str());
  if (want == pool.gateway)
    return fail(Code::kConflict, "address {} is the gateway of {}", want.str(), s.str());
  for (const auto& [name, addr] : pool.aux) {
    if (addr == want)
      return fail(Code::kConflict, "address {} is reserved (aux address {})", want.str(), name);
  }
  if (std::ranges::find(used, want) != used.end())
    return fail(Code::kConflict, "address {} is already in use", want.str());
  return want;
}

}  // namespace

std::vector<cnm::AddressPoolBase> docker_default_pools() {
  std::vector<cnm::AddressPoolBase> pools;
  for (uint32_t second = 17; second <= 31; ++second)
    pools.push_back({Prefix(IpAddr::v4((172u << 24) | (second << 16)), 16), 16});
  pools.push_back({Prefix(IpAddr::v4(192u << 24 | 168u << 16), 16), 20});
  return pools;
}

cnm::Status check_pools(std::span<const cnm::AddressPoolBase> pools, bool v6) {
  for (const auto& p : pools) {
    const std::string what = fmt::format("default address pool {} size {}", p.base.str(), p.size);
    if (!p.base.addr().valid() || p.base.is_v6() != v6)
      return fail(Code::kInvalid, "{}: not an {} prefix", what, family(v6));
    if (!is_subnet(p.base)) return fail(Code::kInvalid, "{}: base has host bits set", what);
    if (p.size < p.base.len() || p.size > max_len(v6))
      return fail(Code::kInvalid, "{}: size must be between /{} and /{}", what, p.base.len(),
                  max_len(v6));
    CNM_TRY(check_unreserved(p.base, what));
  }
  return {};
}

DefaultIpam::DefaultIpam(std::vector<cnm::AddressPoolBase> v4_pools,
                         std::vector<cnm::AddressPoolBase> v6_pools)
    : v4_pools_(std::move(v4_pools)), v6_pools_(std::move(v6_pools)) {}

cnm::Result<cnm::Pool> DefaultIpam::request_pool(const cnm::PoolRequest& req,
                                                 std::span<const Prefix> networks,
                                                 std::span<const Prefix> host) const {
  if (req.subnet) {
    const Prefix& s = *req.subnet;
    CNM_TRY(check_subnet(s, req.v6));
    auto pool = CNM_VALUE(build_pool(s, req));
    for (const Prefix& n : networks) {
      if (n.addr().valid() && s.overlaps(n))
        return fail(Code::kConflict, "subnet {} overlaps network subnet {}", s.str(), n.str());
    }
    return pool;
  }
  if (req.gateway || req.ip_range || !req.aux.empty())
    return fail(Code::kInvalid, "a gateway, ip range or aux address needs an explicit {} subnet",
                family(req.v6));
  auto s = CNM_VALUE(choose_subnet(req.v6 ? v6_pools_ : v4_pools_, req.v6, networks, host));
  return build_pool(s, req);
}

cnm::Result<IpAddr> DefaultIpam::allocate(const cnm::Pool& pool, std::span<const IpAddr> used,
                                          std::optional<IpAddr> want) const {
  if (want) return check_wanted(pool, used, *want);
  const Prefix& s = pool.subnet;
  const Prefix range = pool.ip_range.value_or(s);
  // Only the reserved and used addresses inside the range matter; walk the gaps between them.
  std::vector<u128> taken;
  taken.reserve(used.size() + pool.aux.size() + 3);
  auto add = [&](const IpAddr& a) {
    if (range.contains(a)) taken.push_back(a.value());
  };
  add(s.network());
  if (!s.is_v6()) add(s.last());
  add(pool.gateway);
  for (const auto& [name, addr] : pool.aux) add(addr);
  for (const IpAddr& a : used) add(a);
  std::ranges::sort(taken);
  u128 cand = range.network().value();
  const u128 last = range.last().value();
  for (u128 t : taken) {
    if (t > cand) break;
    if (t < cand) continue;  // a duplicate
    if (cand == last) return fail(Code::kConflict, "no free address in {}", range.str());
    ++cand;
  }
  return IpAddr::from_value(s.is_v6(), cand);
}

std::optional<IpAddr> DefaultIpam::candidate(const cnm::Pool& pool, const IpAddr& from) const {
  const Prefix& s = pool.subnet;
  const Prefix range = pool.ip_range.value_or(s);
  if (from.is_v6() != s.is_v6()) return std::nullopt;
  u128 cand = std::max(from.value(), range.network().value());
  const u128 last = range.last().value();
  auto reserved = [&](u128 v) {
    if (v == s.network().value() || v == pool.gateway.value()) return true;
    if (!s.is_v6() && v == s.last().value()) return true;
    for (const auto& [name, addr] : pool.aux)
      if (v == addr.value()) return true;
    return false;
  };
  for (; cand <= last; ++cand) {
    if (!reserved(cand)) return IpAddr::from_value(s.is_v6(), cand);
    if (cand == last) break;
  }
  return std::nullopt;
}

}  // namespace ipam

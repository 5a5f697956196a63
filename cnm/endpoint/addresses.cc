// EndpointService: endpoint addresses from a network's pools. An automatic allocation starts at the
// pool's hint (store::Store::ipam_hint) and asks the store about one candidate at a time, so an
// attach costs the same next to 10 endpoints as next to 1000; without a usable hint it reads every
// allocated address of the pool, as the IPAM interface allows. Releases keep the hint right.
// An address whose derived MAC another endpoint took with --mac is passed over, not refused.
#include <algorithm>
#include <charconv>
#include <map>

#include "cnm/core/records.h"
#include "cnm/core/txn.h"
#include "cnm/endpoint/endpoint_service.h"

namespace cnm {
namespace {

// Candidates asked about before falling back to reading the whole pool: a hint is normally exact,
// and off by a few only after addresses were taken with --ip.
constexpr int kHintProbes = 8;

std::optional<IpAddr> after(const IpAddr& a) {
  const u128 top = a.is_v6() ? ~u128{0} : u128{0xffffffff};
  if (a.value() == top) return std::nullopt;
  return IpAddr::from_value(a.is_v6(), a.value() + 1);
}

// The IPv4 address `mac` is derived from (mac_from: "02:42:0a:58:00:02" is 10.88.0.2), if any.
std::optional<IpAddr> derived_from(std::string_view mac) {
  if (mac.size() != 17 || !mac.starts_with("02:42:")) return std::nullopt;
  uint32_t v = 0;
  for (size_t i = 6; i < mac.size(); i += 3) {
    unsigned byte = 0;
    auto [p, ec] = std::from_chars(mac.data() + i, mac.data() + i + 2, byte, 16);
    if (ec != std::errc{} || p != mac.data() + i + 2 || (i + 2 < mac.size() && mac[i + 2] != ':'))
      return std::nullopt;
    v = v << 8 | byte;
  }
  return IpAddr::v4(v);
}

}  // namespace

Result<IpAddr> EndpointService::allocate_address(const Pool& pool, const std::string& key,
                                                 const std::optional<IpAddr>& want, Hints& hints,
                                                 const std::string& mac_key) {
  if (want) {  // exactly that one: the IPAM checks it against the pool and whether it is taken
    auto owner = CNM_VALUE(store_.address_owner(key, want->str()));
    std::vector<IpAddr> used;
    if (!owner.empty()) used.push_back(*want);
    return ipam_.allocate(pool, used, want);
  }
  auto mac_taken = [&](const IpAddr& a) -> Result<bool> {
    if (mac_key.empty()) return false;
    auto owner = CNM_VALUE(store_.address_owner(mac_key, mac_from(a)));
    return !owner.empty();
  };
  auto hint = CNM_VALUE(store_.ipam_hint(key));
  auto take = [&](const IpAddr& a) -> IpAddr {
    if (auto next = after(a)) hints.emplace_back(key, next->str());
    return a;
  };
  std::optional<IpAddr> from;
  if (auto h = IpAddr::parse(hint)) from = *h;
  for (int i = 0; from && i < kHintProbes; ++i) {
    auto c = ipam_.candidate(pool, *from);
    if (!c) break;  // nothing above the hint: the full read below looks below it too
    auto owner = CNM_VALUE(store_.address_owner(key, c->str()));
    if (owner.empty() && !CNM_VALUE(mac_taken(*c))) return take(*c);
    from = after(*c);
  }
  auto used_text = CNM_VALUE(store_.addresses(key));
  std::vector<IpAddr> used;
  used.reserve(used_text.size());
  for (const auto& u : used_text)
    if (auto a = IpAddr::parse(u)) used.push_back(*a);
  if (!mac_key.empty()) {  // the addresses whose derived MAC is taken count as used
    auto macs = CNM_VALUE(store_.addresses(mac_key));
    for (const auto& m : macs)
      if (auto a = derived_from(m)) used.push_back(*a);
  }
  auto a = CNM_VALUE(ipam_.allocate(pool, used, std::nullopt));
  return take(a);
}

void EndpointService::lower_hints(Txn& tx, const Network& n, const std::vector<Endpoint>& eps) {
  for (size_t i = 0; i < n.pools.size(); ++i) {
    std::optional<IpAddr> lowest;
    auto consider = [&](const IpAddr& a) {
      if (!lowest || a < *lowest) lowest = a;
    };
    for (const auto& e : eps) {
      if (i < e.addresses.size()) consider(e.addresses[i].addr());
      auto freed = derived_from(e.mac);  // its --mac held back this address from allocation
      if (freed && !n.pools[i].subnet.is_v6() && n.pools[i].subnet.contains(*freed))
        consider(*freed);
    }
    if (!lowest) continue;
    const std::string key = pool_key(n, n.pools[i]);
    auto hint = store_.ipam_hint(key);
    if (!hint || hint->empty()) continue;  // unknown stays unknown (the drop forgets it anyway)
    auto h = IpAddr::parse(*hint);
    if (!h || h->is_v6() != lowest->is_v6()) continue;
    tx.batch().set_hints.emplace_back(key, std::min(*h, *lowest).str());
  }
}

}  // namespace cnm

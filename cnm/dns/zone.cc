#include "cnm/dns/zone.h"

#include <algorithm>
#include <map>
#include <utility>

namespace cnm::dns {
namespace {

size_t zone_mix(uint64_t a, uint64_t b) {
  // A 64-bit finaliser over both halves: addresses of one subnet differ in their low bits only.
  uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL + (a << 6) + (a >> 2));
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<size_t>(h);
}

// The wire form of a normalized name: each label behind its length, then the root's zero.
std::vector<uint8_t> zone_wire_name(std::string_view name) {
  std::vector<uint8_t> out;
  out.reserve(name.size() + 2);
  while (!name.empty()) {
    size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  }
  out.push_back(0);
  return out;
}

}  // namespace

size_t AddrHash::operator()(const IpAddr& a) const noexcept {
  u128 v = a.value();
  return zone_mix(static_cast<uint64_t>(v >> 64) ^ (a.is_v6() ? 1 : 0), static_cast<uint64_t>(v));
}

size_t Zone::SourceHash::operator()(const SourceKey& k) const noexcept {
  return zone_mix(k.net, AddrHash{}(k.addr));
}

std::string normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxName) return "";
  std::string out(name);
  size_t label = 0;
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '.') {
      if (label == 0) return "";
      label = 0;
    } else if (!is_name_byte(c) || ++label > 63) {
      return "";
    }
  }
  return label == 0 ? "" : out;
}

const Zone::Scope* Zone::scope(const IpAddr& local, const IpAddr& source) const {
  auto g = gateways_.find(local);
  if (g == gateways_.end()) return nullptr;
  auto s = sources_.find(SourceKey{g->second, source});
  return s == sources_.end() ? nullptr : &scopes_[s->second];
}

std::span<const Zone::Record> Zone::records(std::string_view name) const {
  auto it = names_.find(name);
  if (it == names_.end()) return {};
  return it->second;
}

std::span<const Zone::Reverse> Zone::reverse(const IpAddr& addr) const {
  auto it = reverse_.find(addr);
  if (it == reverse_.end()) return {};
  return it->second;
}

bool Zone::visible(const Scope& scope, NetIndex net) {
  return std::ranges::binary_search(scope, net);
}

bool Zone::in_reverse_zone(const IpAddr& addr) const {
  return std::ranges::any_of(subnets_, [&](const Prefix& p) { return p.contains(addr); });
}

// Fills a Zone in three passes: the DNS networks, the names and addresses of their endpoints, and
// the scope of every endpoint address.
class ZoneBuilder {
 public:
  std::shared_ptr<Zone> build(std::span<const Network> networks,
                              std::span<const Endpoint> endpoints) {
    auto z = std::make_shared<Zone>();
    zone_ = z.get();
    add_networks(networks);
    for (const auto& e : endpoints)
      if (auto n = index_.find(e.network_id); n != index_.end()) add_endpoint(e, n->second);
    add_scopes(endpoints);
    finish();
    return z;
  }

 private:
  void add_networks(std::span<const Network> networks) {
    for (const auto& n : networks) {
      if (!dns_enabled(n) || index_.contains(n.id)) continue;
      auto net = static_cast<Zone::NetIndex>(names_.size());
      index_.emplace(n.id, net);
      names_.push_back(normalize_name(n.name));
      if (!names_.back().empty()) zone_->networks_.insert(names_.back());
      for (const auto& p : n.pools) {
        zone_->subnets_.push_back(p.subnet);
        zone_->gateways_.emplace(p.gateway, net);
      }
    }
    used_.assign(names_.size(), false);
  }

  void add_endpoint(const Endpoint& e, Zone::NetIndex net) {
    used_[net] = true;
    std::vector<std::string> names;
    auto add = [&](std::string_view raw) {
      auto name = normalize_name(raw);
      if (!name.empty() && std::ranges::find(names, name) == names.end()) names.push_back(name);
    };
    add(e.dns_name);
    for (const auto& alias : e.aliases) add(alias);
    for (const auto& name : names) {
      add_records(name, net, e);
      if (!names_[net].empty() && name.size() + 1 + names_[net].size() <= kMaxName)
        add_records(name + "." + names_[net], net, e);
    }
    if (names.empty()) return;
    auto target = zone_wire_name(names.front());  // its dns_name, else its first alias
    for (const auto& a : e.addresses) zone_->reverse_[a.addr()].push_back({net, target});
  }

  void add_records(const std::string& name, Zone::NetIndex net, const Endpoint& e) {
    auto& records = zone_->names_[name];
    for (const auto& a : e.addresses) {
      Zone::Record r{net, a.addr()};
      auto same = [&](const Zone::Record& o) { return o.net == r.net && o.addr == r.addr; };
      if (std::ranges::none_of(records, same)) records.push_back(r);
    }
  }

  // A namespace sees the names of every DNS network it has an endpoint on; an endpoint without a
  // namespace key is a namespace of its own.
  void add_scopes(std::span<const Endpoint> endpoints) {
    std::map<std::string, Zone::Scope> by_ns;
    auto key = [](const Endpoint& e) { return e.netns_key.empty() ? "id:" + e.id : e.netns_key; };
    for (const auto& e : endpoints)
      if (auto n = index_.find(e.network_id); n != index_.end()) by_ns[key(e)].push_back(n->second);
    std::map<std::string, uint32_t> scope_of;
    for (auto& [ns, nets] : by_ns) {
      std::ranges::sort(nets);
      nets.erase(std::unique(nets.begin(), nets.end()), nets.end());
      scope_of.emplace(ns, static_cast<uint32_t>(zone_->scopes_.size()));
      zone_->scopes_.push_back(std::move(nets));
    }
    for (const auto& e : endpoints) {
      auto n = index_.find(e.network_id);
      if (n == index_.end()) continue;
      for (const auto& a : e.addresses)
        zone_->sources_.emplace(Zone::SourceKey{n->second, a.addr()}, scope_of.at(key(e)));
    }
  }

  void finish() {
    for (const auto& [gw, net] : zone_->gateways_)
      if (used_[net]) zone_->listen_.push_back(gw);
    std::ranges::sort(zone_->listen_);
    zone_->listen_.erase(std::unique(zone_->listen_.begin(), zone_->listen_.end()),
                         zone_->listen_.end());
  }

  Zone* zone_ = nullptr;
  std::map<std::string, Zone::NetIndex> index_;  // network id -> index
  std::vector<std::string> names_;               // normalized network names, by index
  std::vector<bool> used_;                       // has an endpoint, by index
};

std::shared_ptr<const Zone> build_zone(std::span<const Network> networks,
                                       std::span<const Endpoint> endpoints) {
  return ZoneBuilder().build(networks, endpoints);
}

std::vector<IpAddr> listen_addresses(const Zone& z) { return z.listen_; }

}  // namespace cnm::dns

#include "cnm/cluster/cluster_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace cnm::cluster {
namespace {

constexpr std::string_view kScheme = "etcd://";

// RFC 1123 host name: labels of letters, digits and '-', not starting or ending with '-'.
bool is_dns_name(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  size_t start = 0;
  while (start <= h.size()) {
    size_t dot = h.find('.', start);
    std::string_view label = h.substr(start, dot == std::string_view::npos ? h.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // All-numeric dotted names are IPv4 literals or typos of one, never host names.
  return !std::all_of(h.begin(), h.end(), [](char c) { return std::isdigit(c) || c == '.'; });
}

bool is_ipv4(const std::string& h) {
  in_addr a{};
  return inet_pton(AF_INET, h.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& h) {
  in6_addr a{};
  return inet_pton(AF_INET6, h.c_str(), &a) == 1;
}

Result<uint16_t> parse_port(std::string_view p, std::string_view member) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (p.empty() || p.size() > 5 || ec != std::errc() || end != p.data() + p.size() || v == 0 ||
      v > 65535) {
    return fail(Code::kInvalid, "cluster-store member '{}': port must be 1-65535",
                printable(member));
  }
  return static_cast<uint16_t>(v);
}

Result<StoreEndpoint> parse_member(std::string_view m) {
  size_t colon = m.rfind(':');
  if (colon == std::string_view::npos)
    return fail(Code::kInvalid, "cluster-store member '{}': want HOST:PORT", printable(m));
  std::string_view host = m.substr(0, colon);
  auto port = CNM_VALUE(parse_port(m.substr(colon + 1), m));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    std::string h(host.substr(1, host.size() - 2));
    if (!is_ipv6(h))
      return fail(Code::kInvalid, "cluster-store member '{}': bad IPv6 address", printable(m));
    return StoreEndpoint{h, port};
  }
  std::string h(host);
  if (!is_ipv4(h) && !is_dns_name(h)) {
    return fail(Code::kInvalid,
                "cluster-store member '{}': host must be an IPv4 address, [IPv6] "
                "or a DNS name",
                printable(m));
  }
  return StoreEndpoint{h, port};
}

// The value in force and where it came from: the variable `name` if set and not empty, else the
// config file's value.
struct Setting {
  std::string value;
  const char* origin;
};
Setting setting(const EnvLookup& env, const char* name, std::optional<std::string_view> file) {
  const char* v = env ? env(name) : nullptr;
  if (v && *v) return {v, name};
  return {file ? std::string(*file) : std::string(), "config"};
}

}  // namespace

std::string StoreEndpoint::url() const {
  bool v6 = host.find(':') != std::string::npos;
  if (v6) return fmt::format("http://[{}]:{}", host, port);
  return fmt::format("http://{}:{}", host, port);
}

std::vector<std::string> ClusterConfig::urls() const {
  std::vector<std::string> out;
  for (const auto& e : store) out.push_back(e.url());
  return out;
}

Result<std::vector<StoreEndpoint>> parse_cluster_store(std::string_view value) {
  if (!value.starts_with(kScheme)) {
    return fail(Code::kInvalid, "cluster-store '{}': want etcd://HOST:PORT[,HOST:PORT...]",
                printable(value));
  }
  std::string_view rest = value.substr(kScheme.size());
  std::vector<StoreEndpoint> out;
  for (;;) {
    size_t comma = rest.find(',');
    auto e = CNM_VALUE(parse_member(rest.substr(0, comma)));
    if (std::find(out.begin(), out.end(), e) != out.end())
      return fail(Code::kInvalid, "cluster-store: member {} is listed twice", e.url());
    out.push_back(std::move(e));
    if (out.size() > kMaxStoreEndpoints)
      return fail(Code::kInvalid, "cluster-store: more than {} members", kMaxStoreEndpoints);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

Result<std::string> parse_cluster_advertise(std::string_view value) {
  std::string s(value);
  in_addr a4{};
  in6_addr a6{};
  bool bad = false;
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    uint32_t h = ntohl(a4.s_addr);
    bad = h == 0 || (h >> 24) == 127 || (h >> 28) == 0xe || h == 0xffffffff;
  } else if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    bad = IN6_IS_ADDR_UNSPECIFIED(&a6) || IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_MULTICAST(&a6);
  } else {
    return fail(Code::kInvalid, "cluster-advertise '{}': want this host's IP address",
                printable(value));
  }
  if (bad) {
    return fail(Code::kInvalid, "cluster-advertise {}: not a unicast address other hosts reach",
                printable(value));
  }
  return s;
}

Result<ClusterConfig> cluster_config(std::optional<std::string_view> store,
                                     std::optional<std::string_view> advertise,
                                     const EnvLookup& env) {
  ClusterConfig c;
  auto s = setting(env, "NETCTL_CLUSTER_STORE", store);
  auto a = setting(env, "NETCTL_CLUSTER_ADVERTISE", advertise);
  if (!s.value.empty()) {
    auto r = parse_cluster_store(s.value);
    if (!r) return context(s.origin, r.error());
    c.store = std::move(*r);
  }
  if (!a.value.empty()) {
    auto r = parse_cluster_advertise(a.value);
    if (!r) return context(a.origin, r.error());
    c.advertise = std::move(*r);
  }
  return c;
}

Status require_cluster(const ClusterConfig& c) {
  if (c.enabled() && !c.advertise.empty()) return {};
  return fail(Code::kInvalid,
              "multi-host networks need cluster-store and cluster-advertise in the config "
              "(or NETCTL_CLUSTER_STORE and NETCTL_CLUSTER_ADVERTISE)");
}

}  // namespace cnm::cluster

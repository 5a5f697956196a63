#include "plugins/cni/config.h"

#include <algorithm>
#include <charconv>

namespace cni {
namespace {

using nlohmann::json;

std::unexpected<Error> bad(int code, std::string msg) {
  return std::unexpected(Error{code, std::move(msg)});
}

// A key of `o` that must have `type` when present: kInvalidConfig naming it otherwise.
Result<const json*> member(const json& o, const char* key, json::value_t type) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return nullptr;
  bool ok = it->type() == type ||
            (type == json::value_t::number_unsigned && it->is_number_integer() && *it >= 0);
  if (!ok)
    return bad(kInvalidConfig,
               fmt::format("invalid configuration: \"{}\" has the wrong type", key));
  return &*it;
}

// Puts one address (optionally "addr/len") into ip or ip6, at most one per family.
std::optional<Error> take_ip(std::string_view text, std::string& ip, std::string& ip6, int code,
                             std::string_view what) {
  auto slash = text.find('/');
  auto a = cnm::IpAddr::parse(text.substr(0, slash));
  if (!a) return Error{code, fmt::format("{}: '{}' is not an IP address", what, text)};
  std::string& slot = a->is_v6() ? ip6 : ip;
  if (!slot.empty())
    return Error{code, fmt::format("{}: more than one IPv{} address", what, a->is_v6() ? 6 : 4)};
  slot = a->str();
  return std::nullopt;
}

std::optional<Error> port_mappings(const json& list, std::vector<std::string>& out) {
  if (!list.is_array()) return Error{kInvalidConfig, "runtimeConfig.portMappings: not a list"};
  for (const auto& m : list) {
    if (!m.is_object() || !m.contains("hostPort") || !m.contains("containerPort") ||
        !m["hostPort"].is_number_unsigned() || !m["containerPort"].is_number_unsigned() ||
        m["hostPort"] > 65535 || m["containerPort"] > 65535 || m["containerPort"] == 0)
      return Error{kInvalidConfig,
                   fmt::format("runtimeConfig.portMappings: invalid entry {}", m.dump())};
    std::string proto = m.value("protocol", "tcp"), host_ip = m.value("hostIP", "");
    std::transform(proto.begin(), proto.end(), proto.begin(), ::tolower);
    if (proto.empty()) proto = "tcp";
    std::string spec = fmt::format("{}:{}/{}", m["hostPort"].get<unsigned>(),
                                   m["containerPort"].get<unsigned>(), proto);
    if (!host_ip.empty())
      spec = (host_ip.find(':') != std::string::npos ? "[" + host_ip + "]" : host_ip) + ":" + spec;
    if (auto p = cnm::parse_port_spec(spec); !p)
      return Error{kInvalidConfig, "runtimeConfig.portMappings: " + p.error().message};
    out.push_back(spec);
  }
  return std::nullopt;
}

std::optional<Error> runtime_config(const json& rc, CniConfig& c) {
  if (!rc.is_object()) return Error{kInvalidConfig, "runtimeConfig: not an object"};
  if (auto it = rc.find("portMappings"); it != rc.end() && !it->is_null())
    if (auto e = port_mappings(*it, c.publish)) return e;
  if (auto it = rc.find("ips"); it != rc.end() && !it->is_null()) {
    if (!it->is_array()) return Error{kInvalidConfig, "runtimeConfig.ips: not a list"};
    for (const auto& ip : *it) {
      if (!ip.is_string()) return Error{kInvalidConfig, "runtimeConfig.ips: not a string"};
      if (auto e = take_ip(ip.get<std::string>(), c.ip, c.ip6, kInvalidConfig, "runtimeConfig.ips"))
        return e;
    }
  }
  if (auto it = rc.find("mac"); it != rc.end() && !it->is_null()) {
    if (!it->is_string()) return Error{kInvalidConfig, "runtimeConfig.mac: not a string"};
    c.mac = it->get<std::string>();
  }
  if (auto it = rc.find("aliases"); it != rc.end() && !it->is_null()) {
    // Podman's form: {"<network name>": ["a", "b"]}; a plain list is taken as is.
    const json* list = &*it;
    if (it->is_object()) {
      auto own = it->find(c.name);
      list = own != it->end() ? &*own : nullptr;
    }
    if (list != nullptr) {
      if (!list->is_array()) return Error{kInvalidConfig, "runtimeConfig.aliases: not a list"};
      for (const auto& a : *list) {
        if (!a.is_string()) return Error{kInvalidConfig, "runtimeConfig.aliases: not a string"};
        c.aliases.push_back(a.get<std::string>());
      }
    }
  }
  return std::nullopt;
}

std::optional<Error> attachments(const json& conf, CniConfig& c) {
  for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
    auto it = conf.find(key);
    if (it == conf.end() || it->is_null()) continue;
    if (!it->is_array()) return Error{kInvalidConfig, fmt::format("{}: not a list", key)};
    auto& out = c.valid_attachments.emplace();
    for (const auto& a : *it) {
      if (!a.is_object() || !a.contains("containerID") || !a["containerID"].is_string() ||
          (a.contains("ifname") && !a["ifname"].is_string()))
        return Error{kInvalidConfig, fmt::format("{}: invalid entry {}", key, a.dump())};
      out.emplace_back(a["containerID"].get<std::string>(), a.value("ifname", ""));
    }
    break;
  }
  return std::nullopt;
}

// The inline network definition: bridge, subnet(s), gateway(s), ipMasq, isGateway, mtu, internal,
// icc, dnsEnabled. Any of them makes the configuration define its network.
std::optional<Error> definition(const json& conf, CniConfig& c) {
  auto& r = c.create;
  r.name = c.network;
  for (const char* k : {"bridge", "subnet", "subnets", "gateway", "gateways", "ipMasq", "isGateway",
                        "mtu", "internal", "icc", "dnsEnabled"})
    c.define |= conf.contains(k) && !conf[k].is_null();
  auto str = [&](const char* k, std::vector<std::string>& out) -> std::optional<Error> {
    auto it = conf.find(k);
    if (it == conf.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) {
      out.push_back(it->get<std::string>());
      return std::nullopt;
    }
    if (!it->is_array())
      return Error{kInvalidConfig, fmt::format("\"{}\": not a string or list", k)};
    for (const auto& s : *it) {
      if (!s.is_string()) return Error{kInvalidConfig, fmt::format("\"{}\": not a string", k)};
      out.push_back(s.get<std::string>());
    }
    return std::nullopt;
  };
  for (auto [k, out] : {std::pair{"subnet", &r.subnets}, std::pair{"subnets", &r.subnets},
                        std::pair{"gateway", &r.gateways}, std::pair{"gateways", &r.gateways}})
    if (auto e = str(k, *out)) return e;
  for (const auto& s : r.subnets) {
    auto p = cnm::Prefix::parse(s);
    if (!p) return Error{kInvalidConfig, fmt::format("subnet '{}': {}", s, p.error().message)};
    r.ipv6 |= p->is_v6();
  }
  for (const auto& g : r.gateways)
    if (!cnm::IpAddr::parse(g))
      return Error{kInvalidConfig, fmt::format("gateway '{}' is invalid", g)};
  auto flag = [&](const char* k, const char* option) -> std::optional<Error> {
    auto v = member(conf, k, json::value_t::boolean);
    if (!v) return v.error();
    if (*v != nullptr) r.options[option] = (*v)->get<bool>() ? "true" : "false";
    return std::nullopt;
  };
  if (auto e = flag("ipMasq", "masquerade")) return e;
  if (auto e = flag("icc", "icc")) return e;
  if (auto e = flag("dnsEnabled", cnm::kDnsOption)) return e;
  if (auto b = member(conf, "bridge", json::value_t::string); !b)
    return b.error();
  else if (*b != nullptr)
    r.options["bridge.name"] = (*b)->get<std::string>();
  if (auto v = member(conf, "internal", json::value_t::boolean); !v)
    return v.error();
  else if (*v != nullptr)
    r.internal = (*v)->get<bool>();
  if (auto v = member(conf, "mtu", json::value_t::number_unsigned); !v)
    return v.error();
  else if (*v != nullptr) {
    if (**v < 68 || **v > 65535) return Error{kInvalidConfig, "mtu: out of range (68-65535)"};
    r.mtu = (*v)->get<unsigned>();
  }
  if (auto v = member(conf, "isGateway", json::value_t::boolean); !v)
    return v.error();
  else if (*v != nullptr && !(*v)->get<bool>())
    return Error{kUnsupportedField,
                 "unsupported field isGateway=false: netctl networks always hold their gateway "
                 "address on the bridge"};
  return std::nullopt;
}

}  // namespace

static Result<CniConfig> parse_config_unchecked(std::string_view stdin_json);

const std::vector<std::string>& supported_versions() {
  static const std::vector<std::string> v = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
  return v;
}

int compare_versions(std::string_view a, std::string_view b) {
  auto parts = [](std::string_view s) {
    std::array<int, 3> out{-1, -1, -1};
    for (int i = 0; i < 3; ++i) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out[i]);
      if (ec != std::errc{}) return std::array<int, 3>{-1, -1, -1};
      s.remove_prefix(p - s.data());
      if (i < 2) {
        if (s.empty() || s[0] != '.') return std::array<int, 3>{-1, -1, -1};
        s.remove_prefix(1);
      }
    }
    return s.empty() ? out : std::array<int, 3>{-1, -1, -1};
  };
  auto x = parts(a), y = parts(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

Result<CniConfig> parse_config(std::string_view stdin_json) {
  // nlohmann throws on a wrong type (e.g. value("protocol", "tcp") of a number): the boundary.
  try {
    return parse_config_unchecked(stdin_json);
  } catch (const json::exception& e) {
    return bad(kInvalidConfig, fmt::format("invalid configuration: {}", e.what()));
  }
}

Result<CniConfig> parse_config_unchecked(std::string_view stdin_json) {
  json conf;
  try {
    conf = json::parse(stdin_json);
  } catch (const std::exception& e) {
    return bad(kDecodeFailure, fmt::format("decode network configuration: {}", e.what()));
  }
  if (!conf.is_object()) return bad(kDecodeFailure, "network configuration is not a JSON object");
  CniConfig c;
  for (auto [key, out] : {std::pair{"cniVersion", &c.cni_version}, std::pair{"name", &c.name}}) {
    auto v = CNM_VALUE(member(conf, key, json::value_t::string));
    if (v == nullptr)
      return bad(kInvalidConfig, fmt::format("invalid configuration: no \"{}\"", key));
    *out = v->get<std::string>();
  }
  const auto& sv = supported_versions();
  if (std::find(sv.begin(), sv.end(), c.cni_version) == sv.end())
    return bad(kIncompatibleVersion, fmt::format("incompatible CNI version {} (supported: {})",
                                                 c.cni_version, fmt::join(sv, ", ")));
  c.network = c.name;
  for (auto [key, out] :
       {std::pair{"network", &c.network}, std::pair{"stateRoot", &c.state_root}}) {
    auto v = CNM_VALUE(member(conf, key, json::value_t::string));
    if (v != nullptr) *out = v->get<std::string>();
  }
  if (auto st = cnm::validate_name("network", c.network); !st)
    return bad(kInvalidConfig, "invalid configuration: " + st.error().message);
  if (!c.state_root.empty() && c.state_root[0] != '/')
    return bad(kInvalidConfig, fmt::format("stateRoot '{}' is not an absolute path", c.state_root));
  if (auto it = conf.find("ipam"); it != conf.end() && !it->is_null() && !it->empty())
    return bad(kUnsupportedField, fmt::format("unsupported field ipam={}: netctl-cni allocates "
                                              "addresses from the netctl network's pools",
                                              it->dump()));
  if (auto e = definition(conf, c)) return std::unexpected(*e);
  if (auto it = conf.find("runtimeConfig"); it != conf.end() && !it->is_null())
    if (auto e = runtime_config(*it, c)) return std::unexpected(*e);
  if (auto it = conf.find("args"); it != conf.end() && it->is_object() && it->contains("cni")) {
    const json& a = (*it)["cni"];
    if (a.is_object() && a.contains("ips") && a["ips"].is_array() && c.ip.empty() && c.ip6.empty())
      for (const auto& ip : a["ips"])
        if (auto e = take_ip(ip.is_string() ? ip.get<std::string>() : "", c.ip, c.ip6,
                             kInvalidConfig, "args.cni.ips"))
          return std::unexpected(*e);
    if (a.is_object() && a.contains("mac") && a["mac"].is_string() && c.mac.empty())
      c.mac = a["mac"].get<std::string>();
  }
  if (auto e = attachments(conf, c)) return std::unexpected(*e);
  if (auto it = conf.find("prevResult"); it != conf.end() && !it->is_null()) {
    if (!it->is_object()) return bad(kInvalidConfig, "prevResult: not an object");
    c.prev_result = *it;
  }
  return c;
}

Result<CniArgs> parse_cni_args(std::string_view args) {
  CniArgs out;
  bool ignore_unknown = false;
  std::vector<std::pair<std::string_view, std::string_view>> kvs;
  while (!args.empty()) {
    auto semi = args.find(';');
    auto item = args.substr(0, semi);
    args = semi == std::string_view::npos ? std::string_view{} : args.substr(semi + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return bad(kInvalidEnvironment, fmt::format("CNI_ARGS: '{}' is not KEY=VALUE", item));
    kvs.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    if (kvs.back().first == "IgnoreUnknown")
      ignore_unknown = kvs.back().second == "1" || kvs.back().second == "true";
  }
  for (auto [k, v] : kvs) {
    if (k == "IP") {
      while (!v.empty()) {
        auto comma = v.find(',');
        if (auto e =
                take_ip(v.substr(0, comma), out.ip, out.ip6, kInvalidEnvironment, "CNI_ARGS IP"))
          return std::unexpected(*e);
        v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
      }
    } else if (k == "MAC") {
      out.mac = std::string(v);
    } else if (k == "K8S_POD_NAME") {
      out.pod_name = std::string(v);
    } else if (k != "IgnoreUnknown" && !ignore_unknown) {
      return bad(kInvalidEnvironment,
                 fmt::format("CNI_ARGS: unknown key {} (add IgnoreUnknown=1 to allow it)", k));
    }
  }
  return out;
}

}  // namespace cni

#include "cnm/core/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "cnm/core/firewall_backend.h"
#include "cnm/launcher/cgroup.h"
#include "ipam/default_ipam.h"

namespace cnm {
namespace {

std::unexpected<Error> bad(const std::string& path, const YAML::Node& n, const std::string& what) {
  return fail(Code::kInvalid, "config {}: line {}: {}", path, n.Mark().line + 1, what);
}

Status load_pools(const std::string& path, const YAML::Node& list, Config& c) {
  if (!list.IsSequence()) return bad(path, list, "default-address-pools must be a list");
  c.pools_v4.clear();
  for (const auto& entry : list) {
    if (!entry.IsMap() || !entry["base"] || !entry["size"])
      return bad(path, entry, "each default-address-pools entry needs base and size");
    for (const auto& kv : entry) {
      auto key = kv.first.as<std::string>();
      if (key != "base" && key != "size")
        return bad(path, kv.first, fmt::format("unknown key '{}' in default-address-pools", key));
    }
    auto base = Prefix::parse(entry["base"].as<std::string>());
    if (!base) return bad(path, entry["base"], base.error().message);
    int size = entry["size"].as<int>();
    if (size < base->len() || size > base->addr().bits())
      return bad(path, entry["size"],
                 fmt::format("size {} does not fit base {}", size, base->str()));
    (base->is_v6() ? c.pools_v6 : c.pools_v4).push_back({*base, size});
  }
  if (auto r = ipam::check_pools(c.pools_v4, false); !r) return bad(path, list, r.error().message);
  if (auto r = ipam::check_pools(c.pools_v6, true); !r) return bad(path, list, r.error().message);
  return {};
}

// The raw cluster settings, checked together once the environment is known.
struct RawCluster {
  std::optional<std::string> store, advertise;
};

Status load_node(const std::string& path, const YAML::Node& root, Config& c, RawCluster& raw) {
  if (root.IsNull()) return {};
  if (!root.IsMap()) return bad(path, root, "the top level must be a mapping");
  for (const auto& kv : root) {
    auto key = kv.first.as<std::string>();
    if (key == "default-address-pools") {
      CNM_TRY(load_pools(path, kv.second, c));
    } else if (key == "mtu") {
      int mtu = kv.second.as<int>();
      if (mtu < 68 || mtu > 65535) return bad(path, kv.second, "mtu must be 68 to 65535");
      c.mtu = static_cast<unsigned>(mtu);
    } else if (key == "cgroup-parent") {
      c.cgroup_parent = kv.second.as<std::string>();
      if (auto p = launcher::cgroup_parent(c.cgroup_parent); !p)
        return bad(path, kv.second, p.error().message);
    } else if (key == "firewall-backend") {
      c.firewall_backend = kv.second.as<std::string>();
      if (auto b = parse_firewall_backend(c.firewall_backend, "firewall-backend"); !b)
        return bad(path, kv.second, b.error().message);
    } else if (key == "cluster-store" || key == "cluster-advertise") {
      (key == "cluster-store" ? raw.store : raw.advertise) = kv.second.as<std::string>();
    } else if (key == "root") {
      c.root = kv.second.as<std::string>();
      if (c.root.empty() || c.root[0] != '/')
        return bad(path, kv.second, "root must be an absolute path");
    } else {
      return bad(path, kv.first, fmt::format("unknown key '{}'", key));
    }
  }
  return {};
}

}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& name) {
  Config c;
  c.pools_v4 = ipam::docker_default_pools();
  RawCluster raw;
  try {
    CNM_TRY(load_node(name, YAML::Load(std::string(text)), c, raw));
  } catch (const YAML::Exception& e) {
    return fail(Code::kInvalid, "config {}: line {}: {}", name, e.mark.line + 1, e.msg);
  }
  auto cluster = cluster::cluster_config(raw.store, raw.advertise,
                                         [](const char* var) { return std::getenv(var); });
  if (!cluster) return fail(Code::kInvalid, "config {}: {}", name, cluster.error().message);
  c.cluster = std::move(*cluster);
  return c;
}

Result<Config> load_config(const std::string& path, bool required) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (required) return fail(Code::kInvalid, "config {}: no such file", path);
    return parse_config("", path);
  }
  std::ifstream in(path);
  if (!in.is_open()) return fail(Code::kInvalid, "config {}: cannot read", path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace cnm

#include "cnm/core/intent.h"

#include <nlohmann/json.hpp>

#include "cnm/core/fw_intent.h"

namespace cnm {
namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
// Spelled out: clang 16 (the fuzz build) does not deduce an aggregate's template arguments.
template <class... F>
Overload(F...) -> Overload<F...>;

// A required string member; throws nlohmann::json::exception when missing or not a string.
std::string text(const nlohmann::json& o, const char* key) { return o.at(key).get<std::string>(); }

Result<Intent> adopt_intent(const nlohmann::json& o) {
  AdoptIntent i{text(o, "bridge"), {}, o.at("route_localnet").get<bool>()};
  for (const auto& a : o.at("addresses")) {
    auto p = Prefix::parse(a.get<std::string>(), false);
    if (!p) return fail(Code::kInvalid, "malformed intent object: {}", o.dump());
    i.addresses.push_back(*p);
  }
  return i;
}

}  // namespace

nlohmann::json to_json(const Intent& intent) {
  return std::visit(Overload{
                        [](const LinkIntent& i) -> nlohmann::json {
                          return {{"kind", "link"}, {"name", i.name}};
                        },
                        [](const NetnsIntent& i) -> nlohmann::json {
                          return {{"kind", "netns"}, {"path", i.path}};
                        },
                        [](const FwNetworkIntent& i) -> nlohmann::json {
                          return {{"kind", "fw-network"}, {"id12", i.id12}};
                        },
                        [](const FwPortsIntent& i) { return ports_intent(i.ports); },
                        [](const OverlayIntent& i) -> nlohmann::json {
                          return {{"kind", "overlay"}, {"network", i.network}};
                        },
                        [](const AdoptIntent& i) -> nlohmann::json {
                          std::vector<std::string> addrs;
                          for (const auto& p : i.addresses) addrs.push_back(p.str());
                          return {{"kind", "adopted"},
                                  {"bridge", i.bridge},
                                  {"addresses", addrs},
                                  {"route_localnet", i.route_localnet}};
                        },
                        [](const ContainerIntent& i) -> nlohmann::json {
                          return {{"kind", "container"},
                                  {"id", i.id},
                                  {"dir", i.dir},
                                  {"cgroup_version", i.cgroup_version},
                                  {"cgroup_parent", i.cgroup_parent},
                                  {"cgroup_prefix", i.cgroup_prefix}};
                        },
                    },
                    intent);
}

Result<Intent> parse_intent(const nlohmann::json& o) {
  auto bad = [&] { return fail(Code::kInvalid, "malformed intent object: {}", o.dump()); };
  try {
    if (!o.is_object()) return bad();
    auto kind = text(o, "kind");
    if (kind == "link") return LinkIntent{text(o, "name")};
    if (kind == "netns") return NetnsIntent{text(o, "path")};
    if (kind == "fw-network") return FwNetworkIntent{text(o, "id12")};
    if (kind == "fw-ports") {
      auto ports = CNM_VALUE(ports_from_intent(o));
      return FwPortsIntent{std::move(ports)};
    }
    if (kind == "adopted") return adopt_intent(o);
    if (kind == "overlay") return OverlayIntent{text(o, "network")};
    // The cgroup members default as recovery always read them.
    if (kind == "container")
      return ContainerIntent{text(o, "id"), text(o, "dir"), o.value("cgroup_version", ""),
                             o.value("cgroup_parent", "netctl"), o.value("cgroup_prefix", "")};
    return fail(Code::kInvalid, "unknown intent kind '{}' in {}", kind, o.dump());
  } catch (const nlohmann::json::exception&) {
    return bad();
  }
}

}  // namespace cnm

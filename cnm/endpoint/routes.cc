// Default routes of an attach, decided with what the namespace already has (cnm/endpoint/README.md,
// "Default routes"): netctl gives a family's default route only to a namespace without one, and
// never replaces or moves a route.
#include <array>
#include <string>
#include <vector>

#include "cnm/endpoint/endpoint_service.h"
#include "cnm/kernel/endpoints.h"

namespace cnm {
namespace {

// "an IPv4 default route via 198.51.100.1 dev up0", "an unreachable IPv6 default route".
std::string route_text(const kernel::DefaultRouteView& r) {
  std::string kind = r.type == "unicast" ? "" : r.type + " ";
  std::string s = fmt::format("{} {}IPv{} default route",
                              kind.empty() || kind[0] == 'u' ? "an" : "a", kind, r.v6 ? 6 : 4);
  if (r.via) s += " via " + r.via->str();
  if (!r.ifname.empty()) s += " dev " + r.ifname;
  return s;
}

const kernel::DefaultRouteView* route_of(const std::vector<kernel::DefaultRouteView>& routes,
                                         bool v6) {
  for (const auto& r : routes)
    if (r.v6 == v6) return &r;
  return nullptr;
}

}  // namespace

Status EndpointService::plan_routes(const ConnectRequest& req, const Network& n, const Target& t,
                                    Endpoint& ep) {
  std::array<bool, 2> gives{};
  for (bool v6 : {false, true})
    gives[v6] = !n.internal && n.has_family(v6) && registry_.ask(n.driver, &Driver::routes_default);
  if (req.default_route && !gives[0] && !gives[1])
    return fail(Code::kInvalid, "--default-route: network {} gives no default route{}", n.name,
                n.internal ? " (it is internal)" : "");
  if (!req.default_route && !ep.default_route && !ep.default_route6) return {};
  // A sandbox's or a container's namespace is netctl's own: made empty, its routes are netctl's
  // endpoints'. Looking inside costs a socket opened in the namespace and a route dump (a third of
  // an attach), so only namespaces another tool made are read.
  bool own = t.key.starts_with("sandbox:") || t.key.starts_with("container:");
  if (!req.default_route && own) return {};
  auto present = CNM_VALUE(kernel_.endpoints->default_routes(t.path, t.netns_key));
  if (!req.default_route) {  // a family the namespace routes already is left as it is
    for (bool v6 : {false, true}) ep.routes(v6) &= route_of(present, v6) == nullptr;
    return {};
  }
  const auto& here = t.here;  // live records only (resolve_target): not an ended namespace's
  for (bool v6 : {false, true}) {
    if (!gives[v6]) continue;
    const auto* r = route_of(present, v6);
    for (const auto& e : here) {
      if (!e.routes(v6) && !(r != nullptr && r->ifname == e.ifname)) continue;
      auto other = network(e.network_id);
      return fail(Code::kConflict,
                  "--default-route: {} has its IPv{} default route from network {} already "
                  "(disconnect that network first, or connect without --default-route)",
                  req.target, v6 ? 6 : 4, other ? other->name : e.network_id);
    }
    if (r != nullptr)
      return fail(Code::kConflict,
                  "--default-route: {} has {} that netctl did not make; netctl does not replace "
                  "it (delete it there first, or connect without --default-route)",
                  req.target, route_text(*r));
    ep.routes(v6) = true;
  }
  return {};
}

Result<bool> EndpointService::routed_elsewhere(const Endpoint& e, bool v6) {
  auto present = CNM_VALUE(kernel_.endpoints->default_routes(e.netns_path, e.netns_key));
  const auto* r = route_of(present, v6);
  return r != nullptr && r->ifname != e.ifname;
}

}  // namespace cnm

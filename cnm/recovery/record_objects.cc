#include "cnm/recovery/record_objects.h"

#include <algorithm>

#include "cnm/core/records.h"
#include "cnm/model/model.h"

namespace cnm {
namespace {

void add_once(std::vector<std::string>& v, const std::string& s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

Status add_record_objects(store::Store& store, const Registry& drivers, const std::string& table,
                          const std::string& id, RecordObjects out) {
  auto& [links, netns, fw, adopted] = out;
  auto rec = store.get(table.c_str(), id);
  if (!rec) return std::unexpected(rec.error());
  if (!*rec) return {};
  if (table == store::kNetworks) {
    auto n = CNM_VALUE(decode_one<Network>(std::move(rec), "network", id));
    if (auto d = drivers.describe(n.driver)) d->removal(n, nullptr, links, fw);
    if (n.adopted) adopted.push_back({n.bridge, n.adopted->addresses, n.adopted->route_localnet});
  } else if (table == store::kEndpoints) {
    auto e = CNM_VALUE(decode_one<Endpoint>(std::move(rec), "endpoint", id));
    add_once(links, e.host_ifname);  // the record names it
    // The driver names its other objects (port rules, found by content). A network already gone
    // leaves them to `netctl gc`, which removes DNATs the store does not know.
    auto n =
        decode_one<Network>(store.get(store::kNetworks, e.network_id), "network", e.network_id);
    if (auto d = n ? drivers.describe(n->driver) : nullptr) d->removal(*n, &e, links, fw);
  } else if (table == store::kSandboxes) {
    auto s = CNM_VALUE(decode_one<Sandbox>(std::move(rec), "sandbox", id));
    add_once(netns, s.netns_path);
  }
  // Containers: the launcher's namespaces and cgroups are its own (cnm/launcher).
  return {};
}

}  // namespace cnm

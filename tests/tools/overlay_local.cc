// The local side of an overlay host without the overlay driver, for tests/e2e/t_overlay_agent.sh:
// writes the local records the driver would (cnm/cluster/overlay_records.h: a network of driver
// "overlay" and its endpoints), makes its VXLAN device, and starts the agent the way commands do
// (cnm/core/overlay_control.h, under the store's write lock).
//   overlay_local ROOT id                                 (prints the root id)
//   overlay_local ROOT net ID NAME SUBNET GATEWAY VNI VTEP  (record + VXLAN device on bridge
//     nc-ID[0:12], which must exist)
//   overlay_local ROOT rm-net ID                          (record and device gone)
//   overlay_local ROOT ep NETID EPID IP/LEN | rm-ep EPID
//   overlay_local ROOT ensure STORE ADVERTISE TTL AGENT [STALE]   (prints the lease)
//   overlay_local ROOT running                            (exit 0 if the agent runs, 1 if not)
//   overlay_local ROOT entries DEV                        ("fdb MAC VTEP", "neigh IP MAC")
// Exit status: 0, or the error's code (cnm::Code).
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnm/cluster/overlay_records.h"
#include "cnm/core/overlay_control.h"
#include "cnm/kernel/links.h"
#include "cnm/kernel/vxlan.h"
#include "cnm/model/model.h"
#include "cnm/store/store.h"

namespace {

using cnm::Result;
using cnm::Status;
using Args = std::vector<std::string>;

int ovl_local_report(const cnm::Error& e) {
  fmt::print(stderr, "overlay_local: {}\n", e.message);
  return static_cast<int>(e.code);
}

cnm::kernel::VxlanSpec ovl_local_spec(const std::string& id, const std::string& vni,
                                      const std::string& vtep) {
  return {cnm::cluster::overlay_vxlan_name(id), static_cast<uint32_t>(std::stoul(vni)),
          *cnm::IpAddr::parse(vtep), "", "nc-" + id.substr(0, 12)};
}

Status ovl_local_put(cnm::store::Store& s, const char* table, cnm::store::Record r) {
  auto lock = CNM_VALUE(s.lock());
  cnm::store::Batch b;
  b.puts.push_back({table, std::move(r)});
  return s.apply(b);
}

Status ovl_local_drop(cnm::store::Store& s, const char* table, const std::string& id) {
  auto lock = CNM_VALUE(s.lock());
  cnm::store::Batch b;
  b.drops.push_back({table, id});
  return s.apply(b);
}

Status ovl_local_net(cnm::store::Store& s, const Args& a, uint32_t mark) {
  cnm::Network n;
  n.id = a[2], n.name = a[3], n.driver = std::string(cnm::cluster::kOverlayDriver);
  cnm::Pool pool;
  pool.subnet = *cnm::Prefix::parse(a[4]), pool.gateway = *cnm::IpAddr::parse(a[5]);
  n.pools.push_back(pool);
  n.options["vni"] = a[6];
  n.bridge = "nc-" + n.id.substr(0, 12);
  n.derived_macs_only = true;
  CNM_TRY(cnm::kernel::make_linux_vxlans(mark)->ensure(ovl_local_spec(a[2], a[6], a[7])));
  return ovl_local_put(s, cnm::store::kNetworks, {n.id, n.name, "", nlohmann::json(n).dump()});
}

Status ovl_local_ep(cnm::store::Store& s, const Args& a) {
  cnm::Endpoint ep;
  ep.id = a[3], ep.network_id = a[2], ep.target = "pid:1";
  auto p = cnm::Prefix::parse(a[4], false);
  if (!p) return cnm::fail(cnm::Code::kInvalid, "bad address {}", a[4]);
  ep.addresses.push_back(*p);
  ep.mac = cnm::cluster::overlay_mac(p->addr());
  return ovl_local_put(s, cnm::store::kEndpoints,
                       {ep.id, ep.target, ep.network_id, nlohmann::json(ep).dump(), ""});
}

int ovl_local_entries(uint32_t mark, const std::string& dev) {
  auto e = cnm::kernel::make_linux_vxlans(mark)->entries(dev);
  if (!e) return ovl_local_report(e.error());
  for (const auto& f : e->fdb) fmt::print("fdb {} {}\n", f.mac, f.vtep.str());
  for (const auto& n : e->neigh) fmt::print("neigh {} {}\n", n.ip.str(), n.mac);
  return 0;
}

int ovl_local_ensure(cnm::store::Store& s, const Args& a) {
  auto lock = s.lock();  // as a command: ensure() is called under the store's write lock
  if (!lock) return ovl_local_report(lock.error());
  auto c = cnm::make_overlay_control({a[0], a[2], a[3], std::stoi(a[4]), a[5]});
  auto r = c->ensure(a.size() > 6 ? std::stoll(a[6]) : 0);
  if (!r) return ovl_local_report(r.error());
  fmt::print("{}\n", *r);
  return 0;
}

int ovl_local_run(const Args& a) {
  auto store = cnm::store::Store::open(a[0]);
  if (!store) return ovl_local_report(store.error());
  auto& s = **store;
  auto id = s.root_id();
  if (!id) return ovl_local_report(id.error());
  const uint32_t mark = cnm::kernel::owner_group(*id);
  const std::string& op = a[1];
  auto status = [](const Status& st) { return st ? 0 : ovl_local_report(st.error()); };
  if (op == "id") return fmt::print("{}\n", *id), 0;
  if (op == "net" && a.size() == 8) return status(ovl_local_net(s, a, mark));
  if (op == "rm-net" && a.size() == 3) {
    if (int rc = status(ovl_local_drop(s, cnm::store::kNetworks, a[2]))) return rc;
    return status(
        cnm::kernel::make_linux_vxlans(mark)->remove(cnm::cluster::overlay_vxlan_name(a[2])));
  }
  if (op == "ep" && a.size() == 5) return status(ovl_local_ep(s, a));
  if (op == "rm-ep" && a.size() == 3)
    return status(ovl_local_drop(s, cnm::store::kEndpoints, a[2]));
  if (op == "ensure" && a.size() >= 6) return ovl_local_ensure(s, a);
  if (op == "running") {
    auto r = cnm::make_overlay_control({a[0], "", "", 0, ""})->running();
    if (!r) return ovl_local_report(r.error());
    return *r ? 0 : 1;
  }
  if (op == "entries" && a.size() == 3) return ovl_local_entries(mark, a[2]);
  fmt::print(stderr, "overlay_local: unknown or incomplete operation {}\n", op);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a(argv + 1, argv + argc);
  if (a.size() < 2) {
    fmt::print(stderr, "usage: overlay_local ROOT OP ARGS...\n");
    return 2;
  }
  return ovl_local_run(a);
}

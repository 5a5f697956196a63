#include "tests/fakes/fake_endpoints.h"

#include <algorithm>
#include <cctype>

namespace cnm::kernel {
namespace {

bool valid_mac(const std::string& mac) {
  if (mac.empty()) return true;
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    bool ok = i % 3 == 2 ? mac[i] == ':' : std::isxdigit(static_cast<unsigned char>(mac[i])) != 0;
    if (!ok) return false;
  }
  return true;
}

Status check_spec(const EndpointSpec& spec) {
  for (const std::string* name : {&spec.host_ifname, &spec.ifname, &spec.bridge}) {
    if (!fake_name_fits(*name))
      return fail(Code::kInvalid, "interface name '{}' must be 1 to 15 characters", *name);
  }
  if (!valid_mac(spec.mac)) return fail(Code::kInvalid, "invalid MAC address '{}'", spec.mac);
  return {};
}

std::string describe(const EndpointSpec& spec) {
  std::string line = fmt::format("attach {} {} {} {} mac={} mtu={}", spec.host_ifname, spec.bridge,
                                 spec.netns_path, spec.ifname, spec.mac, spec.mtu);
  for (const Prefix& p : spec.addresses) line += " " + p.str();
  for (const IpAddr& gw : spec.gateways) line += " via " + gw.str();
  if (!spec.announce) line += " quiet";
  return line;
}

}  // namespace

FakeNamespaces::FakeNamespaces(StepCounter* steps)
    : steps_(steps != nullptr ? steps : &own_steps_) {}

Status FakeNamespaces::record(std::string line, Status st) {
  if (!st) line += " -> " + st.error().message;
  log.push_back(std::move(line));
  return st;
}

Status FakeNamespaces::create(const std::string& path) {
  Status st;
  if (path.empty() || path.back() == '/') {
    st = fail(Code::kInvalid, "create netns {}: not a file path", path);
  } else if (steps_->tick()) {
    st = steps_->injected();
  } else if (netns.contains(path)) {
    st = fail(Code::kConflict, "netns {}: already exists", path);
  } else {
    netns[path] = {"lo"};
    ids[path] = NetnsId{.dev = 4, .ino = next_ino_++};
  }
  return record("create " + path, std::move(st));
}

Status FakeNamespaces::remove(const std::string& path) {
  if (!netns.contains(path)) return record("remove " + path, {});  // already gone: removed
  if (steps_->tick()) return record("remove " + path, steps_->injected());
  std::string home = survivor(path);
  auto node = netns.extract(path);
  auto id = ids.extract(path);
  if (home.empty()) {
    if (on_remove) on_remove(path);
  } else {
    netns[home].merge(node.mapped());
    ids[home] = id.mapped();
    if (on_move) on_move(path, home);
  }
  return record("remove " + path, {});
}

std::string FakeNamespaces::survivor(const std::string& path) const {
  auto id = ids.find(path);
  if (id == ids.end()) return "";  // never identified, so never held
  for (const auto& [other, other_id] : ids)
    if (other != path && other_id == id->second && netns.contains(other)) return other;
  if (pins_.contains(id->second)) return fmt::format("net:[{}]", id->second.ino);
  return "";
}

std::shared_ptr<void> FakeNamespaces::pin(NetnsId id) {
  ++pins_[id];
  std::weak_ptr<FakeNamespaces*> owner = self_;
  return std::shared_ptr<void>(new char, [owner, id](void* p) {
    delete static_cast<char*>(p);
    if (auto self = owner.lock()) (*self)->unpin(id);
  });
}

void FakeNamespaces::unpin(NetnsId id) {
  if (--pins_[id] > 0) return;
  pins_.erase(id);
  std::string detached = fmt::format("net:[{}]", id.ino);
  auto it = ids.find(detached);
  if (it == ids.end() || it->second != id) return;
  netns.erase(detached);
  ids.erase(it);
  if (on_remove) on_remove(detached);
}

Result<NetnsId> FakeNamespaces::identify(const std::string& path) {
  if (!netns.contains(path)) return fail(Code::kNotFound, "network namespace {} not found", path);
  auto [it, added] = ids.try_emplace(path, NetnsId{.dev = 4, .ino = next_ino_});
  if (added) ++next_ino_;
  return it->second;
}

Result<HeldNetns> FakeNamespaces::hold(const std::string& path) {
  auto id = identify(path);
  if (!id) return std::unexpected(id.error());
  if (after_hold) after_hold(path);
  return HeldNetns{.id = *id, .start = 0, .hold = pin(*id)};
}

Result<HeldNetns> FakeNamespaces::hold_process(int pid, uint64_t start) {
  auto it = starts.find(pid);
  uint64_t started = it != starts.end() ? it->second : 0;
  std::string path = fmt::format("/proc/{}/ns/net", pid);
  if (!netns.contains(path) || (start != 0 && started != start))
    return fail(Code::kNotFound, "process {} not found", pid);
  auto h = hold(path);
  if (h) h->start = started;
  return h;
}

Result<NetnsId> FakeNamespaces::own() { return own_id; }

Result<std::vector<std::string>> FakeNamespaces::interfaces(const std::string& path) {
  auto it = netns.find(path);
  if (it == netns.end()) return fail(Code::kNotFound, "network namespace {} not found", path);
  std::vector<std::string> out;
  if (it->second.contains("lo")) out.push_back("lo");
  for (const std::string& name : it->second)
    if (name != "lo") out.push_back(name);
  return out;
}

FakeEndpoints::FakeEndpoints(FakeLinks& links, FakeNamespaces& ns, StepCounter* steps)
    : links_(links),
      ns_(ns),
      prev_on_delete_(links.on_delete),
      prev_on_remove_(ns.on_remove),
      prev_on_move_(ns.on_move),
      steps_(steps != nullptr ? steps : &own_steps_) {
  // Deleting either end of a veth pair deletes the pair, and the routes through it.
  links_.on_delete = [this](const std::string& name) {
    forget_peer(name);
    if (prev_on_delete_) prev_on_delete_(name);
  };
  // A namespace that ends takes its veth peers, and with them their host ends.
  ns_.on_remove = [this](const std::string& path) {
    for (auto it = peers.begin(); it != peers.end();) {
      if (it->second.first != path) {
        ++it;
        continue;
      }
      links_.links.erase(it->first);
      addresses.erase(it->first);
      it = peers.erase(it);
    }
    routes.erase(path);
    if (prev_on_remove_) prev_on_remove_(path);
  };
  // A namespace that lives on under another path keeps its pairs and routes.
  ns_.on_move = [this](const std::string& from, const std::string& to) {
    for (auto& [host, where] : peers)
      if (where.first == from) where.first = to;
    if (auto node = routes.extract(from)) routes[to].merge(node.mapped());
    if (prev_on_move_) prev_on_move_(from, to);
  };
}

FakeEndpoints::~FakeEndpoints() {
  links_.on_delete = prev_on_delete_;
  ns_.on_remove = prev_on_remove_;
  ns_.on_move = prev_on_move_;
}

Status FakeEndpoints::attach(const EndpointSpec& spec) {
  Status st = check_spec(spec);
  if (st) st = create_pair(spec);
  if (st) {
    st = configure(spec);
    if (!st) remove_pair(spec.host_ifname);
  }
  if (!st) {
    log.push_back(describe(spec) + " -> " + st.error().message);
  } else {
    log.push_back(describe(spec));
  }
  return st;
}

Status FakeEndpoints::create_pair(const EndpointSpec& spec) {
  auto inside = ns_.netns.find(spec.netns_path);
  if (inside == ns_.netns.end())
    return fail(Code::kNotFound, "network namespace {} not found", spec.netns_path);
  auto id = ns_.ids.find(spec.netns_path);  // as Linux: the namespace resolved, or none
  bool moved =
      id != ns_.ids.end() && fmt::format("{}:{}", id->second.dev, id->second.ino) != spec.netns_key;
  if (!spec.netns_key.empty() && moved)
    return fail(Code::kNotFound, "network namespace {} is gone (another one is at that path now)",
                spec.netns_path);
  auto bridge = links_.links.find(spec.bridge);
  if (bridge == links_.links.end())
    return fail(Code::kFailed, "look up bridge {}: No such device", spec.bridge);
  if (steps_->tick()) return steps_->injected();
  if (links_.links.contains(spec.host_ifname))
    return fail(Code::kConflict, "create veth {}: File exists", spec.host_ifname);
  if (inside->second.contains(spec.ifname))
    return fail(Code::kConflict, "interface {} already exists in {}", spec.ifname, spec.netns_path);
  int index = 1;
  for (const auto& [n, l] : links_.links) index = std::max(index, l.index + 1);
  links_.links[spec.host_ifname] = LinkInfo{.name = spec.host_ifname,
                                            .index = index,
                                            .kind = "veth",
                                            .mtu = spec.mtu != 0 ? spec.mtu : kFakeDefaultMtu,
                                            .up = true,
                                            .master = bridge->second.index,
                                            .addresses = {},
                                            .group = links_.mark};
  inside->second.insert(spec.ifname);
  peers[spec.host_ifname] = {spec.netns_path, spec.ifname};
  return {};
}

Status FakeEndpoints::configure(const EndpointSpec& spec) {
  const std::string in = fmt::format("{} in {}", spec.ifname, spec.netns_path);
  if (steps_->tick()) return steps_->injected();  // the peer up
  std::vector<Prefix>& added = addresses[spec.host_ifname];
  for (const Prefix& p : spec.addresses) {
    if (steps_->tick()) return steps_->injected();
    if (std::find(added.begin(), added.end(), p) != added.end())
      return fail(Code::kConflict, "add address {} to {}: File exists", p.str(), in);
    added.push_back(p);
  }
  for (const IpAddr& gw : spec.gateways) {
    if (steps_->tick()) return steps_->injected();
    CNM_TRY(add_route(spec.netns_path, spec.host_ifname, gw,
                      fmt::format("add default route via {} dev {}", gw.str(), in)));
  }
  return {};
}

Status FakeEndpoints::add_route(const std::string& path, const std::string& host_ifname,
                                const IpAddr& gw, const std::string& doing) {
  // An interface the fake did not make (preloaded by a test) has unknown addresses: any gateway.
  auto known = addresses.find(host_ifname);
  bool on_link = known == addresses.end() ||
                 std::any_of(known->second.begin(), known->second.end(), [&](const Prefix& p) {
                   return p.is_v6() == gw.is_v6() && Prefix(p.network(), p.len()).contains(gw);
                 });
  if (!on_link) return fail(Code::kFailed, "{}: Network is unreachable", doing);
  std::string ifname = host_ifname;
  if (auto peer = peers.find(host_ifname); peer != peers.end()) ifname = peer->second.second;
  if (!routes[path].try_emplace(gw.is_v6(), FakeRoute{.ifname = ifname, .via = gw}).second)
    return fail(Code::kConflict, "{}: File exists", doing);
  return {};
}

Status FakeEndpoints::add_default_routes(const std::string& netns_path, const std::string& ifname,
                                         std::span<const IpAddr> gateways) {
  std::string line = fmt::format("route {} {}", netns_path, ifname);
  for (const IpAddr& gw : gateways) line += " via " + gw.str();
  Status st;
  auto inside = ns_.netns.find(netns_path);
  if (inside == ns_.netns.end())
    st = fail(Code::kNotFound, "network namespace {} not found", netns_path);
  else if (!inside->second.contains(ifname))
    st = fail(Code::kNotFound, "find {} in {}: No such device", ifname, netns_path);
  else if (steps_->tick())
    st = steps_->injected();
  std::string host = ifname;  // the host end of the pair whose peer this is, if the fake made it
  for (const auto& [h, where] : peers)
    if (where == std::pair(netns_path, ifname)) host = h;
  for (size_t i = 0; st && i < gateways.size(); ++i) {
    std::string doing =
        fmt::format("add default route via {} dev {} in {}", gateways[i].str(), ifname, netns_path);
    st = add_route(netns_path, host, gateways[i], doing);
    if (!st && st.error().code == Code::kConflict) st = {};  // one it has counts as added
  }
  log.push_back(st ? line : line + " -> " + st.error().message);
  return st;
}

Result<std::vector<DefaultRouteView>> FakeEndpoints::default_routes(const std::string& netns_path,
                                                                    const std::string& netns_key) {
  if (!ns_.netns.contains(netns_path))
    return fail(Code::kNotFound, "network namespace {} not found", netns_path);
  auto id = ns_.ids.find(netns_path);
  if (!netns_key.empty() && id != ns_.ids.end() &&
      fmt::format("{}:{}", id->second.dev, id->second.ino) != netns_key)
    return fail(Code::kNotFound, "network namespace {} is gone (another one is at that path now)",
                netns_path);
  std::vector<DefaultRouteView> out;
  if (auto it = routes.find(netns_path); it != routes.end())
    for (const auto& [v6, r] : it->second)
      out.push_back(DefaultRouteView{.v6 = v6, .ifname = r.ifname, .via = r.via});
  return out;
}

void FakeEndpoints::remove_pair(const std::string& host_ifname) {
  if (!peers.contains(host_ifname)) return;
  forget_peer(host_ifname);
  links_.links.erase(host_ifname);
}

// The peer of host end `host_ifname` leaves its namespace, with its addresses and routes.
void FakeEndpoints::forget_peer(const std::string& host_ifname) {
  addresses.erase(host_ifname);
  auto it = peers.find(host_ifname);
  if (it == peers.end()) return;
  const auto& [path, ifname] = it->second;
  if (auto ns_it = ns_.netns.find(path); ns_it != ns_.netns.end()) ns_it->second.erase(ifname);
  if (auto r = routes.find(path); r != routes.end()) {
    std::erase_if(r->second, [&](const auto& kv) { return kv.second.ifname == ifname; });
    if (r->second.empty()) routes.erase(r);
  }
  peers.erase(it);
}

}  // namespace cnm::kernel

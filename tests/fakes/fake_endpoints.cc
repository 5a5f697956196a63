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
  netns.erase(path);
  ids.erase(path);
  if (on_remove) on_remove(path);
  return record("remove " + path, {});
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
  return HeldNetns{.id = *id, .start = 0, .hold = nullptr};
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
      steps_(steps != nullptr ? steps : &own_steps_) {
  // Deleting either end of a veth pair deletes the pair.
  links_.on_delete = [this](const std::string& name) {
    if (auto it = peers.find(name); it != peers.end()) {
      if (auto ns_it = ns_.netns.find(it->second.first); ns_it != ns_.netns.end())
        ns_it->second.erase(it->second.second);
      peers.erase(it);
    }
    if (prev_on_delete_) prev_on_delete_(name);
  };
  // A namespace that goes takes its veth peers, and with them their host ends.
  ns_.on_remove = [this](const std::string& path) {
    for (auto it = peers.begin(); it != peers.end();) {
      if (it->second.first != path) {
        ++it;
        continue;
      }
      links_.links.erase(it->first);
      it = peers.erase(it);
    }
    if (prev_on_remove_) prev_on_remove_(path);
  };
}

FakeEndpoints::~FakeEndpoints() {
  links_.on_delete = prev_on_delete_;
  ns_.on_remove = prev_on_remove_;
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
                                            .addresses = {}};
  inside->second.insert(spec.ifname);
  peers[spec.host_ifname] = {spec.netns_path, spec.ifname};
  return {};
}

Status FakeEndpoints::configure(const EndpointSpec& spec) {
  const std::string in = fmt::format("{} in {}", spec.ifname, spec.netns_path);
  if (steps_->tick()) return steps_->injected();  // the peer up
  std::vector<Prefix> added;
  for (const Prefix& p : spec.addresses) {
    if (steps_->tick()) return steps_->injected();
    if (std::find(added.begin(), added.end(), p) != added.end())
      return fail(Code::kConflict, "add address {} to {}: File exists", p.str(), in);
    added.push_back(p);
  }
  std::set<bool> routed;  // families with a default route
  for (const IpAddr& gw : spec.gateways) {
    std::string doing = fmt::format("add default route via {} dev {}", gw.str(), in);
    if (steps_->tick()) return steps_->injected();
    bool on_link = std::any_of(added.begin(), added.end(), [&](const Prefix& p) {
      return p.is_v6() == gw.is_v6() && Prefix(p.network(), p.len()).contains(gw);
    });
    if (!on_link) return fail(Code::kFailed, "{}: Network is unreachable", doing);
    if (!routed.insert(gw.is_v6()).second) return fail(Code::kConflict, "{}: File exists", doing);
  }
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
  log.push_back(st ? line : line + " -> " + st.error().message);
  return st;
}

void FakeEndpoints::remove_pair(const std::string& host_ifname) {
  auto it = peers.find(host_ifname);
  if (it == peers.end()) return;
  if (auto ns_it = ns_.netns.find(it->second.first); ns_it != ns_.netns.end())
    ns_it->second.erase(it->second.second);
  links_.links.erase(host_ifname);
  peers.erase(it);
}

}  // namespace cnm::kernel

// Resolving what `network connect|disconnect`, `run` and CNI ADD name: the one place that decides
// which namespace a target is and whether it may be attached.
#include <charconv>
#include <nlohmann/json.hpp>

#include "cnm/core/records.h"
#include "cnm/endpoint/endpoint_service.h"
#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/links.h"
#include "cnm/model/validate.h"

namespace cnm {
namespace {

// "pid:N" or "pid:N@START" (START: field 22 of /proc/N/stat, as in the record's key).
struct PidTarget {
  int pid = 0;
  uint64_t start = 0;
};

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && p == text.data() + text.size();
}

Result<PidTarget> parse_pid_target(const std::string& target) {
  auto rest = std::string_view(target).substr(4);
  auto at = rest.find('@');
  PidTarget p;
  bool ok = parse_number(rest.substr(0, at), p.pid) && p.pid > 0;
  if (ok && at != std::string_view::npos) ok = parse_number(rest.substr(at + 1), p.start);
  if (!ok || (at != std::string_view::npos && p.start == 0))
    return fail(Code::kInvalid, "invalid target '{}': expected pid:N or pid:N@START", target);
  return p;
}

std::string pid_key(int pid, uint64_t start) {
  return start != 0 ? fmt::format("pid:{}@{}", pid, start) : fmt::format("pid:{}", pid);
}

}  // namespace

std::string netns_key(const kernel::NetnsId& id) { return fmt::format("{}:{}", id.dev, id.ino); }

Result<Target> EndpointService::resolve_target(const std::string& target, bool attach) {
  Target t;
  Result<kernel::HeldNetns> ns = fail(Code::kNotFound, "{} has no namespace", target);
  if (target.starts_with("pid:")) {
    auto p = CNM_VALUE(parse_pid_target(target));
    t.path = fmt::format("/proc/{}/ns/net", p.pid);
    ns = kernel_.namespaces->hold_process(p.pid, p.start);
    t.key = pid_key(p.pid, ns ? ns->start : p.start);
    if (p.start == 0 && ns) t.other_keys.push_back(pid_key(p.pid, 0));
    if (p.start == 0 && !ns) t.key_prefix = t.key + "@";
  } else if (target.starts_with("/")) {
    if (target.find("/../") != std::string::npos || target.ends_with("/.."))
      return fail(Code::kInvalid, "invalid namespace path '{}'", target);
    t.key = t.path = target;
    ns = kernel_.namespaces->hold(t.path);
  } else {
    CNM_TRY(validate_name("target", target));
    auto sb = sandbox(target);
    if (sb) {
      t.key = "sandbox:" + sb->id;
      t.sandbox_id = sb->id;
      t.name = sb->name;
      t.path = sb->netns_path;
      ns = kernel_.namespaces->hold(t.path);
    } else if (sb.error().code != Code::kNotFound) {
      return std::unexpected(sb.error());
    } else if (auto c = container(target); c) {  // a container: its workload's namespace
      t.key = "container:" + c->id;
      t.sandbox_id = c->id;
      t.name = c->name;
      t.path = fmt::format("/proc/{}/ns/net", c->pid > 0 ? c->pid : 0);
      // Only the process the record names: its pid may belong to another one once it exited.
      if (c->status == ContainerStatus::kRunning && c->pid > 0)
        ns = kernel_.namespaces->hold_process(c->pid, c->pid_start);
      if (attach && (!ns && ns.error().code == Code::kNotFound))
        return fail(Code::kConflict, "container {} is not running", target);
    } else {
      if (c.error().code == Code::kNotFound)
        return fail(Code::kNotFound, "no sandbox or container named {}", target);
      return std::unexpected(c.error());
    }
  }
  if (!ns) {
    if (attach || ns.error().code != Code::kNotFound) return std::unexpected(ns.error());
    return t;
  }
  t.netns_key = netns_key(ns->id);
  t.hold = std::move(ns->hold);
  if (attach) {
    auto own = CNM_VALUE(kernel_.namespaces->own());
    if (own == ns->id)
      return fail(Code::kInvalid, "target {} is netctl's own network namespace", target);
    auto recs = CNM_VALUE(records_in(t.netns_key));
    t.here = std::move(recs.live);
    t.stale = std::move(recs.stale);
  }
  return t;
}

Result<bool> EndpointService::endpoint_alive(const Endpoint& e) {
  if (!e.host_ifname.empty()) {  // a veth pair ends with either namespace
    auto link = CNM_VALUE(kernel_.links->get(e.host_ifname));
    return link.has_value();
  }
  auto id = kernel_.namespaces->identify(e.netns_path);
  if (!id && id.error().code != Code::kNotFound) return std::unexpected(id.error());
  return id && netns_key(*id) == e.netns_key;
}

Result<EndpointService::KeyRecords> EndpointService::records_in(const std::string& netns_key) {
  KeyRecords out;
  if (netns_key.empty()) return out;
  auto eps = CNM_VALUE(endpoints({.ref = netns_key}));
  for (auto& e : eps) {
    bool alive = CNM_VALUE(endpoint_alive(e));
    (alive ? out.live : out.stale).push_back(std::move(e));
  }
  return out;
}

Status EndpointService::drop_stale(Txn& tx, std::vector<Endpoint> stale) {
  if (stale.empty()) return {};
  // Their routes ended with their namespace: nothing to hand on to the one that has the key now.
  for (auto& e : stale) e.default_route = e.default_route6 = false;
  return remove_endpoints(tx, stale);
}

Result<std::vector<Endpoint>> EndpointService::target_endpoints(const Target& t,
                                                                const std::string& network_id) {
  auto eps = CNM_VALUE(endpoints({.name = t.key, .parent = network_id}));
  auto add = [&](const store::Filter& f, const std::string& prefix) -> Status {
    auto more = CNM_VALUE(endpoints(f));
    for (auto& e : more)
      if (e.target.starts_with(prefix)) eps.push_back(std::move(e));
    return {};
  };
  for (const auto& k : t.other_keys) CNM_TRY(add({.name = k, .parent = network_id}, k));
  if (!t.key_prefix.empty()) CNM_TRY(add({.parent = network_id}, t.key_prefix));
  if (!eps.empty() || t.netns_key.empty()) return eps;
  // Only those of the namespace that has the key now: a stale record is another (ended) target's.
  auto recs = CNM_VALUE(records_in(t.netns_key));
  std::erase_if(recs.live, [&](const Endpoint& e) { return e.network_id != network_id; });
  return std::move(recs.live);
}

Result<std::vector<Endpoint>> EndpointService::cni_find(const Network& n,
                                                        const std::string& container_id,
                                                        const std::string& ifname) {
  store::Filter f{.parent = n.id};
  if (!container_id.empty()) f.name = cni_key(container_id);
  auto eps = CNM_VALUE(endpoints(f));
  std::erase_if(eps, [&](const Endpoint& e) {
    return !e.target.starts_with("cni:") || (!ifname.empty() && e.ifname != ifname);
  });
  return eps;
}

}  // namespace cnm

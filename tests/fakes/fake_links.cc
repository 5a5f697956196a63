#include "tests/fakes/fake_links.h"

#include <algorithm>

#include "cnm/kernel/ambient.h"

namespace cnm::kernel {
namespace {

constexpr unsigned kMinMtu = 68, kMaxMtu = 65535;

// The kernel refuses a second IPv4 address with the same length, and any IPv6 duplicate.
bool duplicate(const std::vector<Prefix>& have, const Prefix& p) {
  return std::any_of(have.begin(), have.end(), [&](const Prefix& h) {
    return h.addr() == p.addr() && (p.is_v6() || h.len() == p.len());
  });
}

bool valid_key(const std::string& key) {
  return !key.empty() && key.front() != '/' && key.find("..") == std::string::npos;
}

}  // namespace

FakeLinks::FakeLinks(StepCounter* steps) : steps_(steps != nullptr ? steps : &own_steps_) {}

Status FakeLinks::record(std::string line, Status st) {
  if (!st) line += " -> " + st.error().message;
  log.push_back(std::move(line));
  return st;
}

Status FakeLinks::create_bridge(const std::string& name, unsigned mtu,
                                std::span<const Prefix> addresses) {
  std::string line = fmt::format("create_bridge {} mtu={}", name, mtu);
  for (const Prefix& p : addresses) line += " " + p.str();
  return record(std::move(line), create(name, mtu, addresses));
}

Status FakeLinks::create(const std::string& name, unsigned mtu, std::span<const Prefix> addresses) {
  std::string doing = fmt::format("create bridge {}", name);
  if (!fake_name_fits(name))
    return fail(Code::kInvalid, "{}: name must be 1 to 15 characters", doing);
  if (steps_->tick()) return steps_->injected();
  if (links.contains(name)) return fail(Code::kConflict, "{}: File exists", doing);
  if (mtu != 0 && mtu < kMinMtu)
    return fail(Code::kFailed, "{}: Invalid argument (mtu less than device minimum)", doing);
  if (mtu > kMaxMtu)
    return fail(Code::kFailed, "{}: Invalid argument (mtu greater than device maximum)", doing);
  int index = 1;
  for (const auto& [n, l] : links) index = std::max(index, l.index + 1);
  LinkInfo info{.name = name,
                .index = index,
                .kind = "bridge",
                .mtu = mtu != 0 ? mtu : kFakeDefaultMtu,
                .up = true,
                .master = 0,
                .addresses = {},
                .group = mark};
  for (const Prefix& p : addresses) {
    Status st;
    if (steps_->tick()) {
      st = steps_->injected();
    } else if (duplicate(info.addresses, p)) {
      st = fail(Code::kConflict, "add address {} to {}: File exists", p.str(), name);
    }
    if (!st) return st;  // the bridge was never published in `links`: nothing to undo
    info.addresses.push_back(p);
  }
  links.emplace(name, std::move(info));
  return {};
}

Status FakeLinks::delete_links(std::span<const std::string> names) {
  if (names.empty()) return {};
  std::string line = "delete";
  Status first;
  std::vector<std::string> seen;
  for (const std::string& n : names) {
    if (std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
    seen.push_back(n);
    line += " " + n;
    auto it = links.find(n);
    if (it == links.end()) continue;         // already gone counts as deleted
    if (it->second.group != mark) continue;  // not ours: left alone, as the kernel adapter does
    if (steps_->tick()) {
      if (first) first = steps_->injected();
      continue;
    }
    int index = it->second.index;
    links.erase(it);
    // Like the kernel: ports of a deleted bridge are released.
    for (auto& [other, l] : links)
      if (l.master == index) l.master = 0;
    if (on_delete) on_delete(n);
  }
  return record(std::move(line), first);
}

Status FakeLinks::add_addresses(const std::string& name, std::span<const Prefix> addresses) {
  std::string line = "add_addresses " + name;
  for (const Prefix& p : addresses) line += " " + p.str();
  auto it = links.find(name);
  if (it == links.end()) return record(line, fail(Code::kNotFound, "bridge {} is gone", name));
  if (steps_->tick()) return record(line, steps_->injected());
  for (const Prefix& p : addresses) {
    if (duplicate(it->second.addresses, p))
      return record(line,
                    fail(Code::kConflict, "add address {} to {}: File exists", p.str(), name));
    it->second.addresses.push_back(p);
  }
  it->second.up = true;
  return record(line, {});
}

Status FakeLinks::remove_addresses(const std::string& name, std::span<const Prefix> addresses) {
  std::string line = "remove_addresses " + name;
  for (const Prefix& p : addresses) line += " " + p.str();
  auto it = links.find(name);
  if (it == links.end()) return record(line, {});
  if (steps_->tick()) return record(line, steps_->injected());
  for (const Prefix& p : addresses) std::erase(it->second.addresses, p);
  return record(line, {});
}

Result<std::optional<LinkInfo>> FakeLinks::get(const std::string& name) {
  auto it = links.find(name);
  if (it == links.end()) return std::nullopt;
  LinkInfo info = it->second;
  info.ours = info.group == mark;
  return info;
}

Result<std::vector<LinkInfo>> FakeLinks::list() {
  std::vector<LinkInfo> out;
  for (const auto& [n, l] : links) {
    out.push_back(l);
    out.back().ours = l.group == mark;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const LinkInfo& a, const LinkInfo& b) { return a.index < b.index; });
  return out;
}

Result<std::vector<Prefix>> FakeLinks::used_prefixes() {
  std::vector<Prefix> out;
  for (const auto& [n, l] : links) {
    for (const Prefix& p : l.addresses) {
      Prefix subnet(p.network(), p.len());
      if (!is_ambient(subnet)) out.push_back(subnet);
    }
  }
  out.insert(out.end(), extra_prefixes.begin(), extra_prefixes.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

FakeSysctl::FakeSysctl(StepCounter* steps) : steps_(steps != nullptr ? steps : &own_steps_) {
  values["net/ipv6/conf/default/disable_ipv6"] = "0";  // a host with IPv6
}

Status FakeSysctl::set(const std::string& key, const std::string& value) {
  std::string line = fmt::format("set {}={}", key, value);
  Status st;
  if (!valid_key(key)) {
    st = fail(Code::kInvalid, "set sysctl '{}': invalid key", key);
  } else if (steps_->tick()) {
    st = steps_->injected();
  } else {
    values[key] = value;
  }
  if (!st) line += " -> " + st.error().message;
  log.push_back(std::move(line));
  return st;
}

Result<std::string> FakeSysctl::get(const std::string& key) {
  if (!valid_key(key)) return fail(Code::kInvalid, "read sysctl '{}': invalid key", key);
  auto it = values.find(key);
  if (it == values.end())
    return fail(Code::kFailed, "read sysctl {}: No such file or directory", key);
  return it->second;
}

}  // namespace cnm::kernel

#include "cnm/kernel/fault.h"

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace cnm::kernel {

Status FaultPlan::step(std::string_view what) {
  ++steps;
  if (trace) std::fprintf(stderr, "netctl: step %d: %.*s\n", steps, int(what.size()), what.data());
  if (steps != at) return {};
  if (mode == Mode::kKill) {
    std::fflush(stderr);
    ::kill(::getpid(), SIGKILL);
    ::pause();  // SIGKILL is delivered before kill() returns for the calling process; be sure
  }
  return fail(Code::kFailed, "injected failure at step {} ({})", steps, what);
}

Result<FaultPlan> parse_fault_plan(std::string_view spec, bool trace) {
  FaultPlan p;
  p.trace = trace;
  auto colon = spec.find(':');
  auto num = spec.substr(0, colon);
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), p.at);
  bool ok = ec == std::errc() && end == num.data() + num.size() && p.at >= 1;
  if (ok && colon != std::string_view::npos) {
    auto mode = spec.substr(colon + 1);
    if (mode == "kill")
      p.mode = FaultPlan::Mode::kKill;
    else
      ok = mode == "fail";
  }
  if (!ok)
    return fail(Code::kInvalid, "NETCTL_FAIL_AT='{}': expected <k>, <k>:fail or <k>:kill", spec);
  return p;
}

Result<FaultPlan*> fault_plan_from_env() {
  const char* at = std::getenv("NETCTL_FAIL_AT");
  const char* tr = std::getenv("NETCTL_FAIL_TRACE");
  bool trace = tr != nullptr && *tr != '\0' && std::string_view(tr) != "0";
  if ((at == nullptr || *at == '\0') && !trace) return nullptr;
  static FaultPlan plan;
  if (at != nullptr && *at != '\0') {
    auto p = CNM_VALUE(parse_fault_plan(at, trace));
    plan = p;
  } else {
    plan = FaultPlan{.trace = true};
  }
  return &plan;
}

namespace {

class FaultLinks : public Links {
 public:
  FaultLinks(std::unique_ptr<Links> inner, FaultPlan* plan) : in_(std::move(inner)), p_(plan) {}
  Status create_bridge(const std::string& name, unsigned mtu,
                       std::span<const Prefix> addresses) override {
    CNM_TRY(p_->step("create bridge " + name));
    return in_->create_bridge(name, mtu, addresses);
  }
  Status delete_links(std::span<const std::string> names) override {
    std::string what = "delete links";
    for (const auto& n : names) what += " " + n;
    CNM_TRY(p_->step(what));
    return in_->delete_links(names);
  }
  Status add_addresses(const std::string& name, std::span<const Prefix> addresses) override {
    CNM_TRY(p_->step("add addresses to " + name));
    return in_->add_addresses(name, addresses);
  }
  Status remove_addresses(const std::string& name, std::span<const Prefix> addresses) override {
    CNM_TRY(p_->step("remove addresses from " + name));
    return in_->remove_addresses(name, addresses);
  }
  Result<std::optional<LinkInfo>> get(const std::string& name) override { return in_->get(name); }
  Result<std::vector<LinkInfo>> list() override { return in_->list(); }
  Result<std::vector<Prefix>> used_prefixes() override { return in_->used_prefixes(); }

 private:
  std::unique_ptr<Links> in_;
  FaultPlan* p_;
};

class FaultSysctl : public Sysctl {
 public:
  FaultSysctl(std::unique_ptr<Sysctl> inner, FaultPlan* plan) : in_(std::move(inner)), p_(plan) {}
  Status set(const std::string& key, const std::string& value) override {
    CNM_TRY(p_->step("sysctl " + key + "=" + value));
    return in_->set(key, value);
  }
  Result<std::string> get(const std::string& key) override { return in_->get(key); }

 private:
  std::unique_ptr<Sysctl> in_;
  FaultPlan* p_;
};

class FaultNamespaces : public Namespaces {
 public:
  FaultNamespaces(std::unique_ptr<Namespaces> inner, FaultPlan* plan)
      : in_(std::move(inner)), p_(plan) {}
  Status create(const std::string& path) override {
    CNM_TRY(p_->step("create netns " + path));
    return in_->create(path);
  }
  Status remove(const std::string& path) override {
    CNM_TRY(p_->step("remove netns " + path));
    return in_->remove(path);
  }
  Result<NetnsId> identify(const std::string& path) override { return in_->identify(path); }
  Result<HeldNetns> hold(const std::string& path) override { return in_->hold(path); }
  Result<HeldNetns> hold_process(int pid, uint64_t start) override {
    return in_->hold_process(pid, start);
  }
  Result<NetnsId> own() override { return in_->own(); }
  Result<std::vector<std::string>> interfaces(const std::string& path) override {
    return in_->interfaces(path);
  }

 private:
  std::unique_ptr<Namespaces> in_;
  FaultPlan* p_;
};

class FaultEndpoints : public Endpoints {
 public:
  FaultEndpoints(std::unique_ptr<Endpoints> inner, FaultPlan* plan)
      : in_(std::move(inner)), p_(plan) {}
  Status attach(const EndpointSpec& spec) override {
    CNM_TRY(p_->step("attach " + spec.host_ifname));
    return in_->attach(spec);
  }
  Status add_default_routes(const std::string& netns_path, const std::string& ifname,
                            std::span<const IpAddr> gateways) override {
    CNM_TRY(p_->step("default route via " + ifname + " in " + netns_path));
    return in_->add_default_routes(netns_path, ifname, gateways);
  }
  Result<std::vector<DefaultRouteView>> default_routes(const std::string& netns_path,
                                                       const std::string& netns_key) override {
    return in_->default_routes(netns_path, netns_key);
  }

 private:
  std::unique_ptr<Endpoints> in_;
  FaultPlan* p_;
};

class FaultFirewall : public Firewall {
 public:
  FaultFirewall(std::unique_ptr<Firewall> inner, FaultPlan* plan)
      : in_(std::move(inner)), p_(plan) {}
  const std::string& root_id() const override { return in_->root_id(); }
  Status apply(const FirewallChange& c) override {
    CNM_TRY(p_->step("firewall apply"));
    return in_->apply(c);
  }
  Result<std::vector<std::string>> dump() override { return in_->dump(); }

 private:
  std::unique_ptr<Firewall> in_;
  FaultPlan* p_;
};

class FaultVxlans : public Vxlans {
 public:
  FaultVxlans(std::unique_ptr<Vxlans> inner, FaultPlan* plan) : in_(std::move(inner)), p_(plan) {}
  Result<bool> ensure(const VxlanSpec& spec) override {
    CNM_TRY(p_->step("vxlan ensure " + spec.name));
    return in_->ensure(spec);
  }
  Status remove(const std::string& name) override {
    CNM_TRY(p_->step("vxlan remove " + name));
    return in_->remove(name);
  }
  Result<std::optional<VxlanInfo>> get(const std::string& name) override { return in_->get(name); }
  Status add_entries(const std::string& dev, const VxlanEntries& e) override {
    CNM_TRY(p_->step("vxlan add entries " + dev));
    return in_->add_entries(dev, e);
  }
  Status remove_entries(const std::string& dev, const VxlanEntries& e) override {
    CNM_TRY(p_->step("vxlan remove entries " + dev));
    return in_->remove_entries(dev, e);
  }
  Result<VxlanEntries> entries(const std::string& dev) override { return in_->entries(dev); }

 private:
  std::unique_ptr<Vxlans> in_;
  FaultPlan* p_;
};

}  // namespace

std::unique_ptr<Vxlans> with_faults(std::unique_ptr<Vxlans> inner, FaultPlan* plan) {
  return std::make_unique<FaultVxlans>(std::move(inner), plan);
}
std::unique_ptr<Links> with_faults(std::unique_ptr<Links> inner, FaultPlan* plan) {
  return std::make_unique<FaultLinks>(std::move(inner), plan);
}
std::unique_ptr<Sysctl> with_faults(std::unique_ptr<Sysctl> inner, FaultPlan* plan) {
  return std::make_unique<FaultSysctl>(std::move(inner), plan);
}
std::unique_ptr<Namespaces> with_faults(std::unique_ptr<Namespaces> inner, FaultPlan* plan) {
  return std::make_unique<FaultNamespaces>(std::move(inner), plan);
}
std::unique_ptr<Endpoints> with_faults(std::unique_ptr<Endpoints> inner, FaultPlan* plan) {
  return std::make_unique<FaultEndpoints>(std::move(inner), plan);
}
std::unique_ptr<Firewall> with_faults(std::unique_ptr<Firewall> inner, FaultPlan* plan) {
  return std::make_unique<FaultFirewall>(std::move(inner), plan);
}

}  // namespace cnm::kernel

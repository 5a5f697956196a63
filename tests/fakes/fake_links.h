// Recording fakes of Links and Sysctl for unit tests. They mirror the Linux implementations'
// contracts (conflicts, missing links, rollback) and can fail any kernel step on demand.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cnm/kernel/links.h"

namespace cnm::kernel {

// Shared fault plan for fail-at-step-k sweeps: every kernel step of any fake sharing it ticks it.
struct StepCounter {
  int steps = 0;    // steps taken so far
  int fail_at = 0;  // 1-based step that fails; 0: none
  // Counts one step; true if this step must fail.
  bool tick() { return ++steps == fail_at; }
  // The error the failing step returns.
  std::unexpected<Error> injected() const {
    return fail(Code::kFailed, "injected failure at step {}", steps);
  }
};

// What the fakes share with the kernel: the longest interface name (IFNAMSIZ - 1), the MTU of a
// new link.
inline constexpr size_t kFakeMaxName = 15;
inline constexpr unsigned kFakeDefaultMtu = 1500;
// The owner mark of the fakes' state root (owner_group of a root id).
inline constexpr uint32_t kFakeMark = 0x2a1b2c3d;
inline bool fake_name_fits(const std::string& name) {
  return !name.empty() && name.size() <= kFakeMaxName;
}

// In-memory links. Kernel steps (each ticks the counter): creating a bridge, adding each of its
// addresses, deleting each existing link. A failing step returns Code::kFailed
// "injected failure at step N"; create_bridge then removes the bridge again, delete_links keeps
// going with the other links.
class FakeLinks : public Links {
 public:
  explicit FakeLinks(StepCounter* steps = nullptr);

  // Current state by name; tests may preload it (a preloaded link is netctl's only with
  // .group = mark).
  std::map<std::string, LinkInfo> links;
  uint32_t mark = kFakeMark;           // the group of what create_bridge (and FakeEndpoints) make
  std::vector<Prefix> extra_prefixes;  // added to used_prefixes() (simulated host routes)
  // One line per mutating call, e.g. "create_bridge nc-x mtu=1500 10.0.0.1/24" or
  // "delete nc-x nc-y"; a call that failed ends in " -> <error message>".
  std::vector<std::string> log;
  // Called with the name of every link delete_links() removes (FakeEndpoints uses it to take the
  // peer of a deleted veth end out of its namespace, as the kernel does).
  std::function<void(const std::string&)> on_delete;

  Status create_bridge(const std::string& name, unsigned mtu,
                       std::span<const Prefix> addresses) override;
  Status delete_links(std::span<const std::string> names) override;
  // One step each: "add_addresses br0 10.0.0.1/24", "remove_addresses br0 10.0.0.1/24".
  Status add_addresses(const std::string& name, std::span<const Prefix> addresses) override;
  Status remove_addresses(const std::string& name, std::span<const Prefix> addresses) override;
  Result<std::optional<LinkInfo>> get(const std::string& name) override;
  Result<std::vector<LinkInfo>> list() override;
  Result<std::vector<Prefix>> used_prefixes() override;

 private:
  Status create(const std::string& name, unsigned mtu, std::span<const Prefix> addresses);
  Status record(std::string line, Status st);

  StepCounter own_steps_;
  StepCounter* steps_;
};

// In-memory sysctl values by key ("net/ipv4/ip_forward"), of a host with IPv6 at first
// (net/ipv6/conf/default/disable_ipv6=0). set() is a kernel step; get() of a key never set fails
// like a missing /proc/sys file.
class FakeSysctl : public Sysctl {
 public:
  explicit FakeSysctl(StepCounter* steps = nullptr);

  std::map<std::string, std::string> values;
  std::vector<std::string> log;  // "set net/ipv4/ip_forward=1" (+ " -> <error>" if it failed)

  Status set(const std::string& key, const std::string& value) override;
  Result<std::string> get(const std::string& key) override;

 private:
  StepCounter own_steps_;
  StepCounter* steps_;
};

}  // namespace cnm::kernel

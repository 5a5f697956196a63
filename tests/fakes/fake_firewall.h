// A recording fake of Firewall for unit and privileged tests. It runs the same chain layout and
// apply algorithm as the libiptc firewall over in-memory tables (make_memory_firewall, which
// `netctl doctor` uses too), so dump() reads like the real one's.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cnm/kernel/firewall.h"
#include "tests/fakes/fake_links.h"

namespace cnm::kernel {

// The root id FakeFirewall uses unless told otherwise.
inline constexpr const char* kFakeRootId = "0a1b2c3d";

// Every apply() is one kernel step (it ticks the shared StepCounter once, after validation). A
// failing step returns Code::kFailed "injected failure at step N" and changes nothing, like a
// libiptc apply whose commit fails.
class FakeFirewall : public Firewall {
 public:
  explicit FakeFirewall(StepCounter* steps = nullptr, const std::string& root_id = kFakeRootId);
  ~FakeFirewall() override;

  // What the applied changes left in place, by id12.
  std::map<std::string, NetworkRules> networks;
  std::map<std::string, EndpointPorts> ports;
  std::vector<std::string> bridges;   // the last list given
  std::vector<std::string> bridges6;  // the last IPv6 isolation list given
  // Per successful apply, the table slots it read, as the libiptc firewall would open them
  // (filter, nat, raw, filter6, nat6, raw6).
  std::vector<std::array<bool, 6>> opened;
  // One line per apply: "apply +net a,b -net c +ports e -ports f bridges=nc-a,nc-b" (parts with
  // nothing to say left out); a call that failed ends in " -> <error message>".
  std::vector<std::string> log;

  const std::string& root_id() const override { return tables_->root_id(); }
  Status apply(const FirewallChange& c) override;
  Result<std::vector<std::string>> dump() override;

  // No network and no endpoint has rules.
  bool empty() const { return networks.empty() && ports.empty(); }

 private:
  Status run(const FirewallChange& c);

  StepCounter own_steps_;
  StepCounter* steps_;
  std::unique_ptr<Firewall> tables_;  // make_memory_firewall(): the rules themselves
};

}  // namespace cnm::kernel

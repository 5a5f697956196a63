// Fault injection in real runs: NETCTL_FAIL_AT=<k>[:fail|:kill] makes the k-th mutating
// kernel or store step of a command fail with Code::kFailed (the command undoes and exits 1) or
// SIGKILL the process just before it (the crash harness reaches every step boundary that way).
// NETCTL_FAIL_TRACE=1 prints "netctl: step N: <what>" on stderr for every step.
//
// A step is one call that changes something: Links::create_bridge/delete_links, Sysctl::set,
// Namespaces::create/remove, Endpoints::attach, Firewall::apply, Vxlans::ensure/remove/add_entries/
// remove_entries, the cluster store's writes (cnm/core/cluster_access.h), and the Txn's store
// writes (intent writes, commit, the intent drop of a rollback). Reads are not steps. Undo calls
// are steps too, so a kill can land in the middle of a rollback. When neither variable is set
// nothing is wrapped.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/firewall.h"
#include "cnm/kernel/links.h"
#include "cnm/kernel/vxlan.h"
#include "cnm/model/error.h"

namespace cnm::kernel {

struct FaultPlan {
  enum class Mode { kFail, kKill };
  int at = 0;  // 1-based step that fails or kills; 0: none (trace only)
  Mode mode = Mode::kFail;
  bool trace = false;
  int steps = 0;  // steps taken so far

  // Counts one step named `what`: fails it, kills the process, or lets it through.
  Status step(std::string_view what);
};

// Parses "<k>", "<k>:fail" or "<k>:kill" (k >= 1); anything else is Code::kInvalid.
Result<FaultPlan> parse_fault_plan(std::string_view spec, bool trace);

// The process's plan from NETCTL_FAIL_AT / NETCTL_FAIL_TRACE: nullptr when both are unset, an
// error when NETCTL_FAIL_AT is malformed. The plan lives until the process ends.
Result<FaultPlan*> fault_plan_from_env();

// Decorators that tick `plan` before each mutating call and pass everything to `inner`.
std::unique_ptr<Links> with_faults(std::unique_ptr<Links> inner, FaultPlan* plan);
std::unique_ptr<Sysctl> with_faults(std::unique_ptr<Sysctl> inner, FaultPlan* plan);
std::unique_ptr<Namespaces> with_faults(std::unique_ptr<Namespaces> inner, FaultPlan* plan);
std::unique_ptr<Endpoints> with_faults(std::unique_ptr<Endpoints> inner, FaultPlan* plan);
std::unique_ptr<Firewall> with_faults(std::unique_ptr<Firewall> inner, FaultPlan* plan);
std::unique_ptr<Vxlans> with_faults(std::unique_ptr<Vxlans> inner, FaultPlan* plan);

}  // namespace cnm::kernel

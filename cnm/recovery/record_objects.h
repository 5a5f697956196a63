// Private to cnm/: the kernel objects a record stands for, so recovery can remove them when it
// rolls a removal forward. A removal writes "drop record X" and then, in later intent writes, the
// objects to remove; a crash between those writes left a drop without its objects, and recovery
// dropped the record but leaked the bridge, veth, rules or netns mount (found by the fault sweep
// in tests/unit/fault_test.cc). Reading the record before dropping it closes that window.
#pragma once

#include <string>
#include <vector>

#include "cnm/core/driver.h"
#include "cnm/kernel/firewall.h"
#include "cnm/model/error.h"
#include "cnm/store/store.h"

namespace cnm {

// Appends (without duplicates) what record `id` of `table` owns in the kernel: the bridge and
// firewall chains of a network whose driver has one (`drivers`: Driver::has_bridge), an
// endpoint's host veth end and published-port rules, a sandbox's netns bind mount. A record that
// is gone adds nothing.
Status add_record_objects(store::Store& store, const Registry& drivers, const std::string& table,
                          const std::string& id, std::vector<std::string>& links,
                          std::vector<std::string>& netns, kernel::FirewallChange& fw);

}  // namespace cnm

// Private to cnm/: the kernel objects a record stands for, so recovery can remove them when it
// rolls a removal forward. A removal writes "drop record X" and then, in later intent writes, the
// objects to remove; a crash between those writes leaves a drop without its objects. Recovery
// reads the record before dropping it, so the bridge, veth, rules or netns mount still go (the
// fault sweep in tests/unit/fault_test.cc crashes at each of those writes).
#pragma once

#include <string>
#include <vector>

#include "cnm/core/driver.h"
#include "cnm/core/intent.h"
#include "cnm/kernel/firewall.h"
#include "cnm/model/error.h"
#include "cnm/store/store.h"

namespace cnm {

// Appends (without duplicates) what record `id` of `table` owns in the kernel: the bridge and
// firewall chains of a network whose driver has one (`drivers`: Driver::has_bridge), an
// endpoint's host veth end and published-port rules, a sandbox's netns bind mount. A record that
// is gone adds nothing. A network on a bridge it adopted adds what netctl gives back to that
// bridge to `adopted` (the bridge itself, listed in `links`, is not netctl's to delete).
struct RecordObjects {
  std::vector<std::string>& links;
  std::vector<std::string>& netns;
  kernel::FirewallChange& fw;
  std::vector<AdoptIntent>& adopted;
};
Status add_record_objects(store::Store& store, const Registry& drivers, const std::string& table,
                          const std::string& id, RecordObjects out);

}  // namespace cnm

// cnm/launcher/caps: capability names and Docker's --cap-add/--cap-drop rules.
#include "cnm/launcher/caps.h"

#include <doctest/doctest.h>
#include <linux/capability.h>

#include "cnm/launcher/spawn.h"

using cnm::Code;
using cnm::launcher::all_caps;
using cnm::launcher::cap_list;
using cnm::launcher::cap_name;
using cnm::launcher::cap_number;
using cnm::launcher::capability_set;
using cnm::launcher::kDefaultCaps;

namespace {

constexpr uint64_t caps_bit(int cap) { return 1ULL << cap; }

}  // namespace

TEST_CASE("capabilities: names round-trip, any case, with or without CAP_") {
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    REQUIRE(!cap_name(cap).empty());
    CHECK(cap_number(cap_name(cap)) == cap);
  }
  CHECK(cap_name(CAP_LAST_CAP + 1).empty());
  CHECK(cap_name(CAP_SYS_ADMIN) == "CAP_SYS_ADMIN");
  CHECK(cap_name(CAP_CHECKPOINT_RESTORE) == "CAP_CHECKPOINT_RESTORE");
  CHECK(cap_number("net_admin") == CAP_NET_ADMIN);
  CHECK(cap_number("Cap_Net_Admin") == CAP_NET_ADMIN);
  CHECK(cap_number("SYS_PTRACE") == CAP_SYS_PTRACE);
  CHECK_FALSE(cap_number("ALL"));
  CHECK_FALSE(cap_number("CAP_"));
  CHECK_FALSE(cap_number("NET_ADMIN "));
  CHECK(all_caps() == (1ULL << 41) - 1);
  CHECK(cap_list(caps_bit(CAP_CHOWN) | caps_bit(CAP_KILL)) == "CAP_CHOWN,CAP_KILL");
  // The default set is Docker's fourteen.
  CHECK(cap_list(kDefaultCaps) ==
        "CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_KILL,CAP_SETGID,CAP_SETUID,"
        "CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_NET_RAW,CAP_SYS_CHROOT,CAP_MKNOD,CAP_AUDIT_WRITE,"
        "CAP_SETFCAP");
}

TEST_CASE("capabilities: add and drop start from the default set") {
  CHECK(capability_set({}, {}) == kDefaultCaps);
  CHECK(capability_set({"NET_ADMIN"}, {}) == (kDefaultCaps | caps_bit(CAP_NET_ADMIN)));
  CHECK(capability_set({"cap_net_admin", "sys_time"}, {}) ==
        (kDefaultCaps | caps_bit(CAP_NET_ADMIN) | caps_bit(CAP_SYS_TIME)));
  CHECK(capability_set({}, {"chown", "CAP_NET_RAW"}) ==
        (kDefaultCaps & ~caps_bit(CAP_CHOWN) & ~caps_bit(CAP_NET_RAW)));
  // Dropping something not held changes nothing; an add wins over a drop of the same name.
  CHECK(capability_set({}, {"SYS_ADMIN"}) == kDefaultCaps);
  CHECK(capability_set({"NET_RAW"}, {"NET_RAW"}) == kDefaultCaps);
}

TEST_CASE("capabilities: ALL in either list") {
  // Drop ALL, add X: just X.
  CHECK(capability_set({"NET_BIND_SERVICE"}, {"ALL"}) == caps_bit(CAP_NET_BIND_SERVICE));
  CHECK(capability_set({}, {"all"}) == 0);
  // Add ALL: every capability this build knows, minus the drops.
  CHECK(capability_set({"ALL"}, {}) == all_caps());
  CHECK(capability_set({"all"}, {"SYS_ADMIN"}) == (all_caps() & ~caps_bit(CAP_SYS_ADMIN)));
  CHECK(capability_set({"ALL"}, {"ALL"}) == all_caps());
}

TEST_CASE("capabilities: an unknown name is invalid input") {
  for (auto [add, drop] :
       {std::pair<std::vector<std::string>, std::vector<std::string>>{{"NET_ADMIN", "FLY"}, {}},
        {{}, {"FLY"}},
        {{"ALL"}, {"FLY"}},
        {{"FLY"}, {"ALL"}}}) {
    auto r = capability_set(add, drop);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kInvalid);
    CHECK(r.error().message == "unknown capability 'FLY'");
  }
  auto empty = capability_set({""}, {});
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message == "unknown capability ''");
}

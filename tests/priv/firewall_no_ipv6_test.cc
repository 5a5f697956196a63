// The libiptc firewall on a host without IPv6: a thread whose AF_INET6 sockets fail with
// EAFNOSUPPORT (a seccomp filter of its own), as every socket does on a kernel booted with
// ipv6.disable=1, so libip6tc cannot open any IPv6 table. IPv4 works, removals that name IPv6
// (recovery, gc) skip the absent tables, and adding IPv6 rules fails cleanly.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cstddef>
#include <exception>
#include <functional>

#include "tests/priv/firewall_world.h"

namespace cnm::kernel {
namespace {

// Installs on the calling thread only: socket(AF_INET6, ...) fails with EAFNOSUPPORT.
bool nov6_seccomp_on_this_thread() {
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(code)), code};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

// Runs `fn` on a new thread without IPv6 sockets; a failed REQUIRE there ends the test here.
void without_ipv6(const std::function<void()>& fn) {
  bool filtered = false;
  std::exception_ptr failed;
  std::thread t([&] {
    filtered = nov6_seccomp_on_this_thread();
    try {
      if (filtered) fn();
    } catch (...) {
      failed = std::current_exception();
    }
  });
  t.join();
  REQUIRE(filtered);
  if (failed) std::rethrow_exception(failed);
}

}  // namespace

#if defined(__x86_64__)
TEST_CASE("iptc firewall: no IPv6 tables: IPv4 works, IPv6 removals are no-ops, IPv6 adds fail") {
  priv::FreshNetns ns;
  auto fw = make_iptc_firewall(kRootId);
  std::string before_add;
  without_ipv6([&] {
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    REQUIRE(s < 0);
    CHECK(errno == EAFNOSUPPORT);

    auto empty = fw->dump();
    REQUIRE_MESSAGE(empty, empty.error().message);
    for (const auto& l : *empty) CHECK((l != "*filter6" && l != "*nat6"));

    FirewallChange add;
    add.add_networks.push_back(testing::net("aaa111", "nc-nov6", "10.78.1.0/24"));
    add.bridges = std::vector<std::string>{"nc-nov6"};
    add.add_ports.push_back({"ep1", "nc-nov6", testing::ip("10.78.1.2"), {tcp(8080, 80)}});
    apply(*fw, add);
    auto dump = fw->dump();
    REQUIRE_MESSAGE(dump, dump.error().message);
    CHECK(std::find(dump->begin(), dump->end(), "*filter6") == dump->end());
    CHECK(std::find(dump->begin(), dump->end(), "-N NETCTL-N-aaa111") != dump->end());
    CHECK(has(save(), "-A NETCTL-D-0a1b2c3d"));

    // What recovery and gc send: removals that name IPv6 too.
    FirewallChange remove;
    remove.remove_networks = {"aaa111"};
    remove.remove_ports.push_back(add.add_ports[0]);
    remove.remove_ports[0].container_ip6 = testing::ip("fd00:78::2");
    remove.bridges = std::vector<std::string>{};
    remove.bridges6 = std::vector<std::string>{};
    remove.ipv6 = true;
    remove.exact_ports = true;
    apply(*fw, remove);
    CHECK_FALSE(has(save(), "NETCTL-N-aaa111"));
    CHECK_FALSE(has(save(), "--to-destination 10.78.1.2:80"));

    before_add = save();
    FirewallChange dual;
    dual.add_networks.push_back(
        testing::net("bbb222", "nc-dual", "10.78.2.0/24", "fd00:78:2::/64"));
    dual.bridges = std::vector<std::string>{"nc-dual"};
    dual.bridges6 = std::vector<std::string>{"nc-dual"};
    auto st = fw->apply(dual);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Code::kFailed);
    CHECK(st.error().message.starts_with("this host has no IPv6 firewall: open filter6 table: "));
    CHECK(save() == before_add);  // the IPv4 half was not committed either
  });
}
#endif

}  // namespace cnm::kernel

// Links and Sysctl against the real kernel, each case in a fresh network namespace.
#include "cnm/kernel/links.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/literals.h"
#include "tests/priv/priv.h"

namespace cnm::kernel {
namespace {

using nlohmann::json;
using priv::sh;
using priv::sh_rc;

using testing::pfx;

bool has(const std::vector<Prefix>& v, const char* text) { return testing::contains(v, pfx(text)); }

// `ip -j addr show dev NAME`, the first (only) entry.
json ip_addr(const std::string& name) {
  json j = json::parse(sh("ip -j addr show dev " + name + " 2>/dev/null || echo '[]'"));
  return j.empty() ? json::object() : j[0];
}

bool link_exists(const std::string& name) {
  return sh_rc("ip link show " + name + " >/dev/null 2>&1") == 0;
}

TEST_CASE("create_bridge makes an up bridge with its MTU and addresses") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  std::vector<Prefix> addrs{pfx("10.20.0.1/24"), pfx("fd00:20::1/64")};
  REQUIRE(links->create_bridge("nc-test", 1400, addrs));

  json a = ip_addr("nc-test");
  CHECK(a["mtu"] == 1400);
  auto flags = a["flags"].get<std::vector<std::string>>();
  CHECK(std::count(flags.begin(), flags.end(), "UP") == 1);
  bool v4 = false, v6 = false;
  for (const json& info : a["addr_info"]) {
    if (info["local"] == "10.20.0.1") {
      v4 = true;
      CHECK(info["prefixlen"] == 24);
      CHECK(info["broadcast"] == "10.20.0.255");
    }
    if (info["local"] == "fd00:20::1") v6 = info["prefixlen"] == 64;
  }
  CHECK(v4);
  CHECK(v6);
  json d = json::parse(sh("ip -j -d link show dev nc-test"));
  CHECK(d[0]["linkinfo"]["info_kind"] == "bridge");
  // Snooping off (see links_linux.cc), the kernel's defaults otherwise.
  CHECK(d[0]["linkinfo"]["info_data"]["mcast_snooping"] == 0);
  CHECK(d[0]["linkinfo"]["info_data"]["stp_state"] == 0);

  auto got = links->get("nc-test");
  REQUIRE(got);
  REQUIRE(got->has_value());
  const LinkInfo& info = **got;
  CHECK(info.name == "nc-test");
  CHECK(info.kind == "bridge");
  CHECK(info.mtu == 1400);
  CHECK(info.up);
  CHECK(info.master == 0);
  CHECK(info.index == d[0]["ifindex"].get<int>());
  CHECK(info.addresses == addrs);
}

// The kernel's addresses of `name` in fe80::/10, as `ip` reports them.
std::vector<std::string> link_local_of(const std::string& name) {
  std::vector<std::string> out;
  const json link = ip_addr(name);  // named: a temporary's member would not outlive the loop's head
  for (const json& a : link.value("addr_info", json::array())) {
    std::string local = a["local"].get<std::string>();
    if (local.starts_with("fe8") || local.starts_with("fe9") || local.starts_with("fea") ||
        local.starts_with("feb"))
      out.push_back(local);
  }
  return out;
}

// Waits up to a second for `name` to have (want) or lack a link-local address in the kernel;
// false if it never did.
bool wait_link_local(const std::string& name, bool want) {
  for (int i = 0; i < 100; ++i) {
    if (link_local_of(name).empty() != want) return true;
    sh_rc("sleep 0.01");
  }
  return false;
}

TEST_CASE("an IPv4-only bridge gets no link-local address, a link-local one is not listed") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  // Control: a bridge made by `ip` gets fe80:: once a port gives it carrier, so the check on the
  // bridge netctl made below can see one if the kernel generates it.
  REQUIRE(sh_rc("ip link add nc-ctl type bridge && ip link set nc-ctl up && "
                "ip link add nv-c0 type veth peer name nv-c1 && "
                "ip link set nv-c0 master nc-ctl up && ip link set nv-c1 up") == 0);
  REQUIRE(wait_link_local("nc-ctl", true));
  REQUIRE(links->create_bridge("nc-ll", 0, std::vector{pfx("10.22.0.1/24")}));
  REQUIRE(sh_rc("ip link add nv-l0 type veth peer name nv-l1 && "
                "ip link set nv-l0 master nc-ll up && ip link set nv-l1 up") == 0);
  REQUIRE(wait_link_local("nv-l1", true));      // the port pair has carrier, so the bridge has too
  CHECK_FALSE(wait_link_local("nc-ll", true));  // none within a second
  // One added by hand is in the kernel but not in what Links reports.
  REQUIRE(sh_rc("ip addr add fe80::22/64 dev nc-ll nodad") == 0);
  REQUIRE(link_local_of("nc-ll") == std::vector<std::string>{"fe80::22"});
  auto got = links->get("nc-ll");
  REQUIRE(got);
  REQUIRE(got->has_value());
  CHECK((*got)->addresses == std::vector{pfx("10.22.0.1/24")});
}

TEST_CASE("a bridge keeps the MAC it was made with while ports come and go") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  REQUIRE(links->create_bridge("nc-mac", 0, std::vector{pfx("10.21.0.1/24")}));
  auto mac = [] { return ip_addr("nc-mac")["address"].get<std::string>(); };
  const std::string made = mac();
  CHECK(made.starts_with("02:42") == false);  // never a container's derived MAC
  CHECK((std::stoi(made.substr(0, 2), nullptr, 16) & 0x03) == 0x02);  // local, unicast
  // A port with a lower MAC than the bridge's: a bridge without an address of its own takes it.
  REQUIRE(sh_rc("ip link add nv-mac type veth peer name nv-macp && ip link set nv-mac address "
                "00:00:5e:00:53:01 master nc-mac up") == 0);
  CHECK(mac() == made);
  REQUIRE(sh_rc("ip link del nv-mac") == 0);
  CHECK(mac() == made);
}

TEST_CASE("create_bridge without addresses or MTU uses the kernel default") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  REQUIRE(links->create_bridge("nc-plain", 0, {}));
  auto got = links->get("nc-plain");
  REQUIRE(got);
  REQUIRE(got->has_value());
  CHECK((*got)->mtu == 1500);
  CHECK((*got)->up);
  CHECK((*got)->addresses.empty());
}

TEST_CASE("create_bridge conflicts and failures") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  REQUIRE(links->create_bridge("nc-dup", 0, std::vector{pfx("10.1.0.1/24")}));

  SUBCASE("an existing name is a conflict and leaves the existing bridge alone") {
    auto r = links->create_bridge("nc-dup", 0, {});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kConflict);
    CHECK(r.error().message == "create bridge nc-dup: File exists");
    CHECK(link_exists("nc-dup"));
  }
  SUBCASE("a failing address removes the new bridge again") {
    std::vector<Prefix> twice{pfx("10.2.0.1/24"), pfx("10.2.0.1/24")};
    auto r = links->create_bridge("nc-bad", 0, twice);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with("add address 10.2.0.1/24 to nc-bad: "));
    CHECK_FALSE(link_exists("nc-bad"));
  }
  SUBCASE("an invalid MTU fails without leaving a bridge") {
    auto r = links->create_bridge("nc-mtu", 70000, {});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kFailed);
    CHECK(r.error().message.starts_with("create bridge nc-mtu: "));
    MESSAGE(r.error().message);
    CHECK_FALSE(link_exists("nc-mtu"));
  }
  SUBCASE("a name longer than IFNAMSIZ is invalid, not truncated") {
    auto r = links->create_bridge("nc-0123456789abcdef", 0, {});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kInvalid);
    CHECK_FALSE(link_exists("nc-0123456789ab"));
  }
}

TEST_CASE("delete_links: one, many, missing ones") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  SUBCASE("one") {
    REQUIRE(links->create_bridge("nc-one", 0, {}));
    std::vector<std::string> names{"nc-one"};
    CHECK(links->delete_links(names));
    CHECK_FALSE(link_exists("nc-one"));
    CHECK(links->delete_links(names));  // already gone: still success
    auto got = links->get("nc-one");
    REQUIRE(got);
    CHECK_FALSE(got->has_value());
  }
  SUBCASE("a batch of 20 with missing names mixed in") {
    std::vector<std::string> names{"nc-missing-a"};
    for (int i = 0; i < 20; ++i) {
      names.push_back("nc-batch" + std::to_string(i));
      REQUIRE(links->create_bridge(names.back(), 0, {}));
    }
    names.push_back("nc-missing-b");
    REQUIRE(links->create_bridge("nc-keep", 0, {}));
    CHECK(links->delete_links(names));
    for (const std::string& n : names) CHECK_FALSE(link_exists(n));
    CHECK(link_exists("nc-keep"));
  }
  SUBCASE("both ends of a veth pair and its bridge in one batch") {
    REQUIRE(links->create_bridge("nc-vb", 0, {}));
    REQUIRE(sh_rc(std::string("ip link add nv-1 type veth peer name nv-2 && ip link set nv-1 ") +
                  "master nc-vb group " + priv::kMarkIp + " && ip link set nv-2 group " +
                  priv::kMarkIp) == 0);
    std::vector<std::string> names{"nv-1", "nv-2", "nc-vb"};
    CHECK(links->delete_links(names));
    for (const std::string& n : names) CHECK_FALSE(link_exists(n));
  }
  SUBCASE("a link that cannot be deleted does not stop the others") {
    std::vector<std::string> names{"nc-x1", "lo", "nc-x2"};
    REQUIRE(sh_rc(std::string("ip link set lo group ") + priv::kMarkIp) == 0);  // lo as if ours
    REQUIRE(links->create_bridge("nc-x1", 0, {}));
    REQUIRE(links->create_bridge("nc-x2", 0, {}));
    auto r = links->delete_links(names);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with("delete link lo: "));
    CHECK_FALSE(link_exists("nc-x1"));
    CHECK_FALSE(link_exists("nc-x2"));
    json lo = json::parse(sh("ip -j -d link show dev lo"));
    CHECK(lo[0]["group"] == priv::kMarkIp);  // its group was put back
  }
}

TEST_CASE("list reports kinds, masters and addresses") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  REQUIRE(links->create_bridge("nc-br", 0, std::vector{pfx("10.40.0.1/24")}));
  REQUIRE(sh_rc("ip link add nv-a type veth peer name nv-b && ip link set nv-a master nc-br") == 0);
  auto all = links->list();
  REQUIRE(all);
  auto find = [&](const std::string& n) {
    auto it = std::find_if(all->begin(), all->end(), [&](auto& l) { return l.name == n; });
    REQUIRE(it != all->end());
    return *it;
  };
  LinkInfo lo = find("lo"), br = find("nc-br"), a = find("nv-a"), b = find("nv-b");
  CHECK(lo.kind == "");
  CHECK(lo.up);
  CHECK(has(lo.addresses, "127.0.0.1/8"));
  CHECK(br.kind == "bridge");
  CHECK(br.addresses == std::vector{pfx("10.40.0.1/24")});
  CHECK(a.kind == "veth");
  CHECK(a.master == br.index);
  CHECK(b.master == 0);
  CHECK_FALSE(b.up);
}

TEST_CASE("used_prefixes sees interface subnets and routes, not the ambient ones") {
  priv::FreshNetns ns;
  auto links = make_linux_links(priv::kMark);
  std::vector<Prefix> addrs{pfx("10.30.0.1/24"), pfx("fd00:30::1/64")};
  REQUIRE(links->create_bridge("nc-used", 0, addrs));
  REQUIRE(sh_rc("ip route add 198.51.100.0/24 dev nc-used") == 0);
  REQUIRE(sh_rc("ip route add 203.0.113.0/25 dev nc-used table 100") == 0);
  REQUIRE(sh_rc("ip route add default dev nc-used") == 0);
  REQUIRE(sh_rc("ip -6 route add default dev nc-used") == 0);
  // A link-local address (and its fe80::/64 route) really there, so the fe80::/10 check below can
  // see one.
  REQUIRE(sh_rc("ip addr add fe80::30/64 dev nc-used nodad") == 0);
  REQUIRE(link_local_of("nc-used") == std::vector<std::string>{"fe80::30"});
  REQUIRE(sh("ip -6 route show fe80::/64 dev nc-used").starts_with("fe80::/64"));
  auto used = links->used_prefixes();
  REQUIRE(used);
  for (const Prefix& p : *used) MESSAGE(p.str());
  CHECK(has(*used, "10.30.0.0/24"));
  CHECK(has(*used, "fd00:30::/64"));
  CHECK(has(*used, "198.51.100.0/24"));
  CHECK(has(*used, "203.0.113.0/25"));
  for (const Prefix& p : *used) {
    CHECK(p.len() > 0);
    CHECK(p.addr() == p.network());
    CHECK_FALSE(pfx("127.0.0.0/8").overlaps(p));
    CHECK_FALSE(pfx("fe80::/10").overlaps(p));
    CHECK_FALSE(pfx("ff00::/8").overlaps(p));
    CHECK(p != pfx("::1/128"));
  }
}

TEST_CASE("a Links object stays in the namespace it was made in") {
  priv::FreshNetns first;
  auto links = make_linux_links(priv::kMark);
  priv::FreshNetns second;
  REQUIRE(links->create_bridge("nc-first", 0, {}));
  CHECK_FALSE(link_exists("nc-first"));
  auto got = links->get("nc-first");
  REQUIRE(got);
  CHECK(got->has_value());
}

TEST_CASE("sysctl set and get inside the namespace") {
  priv::FreshNetns ns;
  auto sysctl = make_linux_sysctl();
  REQUIRE(sysctl->set("net/ipv4/ip_forward", "1"));
  CHECK(sysctl->get("net/ipv4/ip_forward") == "1");
  CHECK(sh("cat /proc/sys/net/ipv4/ip_forward") == "1\n");
  REQUIRE(sysctl->set("net/ipv4/ip_forward", "0"));
  CHECK(sysctl->get("net/ipv4/ip_forward") == "0");

  auto missing = sysctl->get("net/ipv4/no_such_key");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "read sysctl net/ipv4/no_such_key: No such file or directory");
  auto bad = sysctl->set("../../etc/passwd", "x");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Code::kInvalid);
  auto refused = sysctl->set("net/ipv4/ip_forward", "banana");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.starts_with("set sysctl net/ipv4/ip_forward=banana: "));
}

}  // namespace
}  // namespace cnm::kernel

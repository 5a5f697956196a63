// Endpoints against the real kernel: veth pairs from a bridge into namespaces, with real traffic.
#include "cnm/kernel/endpoints.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnm/kernel/links.h"
#include "tests/literals.h"
#include "tests/priv/netlink_monitor.h"
#include "tests/priv/priv.h"

namespace cnm::kernel {
namespace {

using nlohmann::json;
using priv::sh;
using priv::sh_rc;

using testing::ip;
using testing::own_netns;
using testing::pfx;

// A bridge nc-ep (10.66.0.1/24, fd00:66::1/64) in the current namespace and namespaces under
// /run/netns that go away with it.
struct Lan {
  std::unique_ptr<Links> links = make_linux_links(priv::kMark);
  std::unique_ptr<Namespaces> nss = make_linux_namespaces(priv::kMark);
  std::unique_ptr<Endpoints> eps = make_linux_endpoints(priv::kMark);
  std::vector<std::string> made;

  Lan() {
    std::vector<Prefix> gw{pfx("10.66.0.1/24"), pfx("fd00:66::1/64")};
    REQUIRE(links->create_bridge("nc-ep", 1500, gw));
  }
  ~Lan() {
    for (const std::string& p : made) (void)nss->remove(p);
  }
  std::string netns(const std::string& name) {
    std::string path = "/run/netns/" + name;
    REQUIRE(nss->create(path));
    made.push_back(path);
    return path;
  }
  std::vector<std::string> inside(const std::string& path) {
    auto ifs = nss->interfaces(path);
    REQUIRE(ifs);
    return *ifs;
  }
};

// An IPv4 endpoint on nc-ep, default route via 10.66.0.1.
EndpointSpec spec(const std::string& host, const std::string& path, const char* addr,
                  const std::string& mac) {
  EndpointSpec s;
  s.host_ifname = host;
  s.bridge = "nc-ep";
  s.netns_path = path;
  s.ifname = "eth0";
  s.mac = mac;
  s.addresses = {pfx(addr)};
  s.gateways = {ip("10.66.0.1")};
  return s;
}

json link_json(const std::string& ns, const std::string& dev) {
  std::string n = ns.empty() ? "" : "-n " + ns + " ";
  json j = json::parse(sh("ip " + n + "-j -d addr show dev " + dev + " 2>/dev/null || echo '[]'"));
  return j.empty() ? json::object() : j[0];
}

bool has_flag(const json& link, const char* flag) {
  auto flags = link.value("flags", std::vector<std::string>{});
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

int host_veths() { return std::stoi(sh("ip -o link show type veth | wc -l")); }

TEST_CASE("attach: two namespaces on one bridge reach each other and the gateway") {
  priv::FreshNetns ns;
  Lan lan;
  std::string pa = lan.netns("ep-a"), pb = lan.netns("ep-b");
  std::string before = own_netns();
  priv::LinkMonitor monitor;
  EndpointSpec a = spec("nvep-a", pa, "10.66.0.2/24", "02:42:0a:42:00:02");
  a.mtu = 1450;
  a.addresses.push_back(pfx("fd00:66::2/64"));
  a.gateways.push_back(ip("fd00:66::1"));
  REQUIRE(lan.eps->attach(a));
  EndpointSpec b = spec("nvep-b", pb, "10.66.0.3/24", "02:42:0a:42:00:03");
  b.mtu = 1450;
  b.addresses.push_back(pfx("fd00:66::3/64"));
  b.gateways.push_back(ip("fd00:66::1"));
  REQUIRE(lan.eps->attach(b));
  CHECK(own_netns() == before);
  // The peers were made inside: the host namespace never announced a link called eth0.
  auto announced = monitor.names();
  CHECK(std::count(announced.begin(), announced.end(), "nvep-a") > 0);
  CHECK(std::count(announced.begin(), announced.end(), "eth0") == 0);
  CHECK(sh_rc("ip link show eth0 >/dev/null 2>&1") != 0);

  // Real traffic, IPv6 included at once (no DAD wait).
  CHECK(sh_rc("ip netns exec ep-a busybox ping -c1 -W2 10.66.0.3 >/dev/null") == 0);
  CHECK(sh_rc("ip netns exec ep-a busybox ping -c1 -W2 10.66.0.1 >/dev/null") == 0);
  CHECK(sh_rc("ip netns exec ep-b busybox ping -c1 -W2 10.66.0.2 >/dev/null") == 0);
  CHECK(sh_rc("ip netns exec ep-a busybox ping -6 -c1 -W2 fd00:66::3 >/dev/null") == 0);
  CHECK(sh_rc("ip netns exec ep-b busybox ping -6 -c1 -W2 fd00:66::1 >/dev/null") == 0);

  json peer = link_json("ep-a", "eth0");
  CHECK(peer["address"] == "02:42:0a:42:00:02");
  CHECK(peer["mtu"] == 1450);
  CHECK(has_flag(peer, "UP"));
  CHECK(has_flag(peer, "LOWER_UP"));
  bool v4 = false, v6 = false;
  for (const json& info : peer["addr_info"]) {
    if (info["local"] == "10.66.0.2") v4 = info["prefixlen"] == 24;
    if (info["local"] == "fd00:66::2") v6 = !info.contains("tentative") && info.contains("nodad");
  }
  CHECK(v4);
  CHECK(v6);
  json host = link_json("", "nvep-a");
  CHECK(host["master"] == "nc-ep");
  CHECK(host["mtu"] == 1450);
  CHECK(host["operstate"] == "UP");
  CHECK(host["linkinfo"]["info_kind"] == "veth");
  // One queue each way on both ends, made so (not cut down after registering: endpoints_linux.cc).
  for (const json& end : {host, peer}) {
    CHECK(end["num_tx_queues"] == 1);
    CHECK(end["num_rx_queues"] == 1);
  }

  json r4 = json::parse(sh("ip -n ep-a -j route show default"));
  REQUIRE(r4.size() == 1);
  CHECK(r4[0]["gateway"] == "10.66.0.1");
  CHECK(r4[0]["dev"] == "eth0");
  json r6 = json::parse(sh("ip -n ep-a -6 -j route show default"));
  REQUIRE(r6.size() == 1);
  CHECK(r6[0]["gateway"] == "fd00:66::1");
  CHECK(sh("ip netns exec ep-a cat /proc/sys/net/ipv4/conf/eth0/arp_notify") == "1\n");
  CHECK(lan.inside(pa) == std::vector<std::string>{"lo", "eth0"});
}

TEST_CASE("add_default_routes: through a kept interface; one already there counts; gone is 404") {
  priv::FreshNetns ns;
  Lan lan;
  std::string pa = lan.netns("ep-a");
  EndpointSpec a = spec("nvep-a", pa, "10.66.0.2/24", "02:42:0a:42:00:02");
  a.addresses.push_back(pfx("fd00:66::2/64"));
  a.gateways.clear();  // attached without a default route, as a second network is
  REQUIRE(lan.eps->attach(a));
  CHECK(sh("ip -n ep-a -4 route show default").empty());
  std::vector<IpAddr> gws{ip("10.66.0.1"), ip("fd00:66::1")};
  REQUIRE(lan.eps->add_default_routes(pa, "eth0", gws));
  json r4 = json::parse(sh("ip -n ep-a -j -4 route show default"));
  REQUIRE(r4.size() == 1);
  CHECK(r4[0]["gateway"] == "10.66.0.1");
  CHECK(r4[0]["dev"] == "eth0");
  json r6 = json::parse(sh("ip -n ep-a -j -6 route show default"));
  REQUIRE(r6.size() == 1);
  CHECK(r6[0]["gateway"] == "fd00:66::1");
  CHECK(sh_rc("ip netns exec ep-a busybox ping -c1 -W2 10.66.0.1 >/dev/null") == 0);
  // Again (a recovery redoing it): already there, nothing added.
  REQUIRE(lan.eps->add_default_routes(pa, "eth0", gws));
  CHECK(json::parse(sh("ip -n ep-a -j -4 route show default")).size() == 1);
  // An interface or a namespace that is gone.
  auto no_if = lan.eps->add_default_routes(pa, "eth7", gws);
  REQUIRE_FALSE(no_if);
  CHECK(no_if.error().code == Code::kNotFound);
  auto no_ns = lan.eps->add_default_routes("/run/netns/ep-none", "eth0", gws);
  REQUIRE_FALSE(no_ns);
  CHECK(no_ns.error().code == Code::kNotFound);
}

TEST_CASE("attach: names already taken are conflicts and leave nothing") {
  priv::FreshNetns ns;
  Lan lan;
  std::string pc = lan.netns("ep-c");
  SUBCASE("the interface name inside the namespace") {
    REQUIRE(sh_rc("ip -n ep-c link add eth0 type bridge") == 0);
    auto r = lan.eps->attach(spec("nvep-c", pc, "10.66.0.4/24", ""));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kConflict);
    CHECK(r.error().message == "interface eth0 already exists in /run/netns/ep-c");
    CHECK(lan.inside(pc) == std::vector<std::string>{"lo", "eth0"});
    CHECK(json::parse(sh("ip -n ep-c -j -d link show eth0"))[0]["linkinfo"]["info_kind"] ==
          "bridge");
  }
  SUBCASE("the host end's name") {
    REQUIRE(sh_rc("ip link add nvep-c type bridge") == 0);
    auto r = lan.eps->attach(spec("nvep-c", pc, "10.66.0.4/24", ""));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kConflict);
    CHECK(r.error().message == "create veth nvep-c: File exists");
    CHECK(lan.inside(pc) == std::vector<std::string>{"lo"});
  }
  CHECK(host_veths() == 0);
}

TEST_CASE("attach: bad input and a missing namespace touch nothing") {
  priv::FreshNetns ns;
  Lan lan;
  std::string pd = lan.netns("ep-d");
  auto missing = lan.eps->attach(spec("nvep-d", "/run/netns/ep-none", "10.66.0.5/24", ""));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Code::kNotFound);
  CHECK(missing.error().message == "network namespace /run/netns/ep-none not found");

  EndpointSpec long_name = spec("nvep-0123456789abcdef", pd, "10.66.0.5/24", "");
  auto invalid = lan.eps->attach(long_name);
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().code == Code::kInvalid);
  auto bad_mac = lan.eps->attach(spec("nvep-d", pd, "10.66.0.5/24", "02:42:zz:00:00:01"));
  REQUIRE_FALSE(bad_mac);
  CHECK(bad_mac.error().code == Code::kInvalid);
  CHECK(bad_mac.error().message == "invalid MAC address '02:42:zz:00:00:01'");
  CHECK(host_veths() == 0);
  CHECK(lan.inside(pd) == std::vector<std::string>{"lo"});
}

TEST_CASE("attach: a failure after the pair exists deletes it from both namespaces") {
  priv::FreshNetns ns;
  Lan lan;
  std::string pe = lan.netns("ep-e");
  EndpointSpec s = spec("nvep-e", pe, "10.66.0.6/24", "02:42:0a:42:00:06");
  std::string expected;
  SUBCASE("a gateway outside the subnet") {
    s.gateways = {ip("10.99.0.1")};
    expected = "add default route via 10.99.0.1 dev eth0 in /run/netns/ep-e: ";
  }
  SUBCASE("an address twice") {
    s.addresses.push_back(s.addresses[0]);
    expected = "add address 10.66.0.6/24 to eth0 in /run/netns/ep-e: File exists";
  }
  SUBCASE("a bridge that does not exist (before anything is made)") {
    s.bridge = "nc-none";
    expected = "look up bridge nc-none: No such device";
  }
  auto r = lan.eps->attach(s);
  REQUIRE_FALSE(r);
  MESSAGE(r.error().message);
  CHECK(r.error().message.starts_with(expected));
  CHECK(host_veths() == 0);
  CHECK(lan.inside(pe) == std::vector<std::string>{"lo"});
  // The same names work once the cause is gone.
  REQUIRE(lan.eps->attach(spec("nvep-e", pe, "10.66.0.6/24", "02:42:0a:42:00:06")));
  CHECK(lan.inside(pe) == std::vector<std::string>{"lo", "eth0"});
}

TEST_CASE("deleting the host end with Links::delete_links removes the peer") {
  priv::FreshNetns ns;
  Lan lan;
  std::string pf = lan.netns("ep-f");
  REQUIRE(lan.eps->attach(spec("nvep-f", pf, "10.66.0.7/24", "")));
  REQUIRE(lan.inside(pf) == std::vector<std::string>{"lo", "eth0"});
  std::vector<std::string> names{"nvep-f"};
  REQUIRE(lan.links->delete_links(names));
  CHECK(lan.inside(pf) == std::vector<std::string>{"lo"});
  CHECK(host_veths() == 0);
}

// Polls `ip neigh` in `ns` for up to a second until 10.66.0.2's lladdr is `mac`.
std::string wait_lladdr(const std::string& ns, const std::string& mac) {
  std::string got;
  for (int i = 0; i < 50 && got != mac; ++i) {
    if (i > 0) usleep(20000);
    json j = json::parse(sh("ip -n " + ns + " -j neigh show 10.66.0.2 dev eth0"));
    got = j.empty() ? "" : j[0].value("lladdr", "");
  }
  return got;
}

TEST_CASE("attach sends a gratuitous ARP that fixes a neighbour's stale entry for a reused IP") {
  priv::FreshNetns ns;
  Lan lan;
  std::string pa = lan.netns("ep-ga"), pb = lan.netns("ep-gb");
  REQUIRE(lan.eps->attach(spec("nvep-gb", pb, "10.66.0.3/24", "02:42:0a:42:00:03")));
  // B remembers 10.66.0.2 at the MAC of a container that had the address before.
  const std::string stale = "ip -n ep-gb neigh replace 10.66.0.2 lladdr 02:00:00:00:00:99 dev eth0";
  REQUIRE(sh_rc(stale + " nud stale") == 0);
  SUBCASE("attach: B learns the new MAC without sending anything") {
    REQUIRE(lan.eps->attach(spec("nvep-ga", pa, "10.66.0.2/24", "02:42:0a:42:00:02")));
    CHECK(wait_lladdr("ep-gb", "02:42:0a:42:00:02") == "02:42:0a:42:00:02");
  }
  SUBCASE("control: the same plumbing without arp_notify leaves B's entry stale") {
    REQUIRE(sh_rc("ip link add nvep-ga mtu 1500 master nc-ep up type veth peer name eth0 address "
                  "02:42:0a:42:00:02 netns ep-ga && ip -n ep-ga addr add 10.66.0.2/24 dev eth0 && "
                  "ip -n ep-ga link set eth0 up") == 0);
    usleep(300000);
    CHECK(wait_lladdr("ep-gb", "02:00:00:00:00:99") == "02:00:00:00:00:99");
  }
}

}  // namespace
}  // namespace cnm::kernel

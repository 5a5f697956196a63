// Service discovery's wiring (issue 24) over fake kernel adapters and a fake DNS control: the names
// stored on endpoints, ensure() once after an attach commits on a DNS network (and never after a
// failed one or on a netctl.dns=false network), a failing ensure() that leaves the attach, doctor's
// line and gc's start, and the files and results that point containers at the server.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cnm/launcher/spawn.h"
#include "cnm/model/validate.h"
#include "plugins/cni/config.h"
#include "plugins/cni/result.h"
#include "tests/unit/controller_fixture.h"

using cnm::Code;

namespace {

// n1 serves DNS; quiet is -o netctl.dns=false; sandboxes s1, s2 and "odd.sb".
struct DnsNets : ControllerFixture {
  DnsNets() {
    make_network("n1", {"10.88.0.0/24"});
    cnm::NetworkCreateRequest q;
    q.name = "quiet";
    q.subnets = {"10.89.0.0/24"};
    q.options["netctl.dns"] = "false";
    REQUIRE(ctl->create_network(q));
    for (const char* s : {"s1", "s2", "odd.sb"}) REQUIRE(ctl->create_sandbox(s));
  }
  cnm::Result<cnm::Endpoint> connect_as(const std::string& net, const std::string& target,
                                        std::vector<std::string> aliases = {}) {
    auto r = connect_req(net, target);
    r.aliases = std::move(aliases);
    return ctl->connect(r);
  }
};

cnm::Network dns_test_network(std::map<std::string, std::string> options, bool bridge = true) {
  cnm::Network n;
  n.bridge = bridge ? "br-x" : "";
  n.pools.push_back(cnm::Pool{});
  n.pools[0].subnet = *cnm::Prefix::parse("10.88.0.0/24");
  n.pools[0].gateway = *cnm::IpAddr::parse("10.88.0.1");
  n.options = std::move(options);
  return n;
}

}  // namespace

TEST_CASE("dns: Endpoint::dns_name is JSON DnsName, omitted when empty, absent reads empty") {
  cnm::Endpoint e;
  e.id = "e1";
  nlohmann::json j = e;
  CHECK_FALSE(j.contains("DnsName"));
  e.dns_name = "web";
  j = e;
  CHECK(j["DnsName"] == "web");
  CHECK(j.get<cnm::Endpoint>().dns_name == "web");
  j.erase("DnsName");
  CHECK(j.get<cnm::Endpoint>().dns_name.empty());
}

TEST_CASE("dns: dns_enabled needs a bridge and an IPv4 pool; netctl.dns=false|0 turns it off") {
  CHECK(cnm::dns_enabled(dns_test_network({})));
  CHECK(cnm::dns_enabled(dns_test_network({{"netctl.dns", "true"}})));
  CHECK_FALSE(cnm::dns_enabled(dns_test_network({{"netctl.dns", "false"}})));
  CHECK_FALSE(cnm::dns_enabled(dns_test_network({{"netctl.dns", "0"}})));
  CHECK_FALSE(cnm::dns_enabled(dns_test_network({}, false)));
  auto v6 = dns_test_network({});
  v6.pools[0].subnet = *cnm::Prefix::parse("fd00:1::/64");
  CHECK_FALSE(cnm::dns_enabled(v6));
}

TEST_CASE("dns: the bridge driver takes -o netctl.dns true|false|1|0 and refuses other values") {
  ControllerFixture f;
  int i = 0;
  for (const char* v : {"true", "false", "1", "0"}) {
    cnm::NetworkCreateRequest r;
    r.name = fmt::format("d{}", i);
    r.subnets = {fmt::format("10.90.{}.0/24", i++)};
    r.options["netctl.dns"] = v;
    CHECK_MESSAGE(f.ctl->create_network(r), v);
  }
  cnm::NetworkCreateRequest bad;
  bad.name = "bad";
  bad.options["netctl.dns"] = "yes";
  auto n = f.ctl->create_network(bad);
  REQUIRE_FALSE(n);
  CHECK(n.error().code == Code::kInvalid);
  CHECK(n.error().message.find("netctl.dns") != std::string::npos);
}

TEST_CASE("dns: connect stores the sandbox's name and the aliases, then ensure() once") {
  DnsNets f;
  auto ep = f.connect_as("n1", "s1", {"web", "Api_1"});
  REQUIRE(ep);
  CHECK(ep->dns_name == "s1");
  CHECK(ep->aliases == std::vector<std::string>{"web", "Api_1"});
  auto stored = f.on("n1");
  CHECK(stored.dns_name == "s1");
  CHECK(stored.aliases == ep->aliases);
  CHECK(f.dns.calls == std::vector<std::string>{"ensure"});
}

TEST_CASE("dns: a name that is no DNS label is no dns_name; pid and path targets have none") {
  DnsNets f;
  auto ep = f.connect_as("n1", "odd.sb");
  REQUIRE(ep);
  CHECK(ep->dns_name.empty());
  REQUIRE(f.namespaces.create("/run/netns/bare"));
  auto path = f.connect_as("n1", "/run/netns/bare");
  REQUIRE(path);
  CHECK(path->dns_name.empty());
}

TEST_CASE("dns: aliases that are not DNS labels are kInvalid and change nothing") {
  DnsNets f;
  for (const std::string& bad :
       std::vector<std::string>{"a.b", "-web", "web-", "", "we b", std::string(64, 'a')}) {
    CAPTURE(bad);
    auto r = f.connect_as("n1", "s1", {bad});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::kInvalid);
  }
  CHECK(f.endpoint_count() == 0);
  CHECK(f.dns.calls.empty());
  CHECK(f.connect_as("n1", "s1", {std::string(63, 'a')}));
}

TEST_CASE("dns: no ensure() after a failed attach, nor for a netctl.dns=false network") {
  DnsNets f;
  REQUIRE(f.connect_as("n1", "s1"));
  f.dns.calls.clear();
  auto twice = f.connect_as("n1", "s1");  // already connected: fails before its commit
  REQUIRE_FALSE(twice);
  CHECK(twice.error().code == Code::kConflict);
  f.steps.fail_at = f.steps.steps + 1;  // the next kernel step fails: rolled back
  REQUIRE_FALSE(f.connect_as("n1", "s2"));
  f.steps.fail_at = 0;
  CHECK(f.dns.calls.empty());
  REQUIRE(f.connect_as("quiet", "s2"));
  CHECK(f.dns.calls.empty());
}

TEST_CASE("dns: a failing ensure() leaves the committed attach and the command succeeds") {
  DnsNets f;
  f.dns.fail_ensure = true;
  auto ep = f.connect_as("n1", "s1");
  REQUIRE(ep);
  CHECK(f.dns.ensures() == 1);
  CHECK(f.on("n1").id == ep->id);
  CHECK(f.links.links.contains(ep->host_ifname));
}

TEST_CASE("dns: CNI ADD takes K8S_POD_NAME when it is a DNS label, and ensures the server") {
  DnsNets f;
  REQUIRE(f.namespaces.create("/run/netns/p1"));
  REQUIRE(f.namespaces.create("/run/netns/p2"));
  cnm::ConnectRequest r;
  r.network = "n1";
  r.target = "/run/netns/p1";
  r.ifname = "eth0";
  r.aliases = {"db"};
  auto ep = f.ctl->cni_add(r, "c1", "pod-1");
  REQUIRE(ep);
  CHECK(ep->dns_name == "pod-1");
  CHECK(ep->aliases == std::vector<std::string>{"db"});
  CHECK(f.dns.ensures() == 1);
  r.target = "/run/netns/p2";
  r.aliases = {};
  auto dotted = f.ctl->cni_add(r, "c2", "pod.2");  // ignored: the attach goes on without a name
  REQUIRE(dotted);
  CHECK(dotted->dns_name.empty());
  r.aliases = {"x.y"};
  auto bad = f.ctl->cni_add(r, "c3", "pod-3");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Code::kInvalid);
}

TEST_CASE(
    "dns: doctor reports the server missing where DNS networks have endpoints; gc starts it") {
  DnsNets f;
  auto clean = f.ctl->doctor();
  REQUIRE(clean);
  CHECK(clean->dns_server.empty());  // no endpoints: no server needed
  REQUIRE(f.connect_as("quiet", "s1"));
  CHECK(f.ctl->doctor()->dns_server.empty());  // a dns=false network needs none
  REQUIRE(f.connect_as("n1", "s1"));
  CHECK(f.ctl->doctor()->dns_server.empty());  // ensure() started it
  f.dns.stop();                                // killed
  auto d = f.ctl->doctor();
  REQUIRE(d);
  REQUIRE(d->dns_server.size() == 1);
  CHECK(d->dns_server[0].find("not running") != std::string::npos);
  CHECK(d->dns_server[0].find("n1") != std::string::npos);
  CHECK(d->dns_server[0].find("quiet") == std::string::npos);
  CHECK_FALSE(d->empty());
  f.dns.calls.clear();
  auto g = f.ctl->gc();
  REQUIRE(g);
  CHECK(g->dns_server.size() == 1);  // what gc found
  CHECK(f.dns.ensures() == 1);
  CHECK(f.ctl->doctor()->dns_server.empty());
  f.dns.stop();
  f.dns.fail_ensure = true;
  auto failed = f.ctl->gc();
  REQUIRE_FALSE(failed);
  CHECK(failed.error().message.find("injected dns failure") != std::string::npos);
}

TEST_CASE("dns: resolv.conf points at the server with ndots:0, keeping the host's search") {
  std::string host = "nameserver 9.9.9.9\nsearch corp.example\noptions edns0\n";
  CHECK(cnm::launcher::resolv_file(host, "10.88.0.1") ==
        "search corp.example\nnameserver 10.88.0.1\noptions ndots:0\n");
  CHECK(cnm::launcher::resolv_file(host) == host);  // no DNS network: the host's, as before
}

TEST_CASE("dns: the CNI result names the gateway as nameserver on a DNS network only") {
  cnm::Endpoint ep;
  ep.addresses.push_back(*cnm::Prefix::parse("10.88.0.2/24", false));
  auto on = cni::make_result("1.0.0", dns_test_network({}), ep);
  CHECK(on["dns"] == nlohmann::json{{"nameservers", {"10.88.0.1"}}});
  auto off = cni::make_result("1.0.0", dns_test_network({{"netctl.dns", "false"}}), ep);
  CHECK(off["dns"] == nlohmann::json::object());
}

TEST_CASE("dns: is_dns_label") {
  CHECK(cnm::is_dns_label("web"));
  CHECK(cnm::is_dns_label("a"));
  CHECK(cnm::is_dns_label("web_1"));
  CHECK(cnm::is_dns_label("0abc"));
  CHECK_FALSE(cnm::is_dns_label("a.b"));
  CHECK_FALSE(cnm::is_dns_label("-a"));
  CHECK_FALSE(cnm::is_dns_label("a-"));
  CHECK_FALSE(cnm::is_dns_label(""));
  CHECK_FALSE(cnm::is_dns_label(std::string(64, 'a')));
  CHECK_FALSE(cnm::is_dns_label("a\nb"));
}

TEST_CASE("dns: CNI_ARGS K8S_POD_NAME is a known key (no IgnoreUnknown needed)") {
  auto a = cni::parse_cni_args("K8S_POD_NAME=web-1");
  REQUIRE(a);
  CHECK(a->pod_name == "web-1");
  auto podman = cni::parse_cni_args("IgnoreUnknown=1;K8S_POD_NAME=c1;K8S_POD_NAMESPACE=c1");
  REQUIRE(podman);
  CHECK(podman->pod_name == "c1");
}

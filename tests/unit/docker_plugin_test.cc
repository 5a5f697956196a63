// netctl-docker: the pure protocol mapping (plugins/docker/protocol.h) and the controller's
// handoff endpoints it uses (Controller::attach_handoff, detach_key) over the fakes.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "ipam/default_ipam.h"
#include "plugins/docker/protocol.h"
#include "tests/unit/controller_fixture.h"

namespace {

using nlohmann::json;

const std::string kDockerNid(64, 'a');
const std::string kDockerEid = "0123456789ab" + std::string(52, 'c');

json docker_create_body(json generic) {
  return {{"NetworkID", kDockerNid},
          {"Options",
           {{"com.docker.network.generic", std::move(generic)},
            {"com.docker.network.enable_ipv6", false}}},
          {"IPv4Data", json::array({{{"AddressSpace", "netctl"},
                                     {"Pool", "10.60.0.0/24"},
                                     {"Gateway", "10.60.0.1/24"},
                                     {"AuxAddresses", {{"r1", "10.60.0.9/24"}}}}})},
          {"IPv6Data", json::array()}};
}

cnm::Pool docker_pool(const char* subnet, const char* gw) {
  cnm::Pool p;
  p.subnet = *cnm::Prefix::parse(subnet);
  p.gateway = *cnm::IpAddr::parse(gw);
  return p;
}

// What RequestAddress asks: netctl's IPAM (the runtime's ipam::DefaultIpam) with `used`.
cnm::Result<cnm::IpAddr> docker_ipam_pick(const cnm::Pool& pool, const std::set<std::string>& used,
                                          std::optional<cnm::IpAddr> want) {
  std::vector<cnm::IpAddr> addrs;
  for (const auto& text : used) addrs.push_back(*cnm::IpAddr::parse(text));
  return ipam::DefaultIpam().allocate(pool, addrs, want);
}

}  // namespace

TEST_CASE("docker: CreateNetwork maps to a netctl network request") {
  auto plan = docker::plan_network(docker_create_body({{"com.docker.network.driver.mtu", "1400"}}));
  REQUIRE(plan);
  CHECK(plan->offered.empty());
  CHECK(plan->create.name == "docker-aaaaaaaaaaaa");
  CHECK(plan->create.subnets == std::vector<std::string>{"10.60.0.0/24"});
  CHECK(plan->create.gateways == std::vector<std::string>{"10.60.0.1"});
  CHECK(plan->create.aux == std::vector<std::string>{"r1=10.60.0.9"});
  CHECK(plan->create.options.at("com.docker.network.driver.mtu") == "1400");
  CHECK(plan->create.options.at("netctl.dns") == "false");  // Docker's own DNS answers
  CHECK(plan->create.labels.at(docker::kNetworkLabel) == kDockerNid);
  CHECK_FALSE(plan->create.ipv6);
}

TEST_CASE("docker: -o netctl.network offers a network; bad bodies are kInvalid") {
  auto plan = docker::plan_network(docker_create_body({{"netctl.network", "shared"}}));
  REQUIRE(plan);
  CHECK(plan->offered == "shared");
  auto mixed = docker::plan_network(docker_create_body({{"netctl.network", "s"}, {"x", "1"}}));
  CHECK(mixed.error().code == cnm::Code::kInvalid);
  auto body = docker_create_body(json::object());
  body["NetworkID"] = "../etc";
  CHECK(docker::plan_network(body).error().code == cnm::Code::kInvalid);
  body = docker_create_body({{"opt", 1}});
  CHECK(docker::plan_network(body).error().code == cnm::Code::kInvalid);
  body = docker_create_body(json::object());
  body["IPv4Data"] = "10.0.0.0/8";
  CHECK(docker::plan_network(body).error().code == cnm::Code::kInvalid);
}

TEST_CASE("docker: the portmap becomes -p specs; IPv6 host addresses are skipped") {
  json pm = json::array({{{"Proto", 6}, {"Port", 80}, {"HostPort", 8080}, {"HostPortEnd", 8080}},
                         {{"Proto", 6}, {"Port", 80}, {"HostIP", "::"}, {"HostPort", 8080}},
                         {{"Proto", 17}, {"Port", 53}, {"HostIP", "127.0.0.1"}, {"HostPort", 5353}},
                         {{"Proto", 132}, {"Port", 9}, {"HostIP", "0.0.0.0"}}});
  auto specs = docker::port_specs(pm);
  REQUIRE(specs);
  CHECK(*specs == std::vector<std::string>{"8080:80/tcp", "127.0.0.1:5353:53/udp", "9/sctp"});
  CHECK(docker::port_specs(json::array({{{"Proto", 1}, {"Port", 1}}})).error().code ==
        cnm::Code::kInvalid);
  CHECK(docker::port_specs(json::array({{{"Proto", 6}, {"Port", 70000}}})).error().code ==
        cnm::Code::kInvalid);
}

TEST_CASE("docker: CreateEndpoint and Join map both ways") {
  json body = {{"NetworkID", kDockerNid},
               {"EndpointID", kDockerEid},
               {"Interface", {{"Address", "10.60.0.5/24"}, {"MacAddress", ""}}},
               {"Options", {{"com.docker.network.portmap", json::array()}}}};
  auto r = docker::plan_endpoint(body);
  REQUIRE(r);
  CHECK(r->ip == "10.60.0.5");
  CHECK(r->ifname == "nd0123456789ab");
  CHECK(r->mac.empty());
  cnm::Endpoint ep;
  ep.addresses = {*cnm::Prefix::parse("10.60.0.5/24", false)};
  ep.mac = "02:42:0a:3c:00:05";
  ep.ifname = r->ifname;
  // Only what Docker left empty comes back: it refuses a driver that changes its address.
  CHECK(docker::endpoint_response(body["Interface"], ep) ==
        json{{"Interface", {{"MacAddress", "02:42:0a:3c:00:05"}}}});
  cnm::Network n;
  n.pools = {docker_pool("10.60.0.0/24", "10.60.0.1")};
  auto join = docker::join_response(n, ep);
  CHECK(join["InterfaceName"]["SrcName"] == "nd0123456789ab");
  CHECK(join["InterfaceName"]["DstPrefix"] == "eth");
  CHECK(join["Gateway"] == "10.60.0.1");
  n.internal = true;
  CHECK_FALSE(docker::join_response(n, ep).contains("Gateway"));
  body["EndpointID"] = "x";
  CHECK(docker::plan_endpoint(body).error().code == cnm::Code::kInvalid);
}

TEST_CASE("docker: IPAM pools overlap no other network; ranges ride in the pool id") {
  std::vector<std::pair<std::string, cnm::Prefix>> existing = {
      {"n1", *cnm::Prefix::parse("10.60.0.0/24")}};
  auto ok = docker::request_pool({{"AddressSpace", "netctl"}, {"Pool", "10.61.0.0/24"}}, existing);
  REQUIRE(ok);
  CHECK((*ok)["PoolID"] == "netctl/10.61.0.0/24");
  CHECK(docker::request_pool({{"Pool", "10.60.0.0/24"}}, existing));  // equal: an offer
  CHECK(docker::request_pool({{"Pool", "10.60.0.128/25"}}, existing).error().code ==
        cnm::Code::kConflict);
  CHECK(docker::request_pool({{"Pool", ""}}, existing).error().code == cnm::Code::kInvalid);
  // --ip-range: inside the subnet, carried in the pool id.
  auto ranged =
      docker::request_pool({{"Pool", "10.62.0.0/24"}, {"SubPool", "10.62.0.128/25"}}, existing);
  REQUIRE(ranged);
  CHECK((*ranged)["PoolID"] == "netctl/10.62.0.0/24|10.62.0.128/25");
  CHECK(docker::pool_subnet((*ranged)["PoolID"])->str() == "10.62.0.0/24");
  CHECK((*docker::pool_range((*ranged)["PoolID"]))->str() == "10.62.0.128/25");
  CHECK_FALSE(*docker::pool_range("netctl/10.61.0.0/24"));
  for (const char* bad : {"10.63.0.0/25", "10.62.0.129/25", "nonsense"})
    CHECK(
        docker::request_pool({{"Pool", "10.62.0.0/24"}, {"SubPool", bad}}, existing).error().code ==
        cnm::Code::kInvalid);
  for (const char* bad :
       {"netctl/10.62.0.0/24|10.63.0.0/25", "netctl|10.62.0.0/24", "netctl/10.62.0.0/24|x"})
    CHECK_FALSE(docker::pool_subnet(bad));
  // No subnet given: the one the plugin chose, still checked against the others.
  CHECK(docker::wants_auto_pool({{"Pool", ""}}));
  CHECK(docker::wants_auto_pool(nlohmann::json::object()));
  CHECK_FALSE(docker::wants_auto_pool({{"Pool", "10.62.0.0/24"}}));
  auto chosen = docker::request_pool({{"Pool", ""}}, existing, *cnm::Prefix::parse("10.64.0.0/24"));
  REQUIRE(chosen);
  CHECK((*chosen)["Pool"] == "10.64.0.0/24");
  CHECK(docker::request_pool({{"Pool", ""}}, existing, *cnm::Prefix::parse("10.60.0.0/25"))
            .error()
            .code == cnm::Code::kConflict);
  CHECK(docker::request_pool({{"Pool", "fd00::/64"}}, existing).error().code ==
        cnm::Code::kInvalid);  // V6 not set
  CHECK(docker::request_pool({{"Pool", "10.63.0.1/24"}}, existing).error().code ==
        cnm::Code::kInvalid);
  CHECK(docker::pool_subnet("netctl/10.61.0.0/24")->str() == "10.61.0.0/24");
  CHECK(docker::first_host(*cnm::Prefix::parse("10.61.0.0/24")).str() == "10.61.0.1");
}

TEST_CASE("docker: RequestAddress skips the gateway, aux, used and pending addresses") {
  auto pool = docker_pool("10.60.0.0/29", "10.60.0.1");
  pool.aux["r"] = *cnm::IpAddr::parse("10.60.0.3");
  std::set<std::string> used = {"10.60.0.2"};
  CHECK(docker_ipam_pick(pool, used, std::nullopt)->str() == "10.60.0.4");
  used.insert({"10.60.0.4", "10.60.0.5", "10.60.0.6"});
  CHECK(docker_ipam_pick(pool, used, std::nullopt).error().code == cnm::Code::kConflict);
  CHECK(docker_ipam_pick(pool, {}, cnm::IpAddr::parse("10.60.0.1").value()).error().code ==
        cnm::Code::kConflict);
  CHECK(docker_ipam_pick(pool, {}, cnm::IpAddr::parse("10.61.0.1").value()).error().code ==
        cnm::Code::kInvalid);
  CHECK(docker_ipam_pick(pool, {}, cnm::IpAddr::parse("10.60.0.6").value())->str() == "10.60.0.6");
}

TEST_CASE("docker: a handoff endpoint leaves a bare peer in netctl's namespace") {
  ControllerFixture f;
  f.make_network("n1", {"10.88.0.0/24"});
  f.namespaces.netns["/proc/self/ns/net"];  // netctl's own namespace, as the fake knows it
  cnm::ConnectRequest r;
  r.network = "n1";
  r.ifname = "nd0123456789ab";
  r.ip = "10.88.0.7";
  auto ep = f.ctl->attach_handoff(r, "docker:e1");
  REQUIRE(ep);
  CHECK(ep->handoff);
  CHECK(ep->addresses.at(0).str() == "10.88.0.7/24");
  CHECK_FALSE(ep->default_route);
  CHECK(ep->netns_path.empty());
  CHECK(f.namespaces.netns.at("/proc/self/ns/net").contains("nd0123456789ab"));
  CHECK(f.endpoints.log.back().find("10.88.0.7") == std::string::npos);  // no address, no route
  CHECK(f.endpoints.log.back().find("via") == std::string::npos);
  CHECK(f.ctl->attach_handoff(r, "docker:e1").error().code == cnm::Code::kConflict);
  auto bad = r;
  bad.ifname.clear();
  CHECK(f.ctl->attach_handoff(bad, "docker:e2").error().code == cnm::Code::kInvalid);
  REQUIRE(f.ctl->detach_key("n1", "docker:e1"));
  CHECK_FALSE(f.links.links.contains(ep->host_ifname));
  CHECK(f.address_count() == 0);
  CHECK(f.ctl->detach_key("n1", "docker:e1"));  // again: nothing to do
}

// netctl-cni's pure input parsing (plugins/cni/config.h) and result building (result.h).
#include <doctest/doctest.h>

#include "plugins/cni/config.h"
#include "plugins/cni/result.h"

namespace {

int code_of(std::string_view conf) {
  auto c = cni::parse_config(conf);
  return c ? 0 : c.error().code;
}

}  // namespace

TEST_CASE("a minimal configuration names an existing network") {
  auto c = cni::parse_config(R"({"cniVersion":"1.0.0","name":"n1","type":"netctl-cni"})");
  REQUIRE(c);
  CHECK(c->network == "n1");
  CHECK_FALSE(c->define);
  auto d = cni::parse_config(
      R"({"cniVersion":"0.4.0","name":"conf","network":"n2","type":"netctl-cni","x":{"y":1}})");
  REQUIRE(d);
  CHECK(d->network == "n2");
}

TEST_CASE("every supported version is accepted; others are code 1") {
  for (const auto& v : cni::supported_versions())
    CHECK(code_of(R"({"cniVersion":")" + v + R"(","name":"n1"})") == 0);
  CHECK(code_of(R"({"cniVersion":"0.2.0","name":"n1"})") == 1);
  CHECK(code_of(R"({"cniVersion":"1.2.0","name":"n1"})") == 1);
  CHECK(cni::compare_versions("0.4.0", "1.0.0") < 0);
  CHECK(cni::compare_versions("1.1.0", "1.0.0") > 0);
  CHECK(cni::compare_versions("1.0.0", "1.0.0") == 0);
  CHECK(cni::compare_versions("x", "0.0.1") < 0);
}

TEST_CASE("decode failures are code 6, bad values 7, unsupported fields 2") {
  CHECK(code_of("") == 6);
  CHECK(code_of("{") == 6);
  CHECK(code_of("[]") == 6);
  CHECK(code_of(R"({"name":"n1"})") == 7);
  CHECK(code_of(R"({"cniVersion":"1.0.0"})") == 7);
  CHECK(code_of(R"({"cniVersion":1,"name":"n1"})") == 7);
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"bad name"})") == 7);
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"n1","stateRoot":"rel"})") == 7);
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"n1","mtu":10})") == 7);
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"n1","subnet":"10.0.0.0/33"})") == 7);
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"n1","ipMasq":"yes"})") == 7);
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"n1","ipam":{"type":"host-local"}})") == 2);
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"n1","subnet":"10.1.0.0/24","isGateway":false})") ==
        2);
}

TEST_CASE("an inline definition becomes a NetworkCreateRequest") {
  auto c = cni::parse_config(R"({"cniVersion":"1.0.0","name":"web","type":"netctl-cni",
    "bridge":"br9","subnets":["10.9.0.0/24","fd00:9::/64"],"gateway":"10.9.0.1","ipMasq":false,
    "isGateway":true,"mtu":1400,"internal":true,"icc":false,"dnsEnabled":false})");
  REQUIRE(c);
  CHECK(c->define);
  CHECK(c->create.name == "web");
  CHECK(c->create.subnets == std::vector<std::string>{"10.9.0.0/24", "fd00:9::/64"});
  CHECK(c->create.gateways == std::vector<std::string>{"10.9.0.1"});
  CHECK(c->create.ipv6);
  CHECK(c->create.internal);
  CHECK(c->create.mtu == 1400);
  CHECK(c->create.options.at("bridge.name") == "br9");
  CHECK(c->create.options.at("masquerade") == "false");
  CHECK(c->create.options.at("icc") == "false");
  CHECK(c->create.options.at("netctl.dns") == "false");
  // dnsEnabled alone defines the network too; a non-boolean is refused.
  auto d = cni::parse_config(R"({"cniVersion":"1.0.0","name":"q","dnsEnabled":false})");
  REQUIRE(d);
  CHECK(d->define);
  CHECK(!d->create.options.contains("icc"));
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"q","dnsEnabled":"no"})") == 7);
}

TEST_CASE("runtimeConfig: portMappings, ips, mac, aliases; GC attachment lists") {
  auto c = cni::parse_config(R"({"cniVersion":"1.1.0","name":"n1","runtimeConfig":{
    "portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"TCP"},
                    {"hostPort":53,"containerPort":53,"protocol":"udp","hostIP":"127.0.0.1"}],
    "ips":["10.88.0.9/24","fd00::9/64"],"mac":"02:00:00:00:00:09","aliases":{"n1":["a","b"],
    "other":["c"]}},"cni.dev/valid-attachments":[{"containerID":"x","ifname":"eth0"}]})");
  REQUIRE(c);
  CHECK(c->publish == std::vector<std::string>{"8080:80/tcp", "127.0.0.1:53:53/udp"});
  CHECK(c->ip == "10.88.0.9");
  CHECK(c->ip6 == "fd00::9");
  CHECK(c->mac == "02:00:00:00:00:09");
  CHECK(c->aliases == std::vector<std::string>{"a", "b"});
  REQUIRE(c->valid_attachments);
  CHECK(c->valid_attachments->at(0) == std::pair<std::string, std::string>{"x", "eth0"});
  auto old = cni::parse_config(
      R"({"cniVersion":"1.1.0","name":"n1","cni.dev/attachments":[{"containerID":"y"}]})");
  REQUIRE(old);
  CHECK(old->valid_attachments->at(0).first == "y");
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"n1","runtimeConfig":{"ips":["a"]}})") == 7);
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"n1","runtimeConfig":{"portMappings":[
    {"hostPort":1,"containerPort":2,"protocol":6}]}})") == 7);
  CHECK(code_of(R"({"cniVersion":"1.1.0","name":"n1","cni.dev/valid-attachments":[
    {"containerID":"x","ifname":3}]})") == 7);
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"n1","runtimeConfig":{"ips":["10.0.0.1",
    "10.0.0.2"]}})") == 7);
  CHECK(code_of(R"({"cniVersion":"1.0.0","name":"n1","runtimeConfig":{"portMappings":[
    {"hostPort":1,"containerPort":0}]}})") == 7);
}

TEST_CASE("CNI_ARGS: IP=, MAC=, IgnoreUnknown") {
  auto a = cni::parse_cni_args(
      "IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.0.0.5,fd00::5;MAC=02:00:00:00:00:05");
  REQUIRE(a);
  CHECK(a->ip == "10.0.0.5");
  CHECK(a->ip6 == "fd00::5");
  CHECK(a->mac == "02:00:00:00:00:05");
  CHECK(cni::parse_cni_args("").has_value());
  CHECK(cni::parse_cni_args("FOO=bar").error().code == 4);
  CHECK(cni::parse_cni_args("IP=nope").error().code == 4);
  CHECK(cni::parse_cni_args("novalue").error().code == 4);
}

TEST_CASE("results: ips carry a version before 1.0.0; prevResult comparison") {
  cnm::Network n;
  n.pools.push_back(cnm::Pool{});
  n.pools[0].subnet = *cnm::Prefix::parse("10.88.0.0/24");
  n.pools[0].gateway = *cnm::IpAddr::parse("10.88.0.1");
  cnm::Endpoint ep;
  ep.host_ifname = "nv1";
  ep.ifname = "eth0";
  ep.mac = "02:42:0a:58:00:02";
  ep.netns_path = "/run/netns/s1";
  ep.addresses.push_back(*cnm::Prefix::parse("10.88.0.2/24", false));
  ep.default_route = true;
  auto old = cni::make_result("0.4.0", n, ep);
  CHECK(old["ips"][0]["version"] == "4");
  auto r = cni::make_result("1.0.0", n, ep);
  CHECK_FALSE(r["ips"][0].contains("version"));
  CHECK(r["ips"][0]["address"] == "10.88.0.2/24");
  CHECK(r["ips"][0]["gateway"] == "10.88.0.1");
  CHECK(r["routes"][0]["dst"] == "0.0.0.0/0");
  CHECK(r["interfaces"][1]["sandbox"] == "/run/netns/s1");
  CHECK(cni::compare_prev_result(r, ep).empty());
  auto other = r;
  other["ips"][0]["address"] = "10.88.0.3/24";
  CHECK_FALSE(cni::compare_prev_result(other, ep).empty());
  other = r;
  other["interfaces"][1]["mac"] = "02:42:0A:58:00:09";
  CHECK_FALSE(cni::compare_prev_result(other, ep).empty());
  other = r;
  other["interfaces"][1]["name"] = 7;  // malformed: reported, not thrown
  CHECK_FALSE(cni::compare_prev_result(other, ep).empty());
}

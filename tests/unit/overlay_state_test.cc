// The overlay's records in etcd (cnm/cluster/overlay_records.h): key layout, JSON both ways, and
// the checks that keep hostile records (written by other hosts) from being used; the transaction
// JSON they travel in (cnm/cluster/etcd_txn.h).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "cnm/cluster/base64.h"
#include "cnm/cluster/etcd_txn.h"
#include "cnm/cluster/overlay_records.h"
#include "cnm/model/model.h"

namespace {

namespace oc = cnm::cluster;
using cnm::IpAddr;
using cnm::Prefix;

IpAddr ovt_ip(const char* s) { return *IpAddr::parse(s); }
Prefix ovt_net(const char* s) { return *Prefix::parse(s); }

oc::OverlayNetwork ovt_blue() {
  return {"blue", std::string(64, 'a'), ovt_net("10.5.0.0/24"), ovt_ip("10.5.0.1"), 5000, 1450};
}

oc::PeerRecord ovt_peer(const char* ip) {
  return {ovt_ip(ip), oc::overlay_mac(ovt_ip(ip)), ovt_ip("203.0.113.2"), "h2", "ep1"};
}

std::string ovt_peer_json(const std::string& ip, const std::string& mac,
                          const std::string& vtep = "203.0.113.2") {
  return nlohmann::json{{"ip", ip}, {"mac", mac}, {"vtep", vtep}, {"host", "h2"}, {"endpoint", "e"}}
      .dump();
}

}  // namespace

TEST_CASE("overlay keys: the documented layout under the prefix, and parsed back") {
  oc::OverlayKeys k;
  CHECK(k.network("blue") == "/netctl/v1/networks/blue");
  CHECK(k.vni(4096) == "/netctl/v1/vnis/4096");
  CHECK(k.addrs("blue") == "/netctl/v1/addrs/blue/");
  CHECK(k.addr("blue", ovt_ip("10.5.0.7")) == "/netctl/v1/addrs/blue/10.5.0.7");
  CHECK(k.peers("blue") == "/netctl/v1/peers/blue/");
  CHECK(k.peer("blue", ovt_ip("10.5.0.7")) == "/netctl/v1/peers/blue/10.5.0.7");
  CHECK(k.host("h1") == "/netctl/v1/hosts/h1");
  auto p = k.parse("/netctl/v1/peers/blue/10.5.0.7");
  REQUIRE(p);
  CHECK((p->kind == "peers" && p->name == "blue" && p->ip == "10.5.0.7"));
  p = k.parse("/netctl/v1/networks/blue");
  REQUIRE(p);
  CHECK((p->kind == "networks" && p->name == "blue" && p->ip.empty()));
  CHECK_FALSE(k.parse("/other/v1/networks/blue"));
  CHECK_FALSE(k.parse("/netctl/v1/peers/blue"));  // no address part
  CHECK_FALSE(k.parse("/netctl/v1/networks/a/b"));
  CHECK_FALSE(k.parse("/netctl/v1/peers//10.5.0.7"));
  CHECK(oc::OverlayKeys("/t/").network("x") == "/t/networks/x");
}

TEST_CASE("overlay network records: encoded in a fixed order, decoded and checked") {
  auto n = ovt_blue();
  std::string v = oc::encode_network(n);
  CHECK(v == R"({"gateway":"10.5.0.1","id":")" + std::string(64, 'a') +
                 R"(","mtu":1450,"name":"blue","subnet":"10.5.0.0/24","vni":5000})");
  auto back = oc::decode_network(v);
  REQUIRE(back);
  CHECK(*back == n);
  CHECK(oc::encode_vni_owner(n) == R"({"id":")" + n.id + R"(","network":"blue"})");
  CHECK(*oc::decode_vni_owner(oc::encode_vni_owner(n)) == "blue");
  // Unknown fields are left for later versions.
  auto j = nlohmann::json::parse(v);
  j["future"] = 1;
  CHECK(oc::decode_network(j.dump()));
}

TEST_CASE("overlay network records: every malformed or hostile field is refused") {
  auto with = [](const char* field, nlohmann::json value) {
    auto j = nlohmann::json::parse(oc::encode_network(ovt_blue()));
    if (value.is_null())
      j.erase(field);
    else
      j[field] = value;
    return oc::decode_network(j.dump());
  };
  CHECK_FALSE(oc::decode_network("not json"));
  CHECK_FALSE(oc::decode_network("[1,2]"));
  CHECK_FALSE(oc::decode_network(std::string(5000, ' ') + "{}"));
  CHECK_FALSE(with("name", nullptr));
  CHECK_FALSE(with("name", "a/b"));
  CHECK_FALSE(with("name", 7));
  CHECK_FALSE(with("id", "ABC"));
  CHECK_FALSE(with("id", std::string(64, 'g')));
  CHECK_FALSE(with("subnet", "fd00::/64"));
  CHECK_FALSE(with("subnet", "10.5.0.0/31"));
  CHECK_FALSE(with("subnet", "10.0.0.0/7"));
  CHECK_FALSE(with("subnet", "10.5.0.1/24"));  // host bits set
  CHECK_FALSE(with("gateway", "10.6.0.1"));
  CHECK_FALSE(with("gateway", "10.5.0.0"));
  CHECK_FALSE(with("gateway", "10.5.0.255"));
  CHECK_FALSE(with("gateway", "10.5.0.01"));
  CHECK_FALSE(with("vni", 0));
  CHECK_FALSE(with("vni", 16777216));
  CHECK_FALSE(with("vni", -1));
  CHECK_FALSE(with("vni", "5000"));
  CHECK_FALSE(with("mtu", 67));
  CHECK_FALSE(with("mtu", 70000));
  auto e = with("gateway", "10.6.0.1");
  CHECK(e.error().code == cnm::Code::kInvalid);
  CHECK(e.error().message.find("not a host address of 10.5.0.0/24") != std::string::npos);
}

TEST_CASE("overlay peer records: checked against the subnet, the derived MAC and the VTEP") {
  const Prefix subnet = ovt_net("10.5.0.0/24");
  auto p = ovt_peer("10.5.0.9");
  CHECK(p.mac == "02:42:0a:05:00:09");
  CHECK(p.mac == cnm::mac_from(p.ip));
  auto back = oc::decode_peer(oc::encode_peer(p), subnet);
  REQUIRE(back);
  CHECK(*back == p);
  CHECK(
      oc::encode_peer(p) ==
      R"({"endpoint":"ep1","host":"h2","ip":"10.5.0.9","mac":"02:42:0a:05:00:09","vtep":"203.0.113.2"})");
  CHECK_FALSE(oc::decode_peer(ovt_peer_json("10.6.0.9", "02:42:0a:06:00:09"), subnet));
  CHECK_FALSE(oc::decode_peer(ovt_peer_json("10.5.0.255", "02:42:0a:05:00:ff"), subnet));
  CHECK_FALSE(oc::decode_peer(ovt_peer_json("10.5.0.0", "02:42:0a:05:00:00"), subnet));
  CHECK_FALSE(oc::decode_peer(ovt_peer_json("10.5.0.9x", "02:42:0a:05:00:09"), subnet));
  CHECK_FALSE(oc::decode_peer(ovt_peer_json("fd00::9", "02:42:0a:05:00:09"), subnet));
  CHECK_FALSE(oc::decode_peer(ovt_peer_json("10.5.0.9", "zz:42:0a:05:00:09"), subnet));
  CHECK_FALSE(oc::decode_peer(ovt_peer_json("10.5.0.9", "03:42:0a:05:00:09"), subnet));
  // Another endpoint's MAC: an address's MAC is its own.
  CHECK_FALSE(oc::decode_peer(ovt_peer_json("10.5.0.9", "02:42:0a:05:00:0a"), subnet));
  CHECK_FALSE(oc::decode_peer(ovt_peer_json("10.5.0.9", "02:42:0a:05:00:09", "127.0.0.1"), subnet));
  CHECK_FALSE(oc::decode_peer(ovt_peer_json("10.5.0.9", "02:42:0a:05:00:09", "224.0.0.1"), subnet));
  CHECK_FALSE(oc::decode_peer(ovt_peer_json("10.5.0.9", "02:42:0a:05:00:09", "0.0.0.0"), subnet));
  auto j = nlohmann::json::parse(oc::encode_peer(p));
  j["host"] = "../etc";
  CHECK_FALSE(oc::decode_peer(j.dump(), subnet));
  j["host"] = "h2";
  j["endpoint"] = "a\nb";
  CHECK_FALSE(oc::decode_peer(j.dump(), subnet));
  j.erase("endpoint");
  CHECK_FALSE(oc::decode_peer(j.dump(), subnet));
  auto e = oc::decode_peer(ovt_peer_json("10.6.0.9", "02:42:0a:06:00:09"), subnet);
  CHECK(e.error().message == "peer 10.6.0.9: not a host address of 10.5.0.0/24");
}

TEST_CASE("overlay address owners and host records: one canonical form, checked on read") {
  CHECK(oc::encode_address_owner("h1") == R"({"host":"h1"})");
  CHECK(*oc::decode_address_owner(R"({"host":"h1"})") == "h1");
  CHECK_FALSE(oc::decode_address_owner(R"({"host":"a/b"})"));
  CHECK_FALSE(oc::decode_address_owner(R"({"host":1})"));
  oc::HostRecord h{"h1", ovt_ip("203.0.113.1")};
  CHECK(oc::encode_host(h) == R"({"host":"h1","vtep":"203.0.113.1"})");
  auto back = oc::decode_host(oc::encode_host(h));
  REQUIRE(back);
  CHECK((back->host_id == "h1" && back->vtep == h.vtep));
  CHECK_FALSE(oc::decode_host(R"({"host":"h1","vtep":"127.0.0.1"})"));
  CHECK_FALSE(oc::decode_host(R"({"host":"","vtep":"203.0.113.1"})"));
}

TEST_CASE("overlay transactions: compares on keys and on a prefix's range, answers in order") {
  oc::Txn t{{oc::TxnCompare::absent("/k"), oc::TxnCompare::prefix_empty("/p/"),
             oc::TxnCompare::value_is("/v", "x"), oc::TxnCompare::lease_is("/h", 42)},
            {oc::TxnOp::put("/k", "val", 7), oc::TxnOp::del("/d")},
            {oc::TxnOp::get("/k"), oc::TxnOp::get_prefix("/p/", 1, 99)}};
  auto j = nlohmann::json::parse(oc::etcd_json::txn_request(t));
  auto b = [](const char* s) { return oc::base64_encode(s); };
  CHECK(j["compare"][0] ==
        nlohmann::json{
            {"key", b("/k")}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}});
  CHECK(j["compare"][1]["range_end"] == b("/p0"));
  CHECK(j["compare"][1]["target"] == "CREATE");
  CHECK(j["compare"][2]["value"] == b("x"));
  CHECK(j["compare"][3]["lease"] == "42");
  CHECK(j["success"][0]["request_put"]["lease"] == "7");
  CHECK(j["success"][1]["request_delete_range"]["key"] == b("/d"));
  CHECK(j["failure"][1]["request_range"]["limit"] == "1");
  CHECK(j["failure"][1]["request_range"]["revision"] == "99");
  std::string answer = R"({"header":{"revision":"12"},"responses":[
    {"response_range":{"header":{},"kvs":[{"key":")" +
                       b("/k") + R"(","value":")" + b("v") +
                       R"(","create_revision":"5","mod_revision":"6","version":"2","lease":"9"}],
     "count":"1"}},
    {"response_range":{"header":{},"kvs":[{"key":")" +
                       b("/p/a") + R"(","create_revision":"3"}],"count":"17","more":true}}]})";
  auto r = oc::etcd_json::parse_txn_result(answer);
  REQUIRE(r);
  CHECK_FALSE(r->succeeded);
  CHECK(r->revision == 12);
  REQUIRE(r->results.size() == 2);
  CHECK(r->results[0].range.kvs[0].value == "v");
  CHECK(r->results[0].range.kvs[0].lease == 9);
  CHECK(r->results[1].count == 17);
  CHECK(r->results[1].range.kvs[0].key == "/p/a");
  CHECK_FALSE(
      oc::etcd_json::parse_txn_result("{\"responses\":[{\"response_range\":{\"count\":\"x\"}}]}"));
}

// etcd's gateway JSON (cnm/cluster/etcd_json.h) and the base64 it carries keys and values in.
#include "cnm/cluster/etcd_json.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "cnm/cluster/base64.h"
#include "cnm/cluster/watch.h"

namespace {

namespace ej = cnm::cluster::etcd_json;
using cnm::cluster::base64_decode;
using cnm::cluster::base64_encode;

nlohmann::json etcd_req(const std::string& s) { return nlohmann::json::parse(s); }

}  // namespace

TEST_CASE("base64: RFC 4648 vectors both ways, every byte value, strict decoding") {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, coded] : vectors) {
    CHECK(base64_encode(plain) == coded);
    CHECK(base64_decode(coded).value() == plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n < 5; ++n)
    CHECK(base64_decode(base64_encode(all.substr(n))).value() == all.substr(n));
  for (const char* bad :
       {"Zg", "Zg=", "Z===", "Zm9v!", "Zm 9v", "Zh==", "Zm9=", "=Zg=", "Zg==Zg=="})
    CHECK_FALSE(base64_decode(bad));
}

TEST_CASE("etcd requests: base64 keys, string integers, the lease only when set") {
  auto put = etcd_req(ej::put_request("/a", "v", 0));
  CHECK(put == nlohmann::json{{"key", "L2E="}, {"value", "dg=="}});
  CHECK(etcd_req(ej::put_request("/a", "v", 42))["lease"] == "42");
  CHECK(etcd_req(ej::range_request("/a")) == nlohmann::json{{"key", "L2E="}});
  auto prefix = etcd_req(ej::range_request("/p/", ej::prefix_end("/p/")));
  CHECK(prefix["range_end"] == base64_encode("/p0"));
  CHECK(ej::prefix_end(std::string("a\xff\xff", 3)) == "b");
  CHECK(ej::prefix_end("") == std::string(1, '\0'));
  CHECK(etcd_req(ej::lease_grant_request(7, 2)) == nlohmann::json{{"ID", "7"}, {"TTL", "2"}});
}

TEST_CASE("etcd transactions: create compares create_revision 0, delete compares the value") {
  auto c = etcd_req(ej::create_txn("/k", "v", 9));
  CHECK(c["compare"][0] ==
        nlohmann::json{
            {"key", "L2s="}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}});
  CHECK(c["success"][0]["request_put"] ==
        nlohmann::json{{"key", "L2s="}, {"value", "dg=="}, {"lease", "9"}});
  CHECK(c["failure"][0]["request_range"] == nlohmann::json{{"key", "L2s="}});
  auto d = etcd_req(ej::delete_if_value_txn("/k", "v"));
  CHECK(d["compare"][0]["target"] == "VALUE");
  CHECK(d["compare"][0]["value"] == "dg==");
  CHECK(d["success"][0]["request_delete_range"] == nlohmann::json{{"key", "L2s="}});
}

TEST_CASE("etcd answers: headers, key-values, transactions, leases, errors") {
  auto r = ej::parse_range(R"({"header":{"revision":"12"},"kvs":[{"key":"L2s=","value":"dg==",
    "create_revision":"5","mod_revision":"11","version":"3","lease":"9"}],"count":"1"})");
  REQUIRE(r);
  CHECK(r->revision == 12);
  REQUIRE(r->kvs.size() == 1);
  CHECK(r->kvs[0].key == "/k");
  CHECK(r->kvs[0].value == "v");
  CHECK(r->kvs[0].create_revision == 5);
  CHECK(r->kvs[0].lease == 9);
  auto empty = ej::parse_range(R"({"header":{"revision":"3"}})");
  REQUIRE(empty);
  CHECK(empty->kvs.empty());

  auto ok = ej::parse_txn(R"({"header":{"revision":"7"},"succeeded":true,
    "responses":[{"response_put":{"header":{"revision":"7"}}}]})");
  REQUIRE(ok);
  CHECK(ok->succeeded);
  CHECK(ok->revision == 7);
  auto no = ej::parse_txn(R"({"header":{"revision":"8"},"responses":[{"response_range":
    {"header":{"revision":"8"},"kvs":[{"key":"L2s=","value":"dg=="}],"count":"1"}}]})");
  REQUIRE(no);
  CHECK_FALSE(no->succeeded);
  CHECK(no->range.kvs.at(0).value == "v");
  auto del = ej::parse_txn(R"({"succeeded":true,"responses":[{"response_delete_range":
    {"deleted":"1"}}]})");
  CHECK(del.value().deleted == 1);

  CHECK(ej::parse_lease(R"({"header":{},"ID":"7","TTL":"2"})").value().ttl == 2);
  auto ka = ej::parse_lease(R"({"result":{"header":{},"ID":"7"}})");
  CHECK(ka.value().id == 7);
  CHECK(ka.value().ttl == 0);
  CHECK(ej::error_text(R"({"error":"etcdserver: no leader","code":14})") ==
        "etcdserver: no leader");
  CHECK(ej::error_text(R"({"error":{"grpc_code":5,"message":"lease not found"}})") ==
        "lease not found");
  CHECK(ej::error_text("oops\n") == "oops\\n");
  for (const char* bad : {"", "{", R"({"kvs":[{"key":"!!"}]})", R"({"header":{"revision":"1x"}})",
                          R"({"header":{"revision":true}})"}) {
    CAPTURE(bad);
    CHECK(ej::parse_range(bad).error().code == cnm::Code::kFailed);
  }
}

TEST_CASE("etcd watch: the create request, and events, creation and cancellation read") {
  auto w = etcd_req(cnm::cluster::etcd_json::watch_request("/p/", "/p0", 12));
  CHECK(w == nlohmann::json{{"create_request",
                             {{"key", "L3Av"}, {"range_end", "L3Aw"}, {"start_revision", "12"}}}});
  CHECK_FALSE(
      etcd_req(ej::watch_request("/p/", "/p0", 0))["create_request"].contains("start_revision"));
  auto created = ej::parse_watch(R"({"result":{"header":{"revision":"9"},"created":true}})");
  REQUIRE(created);
  CHECK(created->created);
  CHECK(created->batch.revision == 9);
  auto ev = ej::parse_watch(R"({"result":{"header":{"revision":"11"},"events":[
    {"kv":{"key":"L3Av","value":"dg==","mod_revision":"10"}},
    {"type":"DELETE","kv":{"key":"L3Av","mod_revision":"11"}}]}})");
  REQUIRE(ev);
  REQUIRE(ev->batch.events.size() == 2);
  CHECK_FALSE(ev->batch.events[0].deleted);
  CHECK(ev->batch.events[0].kv.value == "v");
  CHECK(ev->batch.events[1].deleted);
  CHECK(ev->batch.events[1].kv.mod_revision == 11);
  auto gone = ej::parse_watch(
      R"({"result":{"canceled":true,"compact_revision":"20","cancel_reason":"compacted"}})");
  REQUIRE(gone);
  CHECK(gone->canceled);
  CHECK(gone->compact_revision == 20);
  CHECK(ej::parse_watch(R"({"error":{"grpc_code":14,"message":"no leader"}})").error().message ==
        "etcd watch: no leader");
  CHECK_FALSE(ej::parse_watch(R"({"result":{"events":[{"kv":{"key":"%%"}}]}})"));
  CHECK_FALSE(ej::parse_watch("[]"));
}

// What the overlay agent (plugins/overlay) and the commands share: the acknowledgement records in
// etcd (cnm/cluster/overlay_records.h), the VXLAN device's name, and the lease TTL setting
// (cnm/core/overlay_control.h).
#include <doctest/doctest.h>

#include "cnm/cluster/overlay_records.h"
#include "cnm/core/overlay_control.h"

namespace oa = cnm::cluster;

TEST_CASE("overlay acks: the key under the prefix, one canonical form, parsed back") {
  oa::OverlayKeys k("/t/");
  CHECK(k.acks() == "/t/acks/");
  CHECK(k.ack("0a1b2c3d") == "/t/acks/0a1b2c3d");
  auto p = k.parse(k.ack("0a1b2c3d"));
  REQUIRE(p);
  CHECK((p->kind == "acks" && p->name == "0a1b2c3d" && p->ip.empty()));
  oa::AckRecord a{"0a1b2c3d", 9007199254740993};  // above 2^53: kept exact
  CHECK(oa::encode_ack(a) == R"({"host":"0a1b2c3d","revision":9007199254740993})");
  auto back = oa::decode_ack(oa::encode_ack(a));
  REQUIRE(back);
  CHECK(*back == a);
  // Unknown fields are ignored, for later versions.
  CHECK(oa::decode_ack(R"({"host":"h1","revision":5,"later":true})").value() ==
        oa::AckRecord{"h1", 5});
}

TEST_CASE("overlay acks: every malformed or hostile record is refused") {
  for (const char* bad : {
           "", "[]", "not json",
           R"({"revision":5})",                                // no host
           R"({"host":"h1"})",                                 // no revision
           R"({"host":"","revision":5})",                      // empty host
           R"({"host":"a/b","revision":5})",                   // a name that splits a key
           R"({"host":7,"revision":5})",                       // host not a string
           R"({"host":"h1","revision":"5"})",                  // revision a string
           R"({"host":"h1","revision":-1})",                   // negative
           R"({"host":"h1","revision":0})",                    // no revision is 0
           R"({"host":"h1","revision":1.5})",                  // not an integer
           R"({"host":"h1","revision":9223372036854775808})",  // beyond int64
       }) {
    CAPTURE(bad);
    auto r = oa::decode_ack(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == cnm::Code::kInvalid);
  }
  std::string huge = R"({"host":"h1","revision":5,"pad":")" + std::string(5000, 'x') + "\"}";
  CHECK_FALSE(oa::decode_ack(huge));
}

TEST_CASE("overlay: the VXLAN device of a network is nx and the first 12 of its id") {
  std::string id = "0123456789ab" + std::string(52, 'f');
  CHECK(oa::overlay_vxlan_name(id) == "nx0123456789ab");
  CHECK(oa::overlay_vxlan_name(id).size() <= 15);  // IFNAMSIZ - 1
}

TEST_CASE("overlay TTL: NETCTL_OVERLAY_TTL in seconds, 2-3600, 10 when unset") {
  CHECK(cnm::parse_overlay_ttl(nullptr).value() == 10);
  CHECK(cnm::parse_overlay_ttl("").value() == 10);
  CHECK(cnm::parse_overlay_ttl("2").value() == 2);
  CHECK(cnm::parse_overlay_ttl("3600").value() == 3600);
  for (const char* bad : {"1", "0", "-5", "3601", "10s", " 10", "1e3", "99999999999", "x"}) {
    CAPTURE(bad);
    auto r = cnm::parse_overlay_ttl(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == cnm::Code::kInvalid);
    CHECK(r.error().message.find("NETCTL_OVERLAY_TTL") != std::string::npos);
  }
}

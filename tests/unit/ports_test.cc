// Parsing of published port specifications.
#include "cnm/model/ports.h"

#include <doctest/doctest.h>

using cnm::parse_port_spec;

TEST_CASE("port specs in Docker's syntax") {
  auto p = parse_port_spec("8080:80");
  REQUIRE(p);
  CHECK(p->host_port == 8080);
  CHECK(p->port == 80);
  CHECK(p->count == 1);
  CHECK(p->proto == cnm::Proto::kTcp);
  CHECK_FALSE(p->host_ip);

  p = parse_port_spec("127.0.0.1:8080:80/udp");
  REQUIRE(p);
  CHECK(p->host_ip->str() == "127.0.0.1");
  CHECK(p->proto == cnm::Proto::kUdp);
  CHECK(cnm::port_spec_str(*p) == "127.0.0.1:8080->80/udp");

  p = parse_port_spec("80");
  REQUIRE(p);
  CHECK(p->host_port == 0);
  p = parse_port_spec("127.0.0.1::80");
  REQUIRE(p);
  CHECK(p->host_port == 0);
  CHECK(p->host_ip->str() == "127.0.0.1");

  p = parse_port_spec("8000-8002:80-82/sctp");
  REQUIRE(p);
  CHECK(p->host_port == 8000);
  CHECK(p->port == 80);
  CHECK(p->count == 3);
  CHECK(cnm::port_spec_str(*p) == "0.0.0.0:8000-8002->80-82/sctp");

  p = parse_port_spec("[::1]:8080:80");
  REQUIRE(p);
  CHECK(p->host_ip->is_v6());
}

TEST_CASE("bad port specs are Code::kInvalid") {
  for (const char* s : {"", "0", "65536", "8080:0", "a:80", "8080:80/icmp", "8000-8001:80",
                        "8001-8000:80-81", "1.2.3.4:5:6:7", "300.1.1.1:80:80", "[::1:80:80",
                        "0-1:80-81", "65535-65536:1-2", "80-", ":80:"}) {
    CAPTURE(s);
    auto p = parse_port_spec(s);
    REQUIRE_FALSE(p);
    CHECK(p.error().code == cnm::Code::kInvalid);
  }
}

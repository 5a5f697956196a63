// cnm/dns/answer: real queries built with ldns against the fixture zone (tests/unit/dns_fixture.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "cnm/dns/answer.h"
#include "tests/unit/dns_fixture.h"

namespace {

using cnm::dns::Action;
using cnm::testing::ip;
namespace fx = cnm::testing::dnsfx;

constexpr const char* kGw1 = "10.1.0.1";
constexpr const char* kWeb = "10.1.0.2";
constexpr const char* kGw2 = "10.2.0.1";
constexpr const char* kApi = "10.2.0.2";

std::vector<std::string> answer_test_sorted(std::vector<std::string> v) {
  std::ranges::sort(v);
  return v;
}

std::vector<std::string> answer_test_strs(std::initializer_list<const char*> l) {
  return {l.begin(), l.end()};
}

// answer() over raw bytes from web's address on n1.
cnm::dns::Outcome answer_test_raw(const cnm::dns::Zone& z, std::vector<uint8_t> bytes) {
  return cnm::dns::answer(z, bytes, ip(kGw1), ip(kWeb));
}

}  // namespace

TEST_CASE("dns answer: A and AAAA by name, alias and NAME.NETWORK") {
  auto z = fx::zone();
  for (const char* name : {"web", "frontend", "web.n1", "web."}) {
    auto a = fx::ask(*z, {name, LDNS_RR_TYPE_A}, kGw1, kWeb);
    REQUIRE(a.action == Action::kReply);
    CHECK(a.reply.rcode == LDNS_RCODE_NOERROR);
    CHECK(a.reply.aa);
    CHECK(a.reply.answers == answer_test_strs({"10.1.0.2"}));
    auto aaaa = fx::ask(*z, {name, LDNS_RR_TYPE_AAAA}, kGw1, kWeb);
    CHECK(aaaa.reply.answers == answer_test_strs({"fd00:1::2"}));
  }
  // Over IPv6 too: n1's IPv6 gateway, web's IPv6 address.
  auto v6 = fx::ask(*z, {"db", LDNS_RR_TYPE_A}, "fd00:1::1", "fd00:1::2");
  CHECK(v6.reply.answers == answer_test_strs({"10.1.0.3"}));
}

TEST_CASE("dns answer: header fields: ID, RD echoed, RA set, one question as asked") {
  auto z = fx::zone();
  auto a = fx::ask(*z, {"WeB", LDNS_RR_TYPE_A, 0xbeef, false}, kGw1, kWeb);
  CHECK(a.reply.id == 0xbeef);
  CHECK_FALSE(a.reply.rd);
  CHECK(a.reply.ra);
  CHECK(a.reply.questions == 1);
  // Case-insensitive, and the question's case kept (resolvers that randomize it check it).
  CHECK(a.reply.question == "WeB.");
  CHECK(a.reply.owners == answer_test_strs({"WeB."}));
  CHECK(a.reply.answers == answer_test_strs({"10.1.0.2"}));
  auto b = fx::ask(*z, {"db.N1", LDNS_RR_TYPE_A, 7, true}, kGw1, kWeb);
  CHECK(b.reply.rd);
  CHECK(b.reply.answers == answer_test_strs({"10.1.0.3"}));
  // EDNS in the query: the reply carries an OPT record too.
  CHECK(
      fx::ask(*z, {"web", LDNS_RR_TYPE_A, 1, true, LDNS_RR_CLASS_IN, 4096}, kGw1, kWeb).reply.edns);
  CHECK_FALSE(a.reply.edns);
}

TEST_CASE("dns answer: a shared alias returns every address") {
  auto z = fx::zone();
  auto a = fx::ask(*z, {"shared", LDNS_RR_TYPE_A}, kGw1, kWeb);
  CHECK(answer_test_sorted(a.reply.answers) == answer_test_strs({"10.1.0.2", "10.1.0.3"}));
  auto aaaa = fx::ask(*z, {"shared.n1", LDNS_RR_TYPE_AAAA}, kGw1, kWeb);
  CHECK(aaaa.reply.answers == answer_test_strs({"fd00:1::2"}));
}

TEST_CASE("dns answer: NODATA for another type of an existing name") {
  auto z = fx::zone();
  for (auto type : {LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_MX, LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_PTR}) {
    auto r = fx::ask(*z, {"db", type}, kGw1, kWeb);  // db has IPv4 only
    REQUIRE(r.action == Action::kReply);
    CHECK(r.reply.rcode == LDNS_RCODE_NOERROR);
    CHECK(r.reply.aa);
    CHECK(r.reply.answers.empty());
  }
}

TEST_CASE("dns answer: scope follows the source's namespace") {
  auto z = fx::zone();
  // api is on n2 only: web (n1 only) is NXDOMAIN for it, by name and by NAME.NETWORK.
  for (const char* name : {"web", "web.n1", "frontend"}) {
    auto r = fx::ask(*z, {name, LDNS_RR_TYPE_A}, kGw2, kApi);
    REQUIRE(r.action == Action::kReply);
    CHECK(r.reply.rcode == LDNS_RCODE_NXDOMAIN);
    CHECK(r.reply.aa);
    CHECK(r.reply.answers.empty());
  }
  CHECK(fx::ask(*z, {"api", LDNS_RR_TYPE_A}, kGw2, kApi).reply.answers ==
        answer_test_strs({"10.2.0.2"}));
  // ns-both, asking on n2, sees n1's names and its own on both networks.
  auto both = fx::ask(*z, {"web", LDNS_RR_TYPE_A}, kGw2, "10.2.0.3");
  CHECK(both.reply.answers == answer_test_strs({"10.1.0.2"}));
  auto self = fx::ask(*z, {"both", LDNS_RR_TYPE_A}, kGw2, "10.2.0.3");
  CHECK(answer_test_sorted(self.reply.answers) == answer_test_strs({"10.1.0.4", "10.2.0.3"}));
  CHECK(fx::ask(*z, {"both.n2", LDNS_RR_TYPE_A}, kGw1, "10.1.0.4").reply.answers ==
        answer_test_strs({"10.2.0.3"}));
  // web sees ns-both's n1 address only.
  CHECK(fx::ask(*z, {"both", LDNS_RR_TYPE_A}, kGw1, kWeb).reply.answers ==
        answer_test_strs({"10.1.0.4"}));
}

TEST_CASE("dns answer: PTR for endpoint addresses in scope") {
  auto z = fx::zone();
  auto r = fx::ask(*z, {"2.0.1.10.in-addr.arpa", LDNS_RR_TYPE_PTR}, kGw1, "10.1.0.3");
  REQUIRE(r.action == Action::kReply);
  CHECK(r.reply.rcode == LDNS_RCODE_NOERROR);
  CHECK(r.reply.aa);
  CHECK(r.reply.answers == answer_test_strs({"web."}));
  std::string v6 = "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa";
  CHECK(fx::ask(*z, {v6, LDNS_RR_TYPE_PTR}, kGw1, "10.1.0.3").reply.answers ==
        answer_test_strs({"web."}));
  CHECK(fx::ask(*z, {"3.0.1.10.IN-ADDR.ARPA.", LDNS_RR_TYPE_PTR}, kGw1, kWeb).reply.answers ==
        answer_test_strs({"db."}));
  // Out of scope, nameless, or unused addresses of a DNS subnet: NXDOMAIN.
  for (const char* name : {"2.0.1.10.in-addr.arpa", "9.0.2.10.in-addr.arpa",
                           "99.0.2.10.in-addr.arpa", "5.0.4.10.in-addr.arpa"}) {
    auto n = fx::ask(*z, {name, LDNS_RR_TYPE_PTR}, kGw2, kApi);
    REQUIRE(n.action == Action::kReply);
    CHECK_MESSAGE(n.reply.rcode == LDNS_RCODE_NXDOMAIN, name);
  }
  // Another type of an existing reverse name: NODATA.
  auto a = fx::ask(*z, {"2.0.1.10.in-addr.arpa", LDNS_RR_TYPE_A}, kGw1, kWeb);
  CHECK(a.reply.rcode == LDNS_RCODE_NOERROR);
  CHECK(a.reply.answers.empty());
  // Outside the DNS subnets (the network without DNS too), or not a whole address: forwarded.
  for (const char* name : {"2.0.3.10.in-addr.arpa", "1.1.168.192.in-addr.arpa",
                           "0.1.10.in-addr.arpa", "02.0.1.10.in-addr.arpa"})
    CHECK_MESSAGE(fx::ask(*z, {name, LDNS_RR_TYPE_PTR}, kGw1, kWeb).action == Action::kForward,
                  name);
}

TEST_CASE("dns answer: NXDOMAIN in the zone, forward outside it") {
  auto z = fx::zone();
  for (const char* name :
       {"nosuch", "nosuch.n1", "x.nosuch.n2", "hidden", "web.empty", "localhost"}) {
    auto r = fx::ask(*z, {name, LDNS_RR_TYPE_A}, kGw1, kWeb);
    REQUIRE(r.action == Action::kReply);
    CHECK_MESSAGE(r.reply.rcode == LDNS_RCODE_NXDOMAIN, name);
    CHECK(r.reply.aa);
  }
  for (const char* name : {"example.com", "web.quiet", "hidden.quiet", "web.n1.example", "."}) {
    auto out = cnm::dns::answer(*z, fx::wire({name, LDNS_RR_TYPE_A}), ip(kGw1), ip(kWeb));
    CHECK_MESSAGE(out.action == Action::kForward, name);
    CHECK(out.wire.empty());
  }
}

TEST_CASE("dns answer: an unknown source gets no names and is no open resolver") {
  auto z = fx::zone();
  // Not an endpoint, an endpoint of another network, or a query to a non-gateway address.
  for (auto [local, source] :
       {std::pair{kGw1, "10.1.0.77"}, {kGw2, kWeb}, {"10.3.0.1", "10.3.0.2"}, {kWeb, kWeb}}) {
    auto in = fx::ask(*z, {"web", LDNS_RR_TYPE_A}, local, source);
    REQUIRE(in.action == Action::kReply);
    CHECK(in.reply.rcode == LDNS_RCODE_NXDOMAIN);
    CHECK(in.reply.answers.empty());
    auto out = fx::ask(*z, {"example.com", LDNS_RR_TYPE_A}, local, source);
    REQUIRE(out.action == Action::kReply);
    CHECK(out.reply.rcode == LDNS_RCODE_REFUSED);
  }
}

TEST_CASE("dns answer: other classes and opcodes") {
  auto z = fx::zone();
  auto ch = fx::ask(*z, {"web", LDNS_RR_TYPE_A, 1, true, LDNS_RR_CLASS_CH}, kGw1, kWeb);
  CHECK(ch.reply.rcode == LDNS_RCODE_REFUSED);
  CHECK(ch.reply.answers.empty());
  auto q = fx::wire({"web", LDNS_RR_TYPE_A});
  q[2] = static_cast<uint8_t>((q[2] & ~0x78) | (LDNS_PACKET_NOTIFY << 3));
  auto notify = answer_test_raw(*z, q);
  REQUIRE(notify.action == Action::kReply);
  CHECK(fx::parse(notify.wire).rcode == LDNS_RCODE_NOTIMPL);
  // A response is never answered (no loops between servers).
  q = fx::wire({"web", LDNS_RR_TYPE_A});
  q[2] |= 0x80;
  CHECK(answer_test_raw(*z, q).action == Action::kDrop);
}

TEST_CASE("dns answer: only the first question is answered") {
  auto z = fx::zone();
  ldns_pkt* p =
      ldns_pkt_query_new(ldns_dname_new_frm_str("db"), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0);
  REQUIRE(p != nullptr);
  ldns_rr* second = nullptr;
  REQUIRE(ldns_rr_new_question_frm_str(&second, "web. IN A", nullptr, nullptr) == LDNS_STATUS_OK);
  ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, second);
  uint8_t* data = nullptr;
  size_t size = 0;
  REQUIRE(ldns_pkt2wire(&data, p, &size) == LDNS_STATUS_OK);
  std::vector<uint8_t> q(data, data + size);
  free(data);  // NOLINT
  ldns_pkt_free(p);
  auto out = answer_test_raw(*z, q);
  REQUIRE(out.action == Action::kReply);
  auto r = fx::parse(out.wire);
  CHECK(r.questions == 1);
  CHECK(r.question == "db.");
  CHECK(r.answers == answer_test_strs({"10.1.0.3"}));
}

TEST_CASE("dns answer: malformed queries: dropped or FORMERR, never a crash") {
  auto z = fx::zone();
  auto good = fx::wire({"web", LDNS_RR_TYPE_A, 0x4242});
  // Shorter than a header: nothing to answer to.
  for (size_t n = 0; n < 12; ++n)
    CHECK(answer_test_raw(*z, {good.begin(), good.begin() + long(n)}).action == Action::kDrop);
  // A header and part of the question: FORMERR with the ID.
  for (size_t n = 12; n < good.size(); ++n) {
    auto out = answer_test_raw(*z, {good.begin(), good.begin() + long(n)});
    REQUIRE(out.action == Action::kReply);
    auto r = fx::parse(out.wire);
    CHECK(r.rcode == LDNS_RCODE_FORMERR);
    CHECK(r.id == 0x4242);
    CHECK(r.questions == 0);
  }
  // No question at all.
  std::vector<uint8_t> empty(good.begin(), good.begin() + 12);
  empty[5] = 0;
  CHECK(fx::parse(answer_test_raw(*z, empty).wire).rcode == LDNS_RCODE_FORMERR);
  // A name that points at itself (a compression loop), and one pointing past the end.
  std::vector<uint8_t> loop(good.begin(), good.begin() + 12);
  loop.insert(loop.end(), {0xc0, 12, 0, 1, 0, 1});
  CHECK(fx::parse(answer_test_raw(*z, loop).wire).rcode == LDNS_RCODE_FORMERR);
  std::vector<uint8_t> past(good.begin(), good.begin() + 12);
  past.insert(past.end(), {0xc0, 200, 0, 1, 0, 1});
  CHECK(fx::parse(answer_test_raw(*z, past).wire).rcode == LDNS_RCODE_FORMERR);
  // Huge counts over a short message.
  auto huge = good;
  for (size_t i = 4; i < 12; ++i) huge[i] = 0xff;
  CHECK(fx::parse(answer_test_raw(*z, huge).wire).rcode == LDNS_RCODE_FORMERR);
  // A label holding a dot ("web\.n1", one label) is not the name web.n1: NXDOMAIN.
  auto dotted = fx::ask(*z, {"web\\.n1", LDNS_RR_TYPE_A}, kGw1, kWeb);
  CHECK(dotted.reply.rcode == LDNS_RCODE_NXDOMAIN);
  // Random bytes behind a valid header, and the good query with random bytes flipped.
  std::mt19937 rng(24);
  for (int i = 0; i < 20000; ++i) {
    auto q = good;
    if (i % 2) {
      q.resize(12 + rng() % 300);
      for (size_t j = 12; j < q.size(); ++j) q[j] = static_cast<uint8_t>(rng());
    } else {
      for (int k = 0; k < 3; ++k) q[rng() % q.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    auto out = answer_test_raw(*z, q);
    if (out.action == Action::kReply) REQUIRE(fx::parse(out.wire).ok);
    (void)cnm::dns::servfail_for(q);
  }
}

TEST_CASE("dns answer: servfail_for") {
  auto q = fx::wire({"example.com", LDNS_RR_TYPE_AAAA, 0x7777});
  auto r = fx::parse(cnm::dns::servfail_for(q));
  CHECK(r.rcode == LDNS_RCODE_SERVFAIL);
  CHECK(r.id == 0x7777);
  CHECK(r.question == "example.com.");
  CHECK(r.rd);
  CHECK(r.ra);
  auto cut = fx::parse(cnm::dns::servfail_for({q.begin(), q.begin() + 15}));
  CHECK(cut.rcode == LDNS_RCODE_FORMERR);
  CHECK(cut.id == 0x7777);
  CHECK(cnm::dns::servfail_for({q.begin(), q.begin() + 11}).empty());
}

TEST_CASE("dns answer: fit_udp truncates what UDP cannot carry") {
  auto n = fx::networks();
  std::vector<cnm::Endpoint> e;
  for (int i = 2; i < 102; ++i)
    e.push_back(fx::endpoint("n1", "ns-" + std::to_string(i),
                             {"10.1.0." + std::to_string(i) + "/24"}, "", {"many"}));
  auto z = cnm::dns::build_zone(n, e);
  auto q = fx::wire({"many", LDNS_RR_TYPE_A});
  auto out = cnm::dns::answer(*z, q, ip(kGw1), ip("10.1.0.2"));
  REQUIRE(out.action == Action::kReply);
  CHECK(fx::parse(out.wire).answers.size() == 100);  // over TCP: all of them
  CHECK(out.wire.size() > 512);
  auto cut = cnm::dns::fit_udp(q, out.wire);
  CHECK(cut.size() <= 512);
  auto r = fx::parse(cut);
  CHECK(r.tc);
  CHECK(r.answers.empty());
  CHECK(r.question == "many.");
  // With EDNS 4096 it fits as it is.
  auto big = fx::wire({"many", LDNS_RR_TYPE_A, 1, true, LDNS_RR_CLASS_IN, 4096});
  CHECK(cnm::dns::udp_limit(big) == 4096);
  auto whole = cnm::dns::answer(*z, big, ip(kGw1), ip("10.1.0.2")).wire;
  CHECK(cnm::dns::fit_udp(big, whole) == whole);
  auto small = fx::ask(*z, {"web", LDNS_RR_TYPE_A}, kGw1, "10.1.0.2");
  CHECK_FALSE(small.reply.tc);
}

TEST_CASE("dns answer: time per answer") {
  auto z = fx::zone();
  auto local = fx::wire({"web", LDNS_RR_TYPE_A});
  auto missing = fx::wire({"nosuch", LDNS_RR_TYPE_A});
  auto remote = fx::wire({"www.example.com", LDNS_RR_TYPE_A});
  auto gw = ip(kGw1), src = ip(kWeb);
  constexpr int kRounds = 50000;
  for (auto* q : {&local, &missing, &remote}) {
    auto start = std::chrono::steady_clock::now();
    size_t bytes = 0;
    for (int i = 0; i < kRounds; ++i) bytes += cnm::dns::answer(*z, *q, gw, src).wire.size();
    std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
    double each = took.count() / kRounds;
    MESSAGE("answer(" << fx::parse(*q).question << "): " << each << " us, " << bytes / kRounds
                      << " bytes");
    CHECK(each < 100);  // the target is a few microseconds; this only catches a pathology
  }
}

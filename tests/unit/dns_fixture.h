// The zone the DNS unit tests share, and queries built and replies read with ldns.
//
// n1 10.1.0.0/24 + fd00:1::/64 (dual stack), n2 10.2.0.0/24, quiet 10.3.0.0/24 (-o
// netctl.dns=false), empty 10.4.0.0/24 (DNS, no endpoints). Namespaces and their endpoints:
//   ns-web   n1 10.1.0.2 fd00:1::2  "web", aliases "frontend", "shared"
//   ns-db    n1 10.1.0.3            "DB", alias "shared"
//   ns-api   n2 10.2.0.2            "api"
//   ns-both  n1 10.1.0.4, n2 10.2.0.3  "both"
//   ns-anon  n2 10.2.0.9            no name (a pid: target)
//   ns-quiet quiet 10.3.0.2         "hidden"
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "cnm/dns/answer.h"
#include "cnm/dns/ldns.h"
#include "cnm/dns/zone.h"
#include "tests/literals.h"

namespace cnm::testing::dnsfx {

inline Network network(std::string name, std::string subnet, std::string gw, bool dns = true) {
  Network n;
  n.id = name + "-id";
  n.name = std::move(name);
  n.bridge = "nc-" + n.name;
  n.pools.push_back(Pool{cidr(subnet), ip(gw), {}, {}});
  if (!dns) n.options["netctl.dns"] = "false";
  return n;
}

inline Endpoint endpoint(std::string net, std::string ns, std::vector<std::string> addrs,
                         std::string name, std::vector<std::string> aliases = {}) {
  Endpoint e;
  e.id = ns + "@" + net;
  e.network_id = net + "-id";
  e.netns_key = std::move(ns);
  for (const auto& a : addrs) e.addresses.push_back(pfx(a));
  e.dns_name = std::move(name);
  e.aliases = std::move(aliases);
  return e;
}

inline std::vector<Network> networks() {
  auto n1 = network("n1", "10.1.0.0/24", "10.1.0.1");
  n1.ipv6 = true;
  n1.pools.push_back(Pool{cidr("fd00:1::/64"), ip("fd00:1::1"), {}, {}});
  return {n1, network("n2", "10.2.0.0/24", "10.2.0.1"),
          network("quiet", "10.3.0.0/24", "10.3.0.1", false),
          network("empty", "10.4.0.0/24", "10.4.0.1")};
}

inline std::vector<Endpoint> endpoints() {
  return {
      endpoint("n1", "ns-web", {"10.1.0.2/24", "fd00:1::2/64"}, "web", {"frontend", "shared"}),
      endpoint("n1", "ns-db", {"10.1.0.3/24"}, "DB", {"shared"}),
      endpoint("n2", "ns-api", {"10.2.0.2/24"}, "api"),
      endpoint("n1", "ns-both", {"10.1.0.4/24"}, "both"),
      endpoint("n2", "ns-both", {"10.2.0.3/24"}, "both"),
      endpoint("n2", "ns-anon", {"10.2.0.9/24"}, ""),
      endpoint("quiet", "ns-quiet", {"10.3.0.2/24"}, "hidden"),
  };
}

inline std::shared_ptr<const dns::Zone> zone() {
  auto n = networks();
  auto e = endpoints();
  return dns::build_zone(n, e);
}

struct Query {
  std::string name;
  ldns_rr_type type = LDNS_RR_TYPE_A;
  uint16_t id = 0x1234;
  bool rd = true;
  ldns_rr_class cls = LDNS_RR_CLASS_IN;
  uint16_t edns = 0;  // EDNS payload size, 0: no OPT record
};

inline std::vector<uint8_t> wire(const Query& q) {
  ldns_rdf* owner = ldns_dname_new_frm_str(q.name.c_str());
  REQUIRE_MESSAGE(owner != nullptr, q.name);
  ldns_pkt* p = ldns_pkt_query_new(owner, q.type, q.cls, q.rd ? LDNS_RD : 0);
  REQUIRE(p != nullptr);
  ldns_pkt_set_id(p, q.id);
  if (q.edns) ldns_pkt_set_edns_udp_size(p, q.edns);
  uint8_t* data = nullptr;
  size_t size = 0;
  REQUIRE(ldns_pkt2wire(&data, p, &size) == LDNS_STATUS_OK);
  std::vector<uint8_t> out(data, data + size);
  free(data);  // NOLINT: ldns allocates with malloc
  ldns_pkt_free(p);
  return out;
}

struct Reply {
  bool ok = false;  // parsed
  uint16_t id = 0;
  int rcode = -1;
  bool aa = false, ra = false, rd = false, tc = false;
  size_t questions = 0;
  std::string question;              // owner of the first question, as sent
  std::vector<std::string> answers;  // rdata in presentation form ("10.1.0.2", "web.")
  std::vector<std::string> owners;   // owners of the answers
  bool edns = false;
};

inline std::string rdf_text(const ldns_rdf* rdf) {
  char* s = ldns_rdf2str(rdf);
  std::string out = s ? s : "";
  free(s);  // NOLINT
  return out;
}

inline Reply parse(const std::vector<uint8_t>& w) {
  Reply r;
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, w.data(), w.size()) != LDNS_STATUS_OK) return r;
  r.ok = true;
  r.id = ldns_pkt_id(p);
  r.rcode = ldns_pkt_get_rcode(p);
  r.aa = ldns_pkt_aa(p);
  r.ra = ldns_pkt_ra(p);
  r.rd = ldns_pkt_rd(p);
  r.tc = ldns_pkt_tc(p);
  r.edns = ldns_pkt_edns(p);
  r.questions = ldns_rr_list_rr_count(ldns_pkt_question(p));
  if (r.questions) r.question = rdf_text(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
  ldns_rr_list* an = ldns_pkt_answer(p);
  for (size_t i = 0; i < ldns_rr_list_rr_count(an); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(an, i);
    r.owners.push_back(rdf_text(ldns_rr_owner(rr)));
    r.answers.push_back(rdf_text(ldns_rr_rdf(rr, 0)));
    CHECK(ldns_rr_ttl(rr) == 0);
  }
  ldns_pkt_free(p);
  return r;
}

struct Asked {
  dns::Action action;
  Reply reply;
};

inline Asked ask(const dns::Zone& z, const Query& q, std::string_view local,
                 std::string_view source) {
  auto out = dns::answer(z, wire(q), ip(local), ip(source));
  if (out.action != dns::Action::kReply) CHECK(out.wire.empty());
  return {out.action, out.action == dns::Action::kReply ? parse(out.wire) : Reply{}};
}

}  // namespace cnm::testing::dnsfx

// libFuzzer target: DNS queries (cnm/dns/answer.h answer, servfail_for, fit_udp) over a small fixed
// zone. The first input byte picks the gateway and source, the rest is the query. A reply parses
// with ldns, is a response with the query's ID, and fits UDP once fit_udp cut it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "cnm/dns/answer.h"
#include "cnm/dns/ldns.h"
#include "cnm/dns/zone.h"

namespace {

cnm::IpAddr fuzz_dns_ip(const char* text) {
  auto a = cnm::IpAddr::parse(text);
  if (!a) std::abort();
  return *a;
}

cnm::Network fuzz_dns_network(const char* name, const char* subnet, const char* gw) {
  cnm::Network n;
  n.id = std::string(name) + "-id";
  n.name = name;
  n.bridge = std::string("nc-") + name;
  auto p = cnm::Prefix::parse(subnet);
  if (!p) std::abort();
  n.pools.push_back(cnm::Pool{*p, fuzz_dns_ip(gw), {}, {}});
  return n;
}

cnm::Endpoint fuzz_dns_endpoint(const char* net, const char* ns, const char* addr, const char* name,
                                std::vector<std::string> aliases) {
  cnm::Endpoint e;
  e.id = std::string(ns) + net;
  e.network_id = std::string(net) + "-id";
  e.netns_key = ns;
  auto p = cnm::Prefix::parse(addr, false);
  if (!p) std::abort();
  e.addresses.push_back(*p);
  e.dns_name = name;
  e.aliases = std::move(aliases);
  return e;
}

const cnm::dns::Zone& fuzz_dns_zone() {
  static const auto zone = [] {
    auto n1 = fuzz_dns_network("n1", "10.1.0.0/24", "10.1.0.1");
    auto p6 = cnm::Prefix::parse("fd00:1::/64");
    if (!p6) std::abort();
    n1.pools.push_back(cnm::Pool{*p6, fuzz_dns_ip("fd00:1::1"), {}, {}});
    std::vector<cnm::Network> nets{n1, fuzz_dns_network("n2", "10.2.0.0/24", "10.2.0.1")};
    std::vector<cnm::Endpoint> eps{
        fuzz_dns_endpoint("n1", "a", "10.1.0.2/24", "web", {"shared", "frontend"}),
        fuzz_dns_endpoint("n1", "b", "10.1.0.3/24", "db", {"shared"}),
        fuzz_dns_endpoint("n1", "c", "fd00:1::3/64", "six", {}),
        fuzz_dns_endpoint("n2", "a", "10.2.0.2/24", "web", {}),
        fuzz_dns_endpoint("n2", "d", "10.2.0.3/24", "api", {}),
    };
    return cnm::dns::build_zone(nets, eps);
  }();
  return *zone;
}

// The reply is a DNS response that ldns parses, with the query's ID.
void fuzz_dns_check_reply(std::span<const uint8_t> query, const std::vector<uint8_t>& reply) {
  if (reply.size() < LDNS_HEADER_SIZE || query.size() < LDNS_HEADER_SIZE) std::abort();
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, reply.data(), reply.size()) != LDNS_STATUS_OK) std::abort();
  bool ok = ldns_pkt_qr(p) && ldns_pkt_id(p) == LDNS_ID_WIRE(query.data()) &&
            ldns_rr_list_rr_count(ldns_pkt_question(p)) <= 1;
  ldns_pkt_free(p);
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kPairs[][2] = {{"10.1.0.1", "10.1.0.2"},
                                          {"10.2.0.1", "10.2.0.2"},
                                          {"fd00:1::1", "fd00:1::3"},
                                          {"10.1.0.1", "10.1.0.99"}};
  const auto& pair = kPairs[data[0] % 4];
  std::span<const uint8_t> query(data + 1, size - 1);
  const auto& zone = fuzz_dns_zone();
  auto out = cnm::dns::answer(zone, query, fuzz_dns_ip(pair[0]), fuzz_dns_ip(pair[1]));
  if (out.action == cnm::dns::Action::kReply) {
    fuzz_dns_check_reply(query, out.wire);
    auto udp = cnm::dns::fit_udp(query, out.wire);
    if (udp.size() > cnm::dns::udp_limit(query)) std::abort();
    if (!udp.empty()) fuzz_dns_check_reply(query, udp);
  } else if (!out.wire.empty()) {
    std::abort();
  }
  auto fail = cnm::dns::servfail_for(query);
  if (!fail.empty()) fuzz_dns_check_reply(query, fail);
  return 0;
}

// Answers to DNS queries from the zone (cnm/dns/README.md). Messages are parsed and built with
// ldns; nothing here reads the wire format by hand.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cnm/dns/zone.h"

namespace cnm::dns {

enum class Action { kReply, kForward, kDrop };
struct Outcome {
  Action action = Action::kDrop;
  std::vector<uint8_t> wire;  // the reply (kReply)
};

// The answer to `query` (DNS wire format) that arrived on `local` (a gateway) from `source`.
// kForward: not netctl's name, send the query as it is upstream. kDrop: not worth an answer
// (not a query, unparsable header). Never throws, never reads past `query`.
//
// Replies: A, AAAA and PTR records (TTL 0, AA) for names in the source's scope; NOERROR without
// records for another type of such a name; NXDOMAIN (AA) for other names in netctl's zone (one
// label, a name under a DNS network's name, the reverse name of an address in a DNS network's
// subnet); FORMERR for an unparsable message with a usable header; NOTIMP for an opcode other than
// QUERY; REFUSED for a class other than IN in the zone, and for names outside the zone when
// `source` is no endpoint on `local`'s network (the server is no open resolver). Only the first
// question is answered; the ID, RD and CD are echoed, RA is set.
Outcome answer(const Zone& z, std::span<const uint8_t> query, const IpAddr& local,
               const IpAddr& source);
// SERVFAIL (or FORMERR for the unparsable) for `query`, empty when it has no usable header.
std::vector<uint8_t> servfail_for(std::span<const uint8_t> query);

// The largest UDP reply `query` accepts: 512 bytes, or its EDNS payload size (at most 4096).
size_t udp_limit(std::span<const uint8_t> query);
// `reply` to send over UDP for `query`: as it is when it fits udp_limit(query), else its header and
// question with TC set, so that the client asks again over TCP.
std::vector<uint8_t> fit_udp(std::span<const uint8_t> query, std::vector<uint8_t> reply);

}  // namespace cnm::dns

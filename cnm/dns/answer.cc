#include "cnm/dns/answer.h"

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string_view>

#include "cnm/dns/ldns.h"

namespace cnm::dns {
namespace {
// Named apart: the unity build compiles this file with the server's.
namespace answering {

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;
struct BufferFree {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
using Buffer = std::unique_ptr<ldns_buffer, BufferFree>;

// Records in one reply at most: keeps every reply far below TCP's 64 KiB.
constexpr size_t kMaxRecords = 1000;
// The UDP payload size our replies announce (the DNS flag day's value).
constexpr uint16_t kEdnsSize = 1232;
constexpr size_t kMaxLabels = 128;

// The question's name, lowercased, in the form the zone keys names: labels joined by dots.
struct QName {
  std::array<char, 256> text;
  std::array<uint8_t, kMaxLabels> start, size;
  size_t len = 0, labels = 0;
  bool plain = true;  // every byte a letter, digit, '-' or '_': it can be one of the zone's names

  std::string_view str() const { return {text.data(), len}; }
  std::string_view label(size_t i) const { return {text.data() + start[i], size[i]}; }
  std::string_view from(size_t i) const { return {text.data() + start[i], len - start[i]}; }
};

char lower(uint8_t c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); }

// Reads the owner of the question as ldns holds it: decompressed and checked, length-prefixed
// labels ending with the root's zero.
bool read_qname(const ldns_rdf* rdf, QName& q) {
  if (!rdf || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME) return false;
  const uint8_t* d = ldns_rdf_data(rdf);
  size_t n = ldns_rdf_size(rdf), pos = 0;
  while (pos < n) {
    size_t l = d[pos++];
    if (l == 0) return true;
    size_t sep = q.labels > 0 ? 1 : 0;
    if (l > 63 || pos + l > n || q.labels == kMaxLabels || q.len + sep + l >= q.text.size())
      return false;
    if (sep) q.text[q.len++] = '.';
    q.start[q.labels] = static_cast<uint8_t>(q.len);
    q.size[q.labels++] = static_cast<uint8_t>(l);
    for (size_t i = 0; i < l; ++i) {
      char c = lower(d[pos + i]);
      q.plain = q.plain && is_name_byte(c);
      q.text[q.len++] = c;
    }
    pos += l;
  }
  return false;
}

std::optional<unsigned> hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return std::nullopt;
}

std::optional<unsigned> octet(std::string_view s) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + unsigned(c - '0');
  }
  return v <= 255 ? std::optional(v) : std::nullopt;
}

// The address a complete reverse name (d.c.b.a.in-addr.arpa, 32 nibbles then ip6.arpa) names.
std::optional<IpAddr> reverse_address(const QName& q) {
  if (q.labels == 6 && q.label(4) == "in-addr" && q.label(5) == "arpa") {
    uint32_t v = 0;
    for (size_t i = 4; i-- > 0;) {
      auto o = octet(q.label(i));
      if (!o) return std::nullopt;
      v = v << 8 | *o;
    }
    return IpAddr::v4(v);
  }
  if (q.labels == 34 && q.label(32) == "ip6" && q.label(33) == "arpa") {
    u128 v = 0;
    for (size_t i = 32; i-- > 0;) {
      auto h = q.size[i] == 1 ? hex_digit(q.label(i)[0]) : std::nullopt;
      if (!h) return std::nullopt;
      v = v << 4 | *h;
    }
    return IpAddr::from_value(true, v);
  }
  return std::nullopt;
}

// Whether netctl owns `q`: one label, a name under a DNS network's name, or the reverse name of an
// address in a DNS network's subnet.
bool in_zone(const Zone& z, const QName& q, const std::optional<IpAddr>& rev) {
  if (q.labels == 1) return true;
  if (rev) return z.in_reverse_zone(*rev);
  for (size_t i = 1; i < q.labels; ++i)
    if (z.is_network(q.from(i))) return true;
  return false;
}

// The first question of `p`, the only one answered; nullptr when it has none.
const ldns_rr* first_question(const ldns_pkt* p) {
  ldns_rr_list* questions = ldns_pkt_question(p);
  return questions && ldns_rr_list_rr_count(questions) > 0 ? ldns_rr_list_rr(questions, 0)
                                                           : nullptr;
}

// A reply to `q` with its header, `rcode` and (when given) a copy of `question`.
Pkt new_reply(const ldns_pkt* q, const ldns_rr* question, uint8_t rcode) {
  Pkt r(ldns_pkt_new());
  if (!r) return r;
  ldns_pkt_set_id(r.get(), ldns_pkt_id(q));
  ldns_pkt_set_qr(r.get(), true);
  ldns_pkt_set_opcode(r.get(), ldns_pkt_get_opcode(q));
  ldns_pkt_set_rd(r.get(), ldns_pkt_rd(q));
  ldns_pkt_set_cd(r.get(), ldns_pkt_cd(q));
  ldns_pkt_set_ra(r.get(), true);
  ldns_pkt_set_rcode(r.get(), rcode);
  if (ldns_pkt_edns(q)) ldns_pkt_set_edns_udp_size(r.get(), kEdnsSize);
  if (question) {
    ldns_rr* copy = ldns_rr_clone(question);
    if (!copy || !ldns_pkt_push_rr(r.get(), LDNS_SECTION_QUESTION, copy)) {
      ldns_rr_free(copy);
      return nullptr;
    }
  }
  return r;
}

// Serializes `p` through a per-thread buffer: one allocation, the returned vector.
std::vector<uint8_t> to_wire(const ldns_pkt* p) {
  thread_local Buffer buf;
  if (!buf || !ldns_buffer_status_ok(buf.get()) || ldns_buffer_capacity(buf.get()) > 16384)
    buf.reset(ldns_buffer_new(4096));
  if (!buf) return {};
  ldns_buffer_clear(buf.get());
  if (ldns_pkt2buffer_wire(buf.get(), p) != LDNS_STATUS_OK || !ldns_buffer_status_ok(buf.get()))
    return {};
  const uint8_t* b = ldns_buffer_begin(buf.get());
  return {b, b + ldns_buffer_position(buf.get())};
}

Outcome reply(const Pkt& p) {
  if (!p) return {};
  auto wire = to_wire(p.get());
  if (wire.empty()) return {};
  return {Action::kReply, std::move(wire)};
}

// A reply with no question, for a message whose header is all that could be read.
Outcome header_reply(std::span<const uint8_t> query, uint8_t rcode) {
  Pkt r(ldns_pkt_new());
  if (!r) return {};
  const uint8_t* h = query.data();
  ldns_pkt_set_id(r.get(), LDNS_ID_WIRE(h));
  ldns_pkt_set_qr(r.get(), true);
  ldns_pkt_set_opcode(r.get(), static_cast<ldns_pkt_opcode>(LDNS_OPCODE_WIRE(h)));
  ldns_pkt_set_rd(r.get(), LDNS_RD_WIRE(h) != 0);
  ldns_pkt_set_cd(r.get(), LDNS_CD_WIRE(h) != 0);
  ldns_pkt_set_ra(r.get(), true);
  ldns_pkt_set_rcode(r.get(), rcode);
  return reply(r);
}

bool add_record(ldns_pkt* r, const ldns_rdf* owner, ldns_rr_type type, ldns_rdf* data) {
  ldns_rr* rr = data ? ldns_rr_new() : nullptr;
  ldns_rdf* name = rr ? ldns_rdf_clone(owner) : nullptr;
  if (!name) {
    ldns_rr_free(rr);
    ldns_rdf_deep_free(data);
    return false;
  }
  ldns_rr_set_owner(rr, name);
  ldns_rr_set_type(rr, type);
  ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(rr, 0);
  if (!ldns_rr_push_rdf(rr, data)) ldns_rdf_deep_free(data);
  if (ldns_rr_rd_count(rr) == 1 && ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr)) return true;
  ldns_rr_free(rr);
  return false;
}

// Adds the A or AAAA records of `name` that `scope` sees; false when it sees none of any family.
bool answer_name(const Zone& z, const Zone::Scope& scope, std::string_view name, ldns_rr_type type,
                 const ldns_rdf* owner, ldns_pkt* r) {
  bool exists = false;
  for (const auto& rec : z.records(name)) {
    if (!Zone::visible(scope, rec.net)) continue;
    exists = true;
    bool v6 = rec.addr.is_v6();
    if (type != (v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A) || ldns_pkt_ancount(r) >= kMaxRecords)
      continue;
    auto bytes = rec.addr.bytes();
    auto rdf_type = v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A;
    add_record(r, owner, type, ldns_rdf_new_frm_data(rdf_type, v6 ? 16 : 4, bytes.data()));
  }
  return exists;
}

// Adds the PTR record of `addr` when `scope` sees it; false when it does not.
bool answer_reverse(const Zone& z, const Zone::Scope& scope, const IpAddr& addr, ldns_rr_type type,
                    const ldns_rdf* owner, ldns_pkt* r) {
  for (const auto& rev : z.reverse(addr)) {
    if (!Zone::visible(scope, rev.net)) continue;
    if (type == LDNS_RR_TYPE_PTR) {
      const auto& t = rev.target;
      add_record(r, owner, type, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, t.size(), t.data()));
    }
    return true;
  }
  return false;
}

Outcome answer_question(const Zone& z, const ldns_pkt* q, const ldns_rr* question,
                        const IpAddr& local, const IpAddr& source) {
  QName name;
  const ldns_rdf* owner = ldns_rr_owner(question);
  if (!read_qname(owner, name)) return reply(new_reply(q, question, LDNS_RCODE_FORMERR));
  auto type = ldns_rr_get_type(question);
  bool in_class = ldns_rr_get_class(question) == LDNS_RR_CLASS_IN;
  auto rev = reverse_address(name);
  const Zone::Scope* scope = z.scope(local, source);
  if (scope && in_class && (rev || name.plain)) {
    Pkt r = new_reply(q, question, LDNS_RCODE_NOERROR);
    if (!r) return {};
    bool exists = rev && z.in_reverse_zone(*rev)
                      ? answer_reverse(z, *scope, *rev, type, owner, r.get())
                      : name.plain && answer_name(z, *scope, name.str(), type, owner, r.get());
    if (exists) {
      ldns_pkt_set_aa(r.get(), true);
      return reply(r);
    }
  }
  if (in_zone(z, name, rev)) {
    if (!in_class) return reply(new_reply(q, question, LDNS_RCODE_REFUSED));
    Pkt r = new_reply(q, question, LDNS_RCODE_NXDOMAIN);
    if (r) ldns_pkt_set_aa(r.get(), true);
    return reply(r);
  }
  if (!scope) return reply(new_reply(q, question, LDNS_RCODE_REFUSED));
  return {Action::kForward, {}};
}

Outcome answer_query(const Zone& z, std::span<const uint8_t> query, const IpAddr& local,
                     const IpAddr& source) {
  if (query.size() < LDNS_HEADER_SIZE || LDNS_QR_WIRE(query.data())) return {};
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, query.data(), query.size()) != LDNS_STATUS_OK || !raw) {
    ldns_pkt_free(raw);
    return header_reply(query, LDNS_RCODE_FORMERR);
  }
  Pkt q(raw);
  const ldns_rr* question = first_question(q.get());
  if (ldns_pkt_get_opcode(q.get()) != LDNS_PACKET_QUERY)
    return reply(new_reply(q.get(), question, LDNS_RCODE_NOTIMPL));
  if (!question) return reply(new_reply(q.get(), nullptr, LDNS_RCODE_FORMERR));
  return answer_question(z, q.get(), question, local, source);
}

}  // namespace answering
}  // namespace

Outcome answer(const Zone& z, std::span<const uint8_t> query, const IpAddr& local,
               const IpAddr& source) {
  try {
    return answering::answer_query(z, query, local, source);
  } catch (...) {  // std::bad_alloc: no answer rather than a dead server
    return {};
  }
}

std::vector<uint8_t> servfail_for(std::span<const uint8_t> query) {
  try {
    if (query.size() < LDNS_HEADER_SIZE || LDNS_QR_WIRE(query.data())) return {};
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, query.data(), query.size()) != LDNS_STATUS_OK || !raw) {
      ldns_pkt_free(raw);
      return answering::header_reply(query, LDNS_RCODE_FORMERR).wire;
    }
    answering::Pkt q(raw);
    const ldns_rr* question = answering::first_question(q.get());
    return answering::reply(answering::new_reply(q.get(), question, LDNS_RCODE_SERVFAIL)).wire;
  } catch (...) {
    return {};
  }
}

size_t udp_limit(std::span<const uint8_t> query) {
  ldns_pkt* raw = nullptr;
  if (query.size() < LDNS_HEADER_SIZE ||
      ldns_wire2pkt(&raw, query.data(), query.size()) != LDNS_STATUS_OK || !raw) {
    ldns_pkt_free(raw);
    return 512;
  }
  answering::Pkt q(raw);
  return std::clamp<size_t>(ldns_pkt_edns(q.get()) ? ldns_pkt_edns_udp_size(q.get()) : 0, 512,
                            4096);
}

std::vector<uint8_t> fit_udp(std::span<const uint8_t> query, std::vector<uint8_t> reply_wire) {
  if (reply_wire.size() <= 512 || reply_wire.size() <= udp_limit(query)) return reply_wire;
  try {
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, reply_wire.data(), reply_wire.size()) != LDNS_STATUS_OK || !raw) {
      ldns_pkt_free(raw);
      return {};
    }
    answering::Pkt r(raw);
    const ldns_rr* question = answering::first_question(r.get());
    answering::Pkt cut = answering::new_reply(r.get(), question, ldns_pkt_get_rcode(r.get()));
    if (!cut) return {};
    ldns_pkt_set_aa(cut.get(), ldns_pkt_aa(r.get()));
    ldns_pkt_set_tc(cut.get(), true);
    return answering::to_wire(cut.get());
  } catch (...) {
    return {};
  }
}

}  // namespace cnm::dns

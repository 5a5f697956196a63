#include "cnm/dns/forward.h"

#include <stdlib.h>
#include <sys/socket.h>

#include <memory>
#include <optional>

#include "cnm/dns/answer.h"
#include "cnm/dns/ldns.h"

namespace cnm::dns {
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

asio::ip::address to_asio(const IpAddr& a) {
  auto b = a.bytes();
  if (!a.is_v6())
    return asio::ip::address_v4(asio::ip::address_v4::bytes_type{b[0], b[1], b[2], b[3]});
  asio::ip::address_v6::bytes_type v6;
  std::copy(b.begin(), b.end(), v6.begin());
  return asio::ip::address_v6(v6);
}

IpAddr from_asio(const asio::ip::address& a) {
  if (a.is_v4()) return IpAddr::v4(a.to_v4().to_uint());
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return IpAddr::v4(v6.to_v4().to_uint());
  u128 value = 0;
  for (uint8_t byte : v6.to_bytes()) value = (value << 8) | byte;
  return IpAddr::from_value(true, value);
}

namespace {

constexpr size_t kFwdMaxMessage = 65535;

struct FwdRdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};

// A message's first question, read with ldns (its name, type and class) and its question count:
// what a reply must repeat. Only the question is decoded: the answers are the client's business.
struct FwdQuestion {
  std::unique_ptr<ldns_rdf, FwdRdfFree> name;
  uint16_t type = 0, klass = 0, count = 0;

  static std::optional<FwdQuestion> of(std::span<const uint8_t> wire) {
    if (wire.size() < LDNS_HEADER_SIZE || LDNS_QDCOUNT(wire.data()) == 0) return std::nullopt;
    size_t pos = LDNS_HEADER_SIZE;
    ldns_rdf* name = nullptr;
    if (ldns_wire2dname(&name, wire.data(), wire.size(), &pos) != LDNS_STATUS_OK)
      return std::nullopt;
    FwdQuestion q;
    q.name.reset(name);
    if (pos + 4 > wire.size()) return std::nullopt;
    q.type = ldns_read_uint16(wire.data() + pos);
    q.klass = ldns_read_uint16(wire.data() + pos + 2);
    q.count = LDNS_QDCOUNT(wire.data());
    return q;
  }

  // `reply` is a response (QR) with ID `id` to this question (names compared case-blind).
  bool answered_by(std::span<const uint8_t> reply, uint16_t id) const {
    if (reply.size() < LDNS_HEADER_SIZE || !LDNS_QR_WIRE(reply.data()) ||
        LDNS_ID_WIRE(reply.data()) != id)
      return false;
    auto r = of(reply);
    return r && r->count == count && r->type == type && r->klass == klass &&
           ldns_dname_compare(r->name.get(), name.get()) == 0;
  }
};

// One forwarded query, from the first upstream to an answer or the end of the list. Every step
// carries the attempt it belongs to: a completion of an abandoned attempt (timed out, or closed)
// is ignored. Over UDP the query leaves through the pool's shared sockets (a fresh ID per send).
class Exchange : public UpstreamWaiter, public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::io_context& io, std::shared_ptr<UpstreamPool> pool, uint16_t port,
           std::vector<uint8_t> query, FwdQuestion question, std::vector<IpAddr> upstreams,
           size_t client_limit, Forwarder::Done done, std::shared_ptr<size_t> in_flight)
      : pool_(std::move(pool)),
        port_(port),
        query_(std::move(query)),
        question_(std::move(question)),
        ups_(std::move(upstreams)),
        limit_(client_limit),
        done_(std::move(done)),
        in_flight_(std::move(in_flight)),
        tcp_(io),
        timer_(io) {
    client_id_ = {query_[0], query_[1]};
    ++*in_flight_;
  }
  ~Exchange() override { UpstreamPool::cancel(ticket_); }

  void start() { next_upstream(); }

  void on_datagram(std::span<const uint8_t> got, bool cut) override {
    if (!cut && !question_.answered_by(got, ticket_.id)) return;  // not ours: keep waiting
    UpstreamPool::cancel(ticket_);
    if (cut || LDNS_TC_WIRE(got.data())) {
      if (!cut) truncated_.assign(got.begin(), got.end());
      return ask_tcp();
    }
    finish({got.begin(), got.end()});
  }

  void on_refused() override {
    ticket_ = {};
    failed();
  }

 private:
  void next_upstream() {
    ++attempt_;
    close_sockets();
    if (next_ >= ups_.size()) {
      // None answered in full: the truncated answer if one came, else SERVFAIL.
      finish(truncated_.empty() ? servfail_for(query_) : truncated_);
      return;
    }
    current_ = ups_[next_++];
    ticket_ = pool_->send(current_, query_, weak_from_this());
    if (!ticket_.sock) return next_upstream();
    arm_timer();
  }

  void arm_timer() {
    timer_.expires_after(Forwarder::kTimeout);
    timer_.async_wait([self = shared_from_this(), a = attempt_](boost::system::error_code ec) {
      if (!ec && a == self->attempt_) self->failed();
    });
  }

  // The current attempt ended without an answer: after TCP, or over UDP, the next upstream.
  void failed() { next_upstream(); }

  void ask_tcp() {
    ++attempt_;
    close_sockets();
    boost::system::error_code ec;
    tcp::endpoint to(to_asio(current_), port_);
    tcp_.open(to.protocol(), ec);
    if (ec) return failed();
    arm_timer();
    tcp_.async_connect(to, [self = shared_from_this(), a = attempt_](boost::system::error_code e) {
      if (a != self->attempt_) return;
      if (e) return self->failed();
      self->send_tcp();
    });
  }

  void send_tcp() {
    size_t n = query_.size();
    buf_.assign({static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
    buf_.insert(buf_.end(), query_.begin(), query_.end());
    asio::async_write(
        tcp_, asio::buffer(buf_),
        [self = shared_from_this(), a = attempt_](boost::system::error_code e, size_t) {
          if (a != self->attempt_) return;
          if (e) return self->failed();
          self->read_tcp_length();
        });
  }

  void read_tcp_length() {
    buf_.resize(2);
    asio::async_read(
        tcp_, asio::buffer(buf_),
        [self = shared_from_this(), a = attempt_](boost::system::error_code e, size_t) {
          if (a != self->attempt_) return;
          if (e) return self->failed();
          size_t len = (size_t{self->buf_[0]} << 8) | self->buf_[1];
          if (len < 12) return self->failed();
          self->read_tcp_body(len);
        });
  }

  void read_tcp_body(size_t len) {
    buf_.resize(std::min(len, kFwdMaxMessage));
    asio::async_read(
        tcp_, asio::buffer(buf_),
        [self = shared_from_this(), a = attempt_](boost::system::error_code e, size_t) {
          if (a != self->attempt_) return;
          if (e) return self->failed();
          // Over TCP the query keeps the ID its last UDP send gave it.
          if (!self->question_.answered_by(self->buf_, self->tcp_id())) return self->failed();
          // Too big for the client's UDP: it gets the truncated one, and asks over TCP.
          if (self->buf_.size() > self->limit_ && !self->truncated_.empty())
            return self->finish(self->truncated_);
          self->finish(self->buf_);
        });
  }

  uint16_t tcp_id() const { return static_cast<uint16_t>((query_[0] << 8) | query_[1]); }

  void close_sockets() {
    boost::system::error_code ec;
    UpstreamPool::cancel(ticket_);
    tcp_.close(ec);
  }

  void finish(std::vector<uint8_t> reply) {
    if (finished_) return;
    finished_ = true;
    ++attempt_;
    close_sockets();
    timer_.cancel();
    --*in_flight_;
    if (reply.size() >= 2) {
      reply[0] = client_id_[0];
      reply[1] = client_id_[1];
    }
    done_(std::move(reply));
  }

  std::shared_ptr<UpstreamPool> pool_;
  uint16_t port_;
  UpstreamPool::Ticket ticket_;
  std::vector<uint8_t> query_;  // its ID: the one the pool gave it last
  FwdQuestion question_;
  std::vector<IpAddr> ups_;
  size_t limit_;
  Forwarder::Done done_;
  std::shared_ptr<size_t> in_flight_;
  tcp::socket tcp_;
  asio::steady_timer timer_;
  std::array<uint8_t, 2> client_id_{};
  size_t next_ = 0;
  IpAddr current_;
  uint64_t attempt_ = 0;
  bool finished_ = false;
  std::vector<uint8_t> buf_;
  std::vector<uint8_t> truncated_;  // a TC answer of the current upstream, ID not yet restored
};

}  // namespace

void Forwarder::forward(std::span<const uint8_t> query, const std::vector<IpAddr>& upstreams,
                        bool udp_client, Done done) {
  auto question = FwdQuestion::of(query);
  if (!question || upstreams.empty() || *in_flight_ >= max_) {
    done(servfail_for(query));
    return;
  }
  size_t limit = udp_client ? udp_limit(query) : kFwdMaxMessage;
  auto x = std::make_shared<Exchange>(
      io_, pool_, port_, std::vector<uint8_t>(query.begin(), query.end()), std::move(*question),
      upstreams, limit, std::move(done), in_flight_);
  x->start();
}

}  // namespace cnm::dns

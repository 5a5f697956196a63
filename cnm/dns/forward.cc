#include "cnm/dns/forward.h"

#include <stdlib.h>
#include <sys/socket.h>

#include <memory>

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

constexpr size_t kFwdUdpBuffer = 4096;  // larger datagrams count as truncated: asked over TCP
constexpr size_t kFwdMaxMessage = 65535;

struct FwdPktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using FwdPkt = std::unique_ptr<ldns_pkt, FwdPktFree>;

FwdPkt parse_fwd(std::span<const uint8_t> wire) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, wire.data(), wire.size()) != LDNS_STATUS_OK) return nullptr;
  return FwdPkt(p);
}

bool same_question(const ldns_pkt* a, const ldns_pkt* b) {
  const ldns_rr_list* qa = ldns_pkt_question(a);
  const ldns_rr_list* qb = ldns_pkt_question(b);
  size_t n = ldns_rr_list_rr_count(qa);
  if (n != ldns_rr_list_rr_count(qb)) return false;
  for (size_t i = 0; i < n; ++i) {
    const ldns_rr* x = ldns_rr_list_rr(qa, i);
    const ldns_rr* y = ldns_rr_list_rr(qb, i);
    if (ldns_rr_get_type(x) != ldns_rr_get_type(y) ||
        ldns_rr_get_class(x) != ldns_rr_get_class(y) ||
        ldns_dname_compare(ldns_rr_owner(x), ldns_rr_owner(y)) != 0)
      return false;
  }
  return true;
}

// One forwarded query, from the first upstream to an answer or the end of the list. Every step
// carries the attempt it belongs to: a completion of an abandoned attempt (timed out, or closed)
// is ignored.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::io_context& io, std::vector<uint8_t> query, FwdPkt parsed,
           std::vector<IpAddr> upstreams, size_t client_limit, Forwarder::Done done,
           std::shared_ptr<size_t> in_flight)
      : query_(std::move(query)),
        parsed_(std::move(parsed)),
        ups_(std::move(upstreams)),
        limit_(client_limit),
        done_(std::move(done)),
        in_flight_(std::move(in_flight)),
        udp_(io),
        tcp_(io),
        timer_(io) {
    client_id_ = {query_[0], query_[1]};
    uint32_t id = arc4random() & 0xffff;  // unpredictable: a spoofed reply must guess it
    query_[0] = static_cast<uint8_t>(id >> 8);
    query_[1] = static_cast<uint8_t>(id);
    id_ = static_cast<uint16_t>(id);
    ++*in_flight_;
  }

  void start() { next_upstream(); }

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
    boost::system::error_code ec;
    udp::endpoint to(to_asio(current_), 53);
    udp_.open(to.protocol(), ec);
    if (!ec) udp_.non_blocking(true, ec);
    if (!ec) udp_.connect(to, ec);
    if (!ec) udp_.send(asio::buffer(query_), 0, ec);
    if (ec) return next_upstream();
    arm_timer();
    buf_.resize(kFwdUdpBuffer);
    wait_udp();
  }

  void arm_timer() {
    timer_.expires_after(Forwarder::kTimeout);
    timer_.async_wait([self = shared_from_this(), a = attempt_](boost::system::error_code ec) {
      if (!ec && a == self->attempt_) self->failed();
    });
  }

  // The current attempt ended without an answer: after TCP, or over UDP, the next upstream.
  void failed() { next_upstream(); }

  void wait_udp() {
    udp_.async_wait(udp::socket::wait_read,
                    [self = shared_from_this(), a = attempt_](boost::system::error_code ec) {
                      if (a != self->attempt_) return;
                      if (ec) return self->failed();
                      self->read_udp();
                    });
  }

  void read_udp() {
    ssize_t n = ::recv(udp_.native_handle(), buf_.data(), buf_.size(), MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return wait_udp();
      return failed();  // refused (ICMP unreachable), or worse
    }
    bool too_big = static_cast<size_t>(n) > buf_.size();
    std::span<const uint8_t> got(buf_.data(), std::min(static_cast<size_t>(n), buf_.size()));
    FwdPkt reply = too_big ? nullptr : parse_fwd(got);
    if (!too_big && !matches(reply.get())) return wait_udp();  // not ours: keep waiting
    if (too_big || ldns_pkt_tc(reply.get())) {
      if (!too_big) truncated_.assign(got.begin(), got.end());
      return ask_tcp();
    }
    finish({got.begin(), got.end()});
  }

  bool matches(const ldns_pkt* reply) const {
    return reply != nullptr && ldns_pkt_id(reply) == id_ && ldns_pkt_qr(reply) &&
           same_question(reply, parsed_.get());
  }

  void ask_tcp() {
    ++attempt_;
    close_sockets();
    boost::system::error_code ec;
    tcp::endpoint to(to_asio(current_), 53);
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
          FwdPkt reply = parse_fwd(self->buf_);
          if (!self->matches(reply.get())) return self->failed();
          // Too big for the client's UDP: it gets the truncated one, and asks over TCP.
          if (self->buf_.size() > self->limit_ && !self->truncated_.empty())
            return self->finish(self->truncated_);
          self->finish(self->buf_);
        });
  }

  void close_sockets() {
    boost::system::error_code ec;
    udp_.close(ec);
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

  std::vector<uint8_t> query_;
  FwdPkt parsed_;
  std::vector<IpAddr> ups_;
  size_t limit_;
  Forwarder::Done done_;
  std::shared_ptr<size_t> in_flight_;
  udp::socket udp_;
  tcp::socket tcp_;
  asio::steady_timer timer_;
  std::array<uint8_t, 2> client_id_{};
  uint16_t id_ = 0;
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
  FwdPkt parsed = parse_fwd(query);
  if (parsed == nullptr || upstreams.empty() || *in_flight_ >= max_) {
    done(servfail_for(query));
    return;
  }
  size_t limit = udp_client ? udp_limit(query) : kFwdMaxMessage;
  auto x =
      std::make_shared<Exchange>(io_, std::vector<uint8_t>(query.begin(), query.end()),
                                 std::move(parsed), upstreams, limit, std::move(done), in_flight_);
  x->start();
}

}  // namespace cnm::dns

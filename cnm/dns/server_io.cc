// The server's sockets: port 53 of each listen address, UDP in batches, TCP per connection.
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "cnm/dns/answer.h"
#include "cnm/dns/conn.h"
#include "cnm/dns/server_impl.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

namespace cnm::dns::server_detail {
namespace {

template <class Socket>
void set_freebind(Socket& s, bool v6, boost::system::error_code& ec) {
  int one = 1;
  // The gateway address may not be up yet (a bridge just made, IPv6 still tentative).
  int rc = v6 ? setsockopt(s.native_handle(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one)
              : setsockopt(s.native_handle(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
  if (rc != 0) ec.assign(errno, boost::system::system_category());
}

}  // namespace

boost::system::error_code Server::bind(Listener& l) {
  boost::system::error_code ec;
  udp::endpoint ue(to_asio(l.addr), 53);
  tcp::endpoint te(ue.address(), 53);
  bool v6 = l.addr.is_v6();
  l.sock.open(ue.protocol(), ec);
  if (!ec) set_freebind(l.sock, v6, ec);
  if (!ec && v6) l.sock.set_option(asio::ip::v6_only(true), ec);
  if (!ec) l.sock.bind(ue, ec);
  if (!ec) l.sock.non_blocking(true, ec);  // a reply that finds the buffer full is dropped
  if (!ec) l.acceptor.open(te.protocol(), ec);
  if (!ec) l.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) set_freebind(l.acceptor, v6, ec);
  if (!ec && v6) l.acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) l.acceptor.bind(te, ec);
  if (!ec) l.acceptor.listen(static_cast<int>(opt_.limits.max_tcp), ec);
  return ec;
}

// Waits until the socket is readable, then answers what waits there, a batch at a time. After a
// full batch it lets the other listeners' handlers run before reading on (asio::post), since the
// socket may hold more than one batch and no new readiness would come for it.
void Server::receive(std::shared_ptr<Listener> l) {
  l->sock.async_wait(udp::socket::wait_read, [this, l](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || !l->sock.is_open()) return;
    if (!ec && serve_batch(l)) {
      asio::post(io_, [this, l] {
        if (l->sock.is_open()) receive(l);
      });
      return;
    }
    receive(l);
  });
}

bool Server::serve_batch(const std::shared_ptr<Listener>& l) {
  int fd = l->sock.native_handle();
  size_t n = l->batch.receive(fd);
  if (n == 0) return false;
  // Looked at after the batch was read: every query in it was sent after anything its sender
  // waited for (a `run -d` that returned) was committed.
  if (auto r = refresh(false); !r && !zone_) return n == UdpBatch::kBatch;
  auto now = Clock::now();
  std::optional<std::vector<IpAddr>> targets;  // the upstreams, looked up once per batch
  for (size_t i = 0; i < n && l->sock.is_open(); ++i) {
    IpAddr source = l->batch.source(i);
    if (!limiter_.allow(source, now)) continue;
    auto query = l->batch.data(i);
    switch (answer_now(query, l->addr, source, true, out_)) {
      case Next::kReply:
        l->batch.queue(i, out_);
        break;
      case Next::kForward: {
        udp::endpoint to = l->batch.peer(i);
        if (!targets) targets = forward_targets();
        forwarder_.forward(query, *targets, true, [this, l, to](std::vector<uint8_t> reply) {
          send_forwarded(l, to, std::move(reply));
        });
        break;
      }
      case Next::kDrop:
        break;
    }
  }
  if (l->sock.is_open()) l->batch.flush(fd);
  return n == UdpBatch::kBatch;
}

void Server::send_forwarded(const std::shared_ptr<Listener>& l, const udp::endpoint& to,
                            std::vector<uint8_t> reply) {
  l->forwarded.add(to, std::move(reply));
  if (l->flush_posted) return;
  l->flush_posted = true;
  asio::post(io_, [l] {
    l->flush_posted = false;
    if (l->sock.is_open()) l->forwarded.flush(l->sock.native_handle());
  });
}

Server::Next Server::answer_now(std::span<const uint8_t> query, const IpAddr& local,
                                const IpAddr& source, bool udp, std::vector<uint8_t>& out) {
  const Zone::Scope* scope = udp ? zone_->scope(local, source) : nullptr;
  if (udp) {
    if (const auto* hit = cache_.find(scope, query)) {
      if (hit->empty()) return Next::kForward;
      out.assign(hit->begin(), hit->end());
      std::copy_n(query.begin(), 2, out.begin());  // the query's own ID
      return Next::kReply;
    }
  }
  Outcome o = answer(*zone_, query, local, source);
  switch (o.action) {
    case Action::kReply:
      out = udp ? fit_udp(query, std::move(o.wire)) : std::move(o.wire);
      if (udp) cache_.put(scope, query, out);
      return out.empty() ? Next::kDrop : Next::kReply;
    case Action::kForward:
      if (udp) cache_.put_forward(scope, query);
      return Next::kForward;
    case Action::kDrop:
      break;
  }
  return Next::kDrop;
}

void Server::accept(std::shared_ptr<Listener> l) {
  l->acceptor.async_accept([this, l](boost::system::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || !l->acceptor.is_open()) return;
    if (!ec && !tcp_full()) {
      boost::system::error_code e;
      auto peer = s.remote_endpoint(e);
      if (!e) {
        auto handler = [this, local = l->addr, source = from_asio(peer.address())](
                           std::span<const uint8_t> q, Forwarder::Done reply) {
          return handle(q, local, source, std::move(reply));
        };
        serve_tcp(std::move(s), std::move(handler), opt_.limits.tcp_idle, tcp_count_);
      }
    }
    accept(l);  // a connection beyond max_tcp is closed as `s` goes out of scope
  });
}

bool Server::handle(std::span<const uint8_t> query, const IpAddr& local, const IpAddr& source,
                    Forwarder::Done reply) {
  if (!limiter_.allow(source, Clock::now())) return false;
  if (auto r = refresh(false); !r && !zone_) return false;
  std::vector<uint8_t> out;
  switch (answer_now(query, local, source, false, out)) {
    case Next::kReply:
      reply(std::move(out));
      return true;
    case Next::kForward:
      forwarder_.forward(query, forward_targets(), false, std::move(reply));
      return true;
    case Next::kDrop:
      break;
  }
  return false;
}

// The upstreams, without our own addresses: a query must not come back to us.
std::vector<IpAddr> Server::forward_targets() {
  std::vector<IpAddr> out;
  for (const auto& a : upstreams_.get())
    if (!listeners_.contains(a)) out.push_back(a);
  return out;
}

}  // namespace cnm::dns::server_detail

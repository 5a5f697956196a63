#include "cnm/dns/upstream_pool.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>

#include "cnm/dns/forward.h"

namespace cnm::dns {
namespace asio = boost::asio;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

namespace {

// Every waiter of `s` is told that no reply will come (the map is emptied first: a waiter moves on
// to its next upstream at once, through this pool).
void refuse_all(UpstreamPool::Socket& s) {
  s.retired = true;
  auto waiters = std::move(s.pending);
  s.pending.clear();
  s.close_if_idle();
  for (auto& [id, weak] : waiters)
    if (auto w = weak.lock()) w->on_refused();
}

void dispatch(UpstreamPool::Socket& s, std::span<const uint8_t> msg, bool cut) {
  if (msg.size() < 12) return;
  auto it = s.pending.find(static_cast<uint16_t>((msg[0] << 8) | msg[1]));
  if (it == s.pending.end()) return;  // late (its waiter moved on), or no reply of ours
  auto w = it->second.lock();
  if (!w) {
    s.pending.erase(it);
    return;
  }
  w->on_datagram(msg, cut);  // the waiter cancels its ticket when it takes the reply
}

}  // namespace

void UpstreamPool::Socket::close_if_idle() {
  boost::system::error_code ec;
  if (retired && pending.empty() && sock.is_open()) sock.close(ec);
}

uint16_t UpstreamPool::random_id() {
  if (ids_left_ == 0) {
    // One getrandom per 128 IDs (glibc 2.36's arc4random makes a system call per value).
    if (getrandom(ids_.data(), sizeof ids_, 0) != static_cast<ssize_t>(sizeof ids_))
      for (auto& v : ids_) v = static_cast<uint16_t>(arc4random());
    ids_left_ = ids_.size();
  }
  return ids_[--ids_left_];
}

std::shared_ptr<UpstreamPool::Socket> UpstreamPool::active_for(const IpAddr& upstream) {
  auto now = Clock::now();
  auto it = active_.find(upstream);
  if (it != active_.end()) {
    auto& s = *it->second;
    if (s.sock.is_open() && !s.retired && s.uses < kUses && now - s.born < kMaxAge)
      return it->second;
    s.retired = true;
    s.close_if_idle();
    active_.erase(it);
  }
  // Sockets of upstreams no longer asked (resolv.conf changed) go once idle and old.
  std::erase_if(active_, [&](const auto& kv) {
    auto& s = *kv.second;
    if (!s.pending.empty() || now - s.born < kMaxAge) return false;
    s.retired = true;
    s.close_if_idle();
    return true;
  });
  auto s = std::make_shared<Socket>(io_, open_);
  boost::system::error_code ec;
  udp::endpoint to(to_asio(upstream), port_);
  s->sock.open(to.protocol(), ec);
  if (!ec) s->sock.non_blocking(true, ec);
  if (!ec) s->sock.connect(to, ec);  // the kernel picks a random source port
  if (ec) return nullptr;
  s->born = now;
  active_.emplace(upstream, s);
  return s;
}

UpstreamPool::Ticket UpstreamPool::send(const IpAddr& upstream, std::span<uint8_t> query,
                                        std::weak_ptr<UpstreamWaiter> w) {
  auto s = active_for(upstream);
  if (!s || query.size() < 12) return {};
  uint16_t id = random_id();
  while (s->pending.contains(id)) id = random_id();  // at most kUses are pending
  query[0] = static_cast<uint8_t>(id >> 8);
  query[1] = static_cast<uint8_t>(id);
  ssize_t n;
  do {
    n = ::send(s->sock.native_handle(), query.data(), query.size(), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  ++s->uses;
  if (n < 0) {
    // ECONNREFUSED reports an earlier query's ICMP error: the upstream refuses them all.
    if (errno == ECONNREFUSED) refuse_all(*s);
    return {};
  }
  s->pending.emplace(id, std::move(w));
  if (!s->waiting) wait(s);
  return {s, id};
}

void UpstreamPool::cancel(Ticket& t) {
  if (!t.sock) return;
  t.sock->pending.erase(t.id);
  t.sock->close_if_idle();
  t.sock.reset();
}

void UpstreamPool::wait(std::shared_ptr<Socket> s) {
  s->waiting = true;
  s->sock.async_wait(udp::socket::wait_read, [this, s](boost::system::error_code ec) {
    s->waiting = false;
    if (!ec && s->sock.is_open()) read(s);
  });
}

// Reads a batch of replies and hands each to its waiter. After a full batch it lets other handlers
// run before reading on (asio::post): the socket may hold more.
void UpstreamPool::read(const std::shared_ptr<Socket>& s) {
  size_t n = batch_.receive(s->sock.native_handle());
  if (n == 0 && batch_.error() != 0) return refuse_all(*s);
  for (size_t i = 0; i < n; ++i) dispatch(*s, batch_.data(i), batch_.cut(i));
  s->close_if_idle();
  if (!s->sock.is_open()) return;
  if (n < UdpBatch::kBatch) return wait(s);
  s->waiting = true;
  asio::post(io_, [this, s] {
    s->waiting = false;
    if (s->sock.is_open()) read(s);
  });
}

}  // namespace cnm::dns

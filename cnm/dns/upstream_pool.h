// The UDP sockets that forwarded queries leave by: per upstream, one connected socket shared by up
// to kUses queries, then retired for a fresh one (a new random source port). A socket and a
// conntrack flow per forward cost more than the forward itself; one socket for good would leave
// only the 16-bit ID for an off-path spoofer to guess once it learnt the port.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <unordered_map>

#include "cnm/dns/udp_batch.h"
#include "cnm/model/net.h"

namespace cnm::dns {

// Who waits for the reply to one query sent through the pool.
class UpstreamWaiter {
 public:
  virtual ~UpstreamWaiter() = default;
  // A datagram that came back with the waiter's ID (which may still be no reply to its question);
  // `cut`: it was longer than UdpBatch::kMaxDatagram and `msg` is its beginning.
  virtual void on_datagram(std::span<const uint8_t> msg, bool cut) = 0;
  // The upstream refused (ICMP port unreachable) or the socket failed: no reply will come.
  virtual void on_refused() = 0;
};

class UpstreamPool {
 public:
  static constexpr uint32_t kUses = 64;                      // queries per socket
  static constexpr std::chrono::milliseconds kMaxAge{2000};  // ... or this long, then retired

  struct Socket;
  // One query in flight: its socket and ID. Dropping it (or cancel()) stops its replies.
  struct Ticket {
    std::shared_ptr<Socket> sock;
    uint16_t id = 0;
  };

  UpstreamPool(boost::asio::io_context& io, uint16_t port) : io_(io), port_(port) {}
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Gives `query` an ID unpredictable and free on the socket (written into its first two bytes)
  // and sends it to `upstream`. Datagrams with that ID go to `w` until the ticket is cancelled.
  // An empty ticket: the send failed (the upstream refused, or no socket).
  Ticket send(const IpAddr& upstream, std::span<uint8_t> query, std::weak_ptr<UpstreamWaiter> w);
  static void cancel(Ticket& t);
  // Sockets open now (retired ones still waiting for replies included).
  size_t open_sockets() const { return *open_; }

 private:
  std::shared_ptr<Socket> active_for(const IpAddr& upstream);
  void wait(std::shared_ptr<Socket> s);
  void read(const std::shared_ptr<Socket>& s);
  uint16_t random_id();

  boost::asio::io_context& io_;
  uint16_t port_;
  std::map<IpAddr, std::shared_ptr<Socket>> active_;
  std::shared_ptr<size_t> open_ = std::make_shared<size_t>(0);
  UdpBatch batch_;  // replies are read into it, one socket's batch at a time
  std::array<uint16_t, 128> ids_{};
  size_t ids_left_ = 0;
};

struct UpstreamPool::Socket {
  Socket(boost::asio::io_context& io, std::shared_ptr<size_t> n) : sock(io), open(std::move(n)) {
    ++*open;
  }
  ~Socket() { --*open; }
  void close_if_idle();

  boost::asio::ip::udp::socket sock;
  std::shared_ptr<size_t> open;
  std::unordered_map<uint16_t, std::weak_ptr<UpstreamWaiter>> pending;
  uint32_t uses = 0;
  std::chrono::steady_clock::time_point born;
  bool retired = false;
  bool waiting = false;
};

}  // namespace cnm::dns

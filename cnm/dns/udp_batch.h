// Datagrams in batches (recvmmsg/sendmmsg): under load one system call moves up to kBatch queries
// or replies, where one recvfrom, one sendto and one epoll round per query cost more than the
// answer itself.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <span>
#include <vector>

#include "cnm/model/net.h"

namespace cnm::dns {

class UdpBatch {
 public:
  static constexpr size_t kBatch = 32;
  static constexpr size_t kMaxDatagram = 4096;  // bigger datagrams are no query of ours: cut

  UdpBatch();
  UdpBatch(const UdpBatch&) = delete;
  UdpBatch& operator=(const UdpBatch&) = delete;

  // Reads the datagrams waiting on `fd` (non-blocking), at most kBatch; forgets the previous
  // batch and its queued replies. Returns how many (0: none waiting, or an error).
  size_t receive(int fd);
  // The errno of the last receive() that failed (0 when it read, or nothing was waiting).
  int error() const { return error_; }
  std::span<const uint8_t> data(size_t i) const { return {bufs_[i].data(), sizes_[i]}; }
  // Whether datagram i was longer than kMaxDatagram (data(i) holds its beginning).
  bool cut(size_t i) const { return cut_[i]; }
  // Where datagram i came from, and its address (IPv4-mapped IPv6 sources read as IPv4).
  boost::asio::ip::udp::endpoint peer(size_t i) const;
  IpAddr source(size_t i) const;

  // Queues `reply` (copied) for datagram i's sender; flush() sends what is queued.
  void queue(size_t i, std::span<const uint8_t> reply);
  // Sends the queued replies in one sendmmsg where it can; a reply that finds the socket's buffer
  // full is dropped, as a lost datagram (the client asks again).
  void flush(int fd);

 private:
  std::vector<std::array<uint8_t, kMaxDatagram>> bufs_;
  std::array<size_t, kBatch> sizes_{};
  std::array<bool, kBatch> cut_{};
  std::array<sockaddr_storage, kBatch> peers_{};
  std::array<socklen_t, kBatch> peer_lens_{};
  std::array<std::vector<uint8_t>, kBatch> replies_;  // capacity kept between batches
  std::array<size_t, kBatch> reply_to_{};
  size_t replies_n_ = 0;
  int error_ = 0;
};

// Replies that come back from the upstreams for one listener's clients, queued while handlers run
// and sent together with sendmmsg by one handler posted after them: a batch of upstream replies
// costs one send system call instead of one each.
class UdpOutbox {
 public:
  void add(const boost::asio::ip::udp::endpoint& to, std::vector<uint8_t> reply);
  bool empty() const { return items_.empty(); }
  // Sends what is queued, UdpBatch::kBatch per sendmmsg; a reply that fails is dropped, as a lost
  // datagram would be.
  void flush(int fd);

 private:
  std::vector<std::pair<boost::asio::ip::udp::endpoint, std::vector<uint8_t>>> items_;
};

}  // namespace cnm::dns

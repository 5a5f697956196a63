#include "cnm/dns/udp_batch.h"

#include <errno.h>

#include <algorithm>
#include <cstring>

#include "cnm/dns/forward.h"

namespace cnm::dns {

UdpBatch::UdpBatch() : bufs_(kBatch) {}

size_t UdpBatch::receive(int fd) {
  replies_n_ = 0;
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  for (size_t i = 0; i < kBatch; ++i) {
    iov[i] = {bufs_[i].data(), kMaxDatagram};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &peers_[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
  int n;
  do {
    n = recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  error_ = n < 0 && errno != EAGAIN && errno != EWOULDBLOCK ? errno : 0;
  if (n <= 0) return 0;
  for (int i = 0; i < n; ++i) {
    // A datagram cut to the buffer (MSG_TRUNC) is read as what fits: the answer path refuses it.
    sizes_[i] = std::min<size_t>(msgs[i].msg_len, kMaxDatagram);
    cut_[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    peer_lens_[i] = msgs[i].msg_hdr.msg_namelen;
  }
  return static_cast<size_t>(n);
}

boost::asio::ip::udp::endpoint UdpBatch::peer(size_t i) const {
  boost::asio::ip::udp::endpoint e;
  size_t n = std::min<size_t>(peer_lens_[i], e.capacity());
  std::memcpy(e.data(), &peers_[i], n);
  e.resize(n);
  return e;
}

IpAddr UdpBatch::source(size_t i) const { return from_asio(peer(i).address()); }

void UdpBatch::queue(size_t i, std::span<const uint8_t> reply) {
  if (replies_n_ == kBatch || reply.empty()) return;
  replies_[replies_n_].assign(reply.begin(), reply.end());
  reply_to_[replies_n_++] = i;
}

void UdpBatch::flush(int fd) {
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  for (size_t k = 0; k < replies_n_; ++k) {
    size_t i = reply_to_[k];
    iov[k] = {replies_[k].data(), replies_[k].size()};
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
    msgs[k].msg_hdr.msg_name = &peers_[i];
    msgs[k].msg_hdr.msg_namelen = peer_lens_[i];
  }
  size_t sent = 0;
  while (sent < replies_n_) {
    int n =
        sendmmsg(fd, msgs.data() + sent, static_cast<unsigned>(replies_n_ - sent), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    // An error stops at the reply it concerns: skip that one (dropped) and send the rest.
    sent += n > 0 ? static_cast<size_t>(n) : 1;
  }
  replies_n_ = 0;
}

void UdpOutbox::add(const boost::asio::ip::udp::endpoint& to, std::vector<uint8_t> reply) {
  if (!reply.empty()) items_.emplace_back(to, std::move(reply));
}

void UdpOutbox::flush(int fd) {
  std::array<mmsghdr, UdpBatch::kBatch> msgs{};
  std::array<iovec, UdpBatch::kBatch> iov{};
  for (size_t base = 0; base < items_.size(); base += UdpBatch::kBatch) {
    size_t n = std::min(UdpBatch::kBatch, items_.size() - base);
    for (size_t k = 0; k < n; ++k) {
      auto& [to, reply] = items_[base + k];
      iov[k] = {reply.data(), reply.size()};
      msgs[k].msg_hdr = {};
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
      msgs[k].msg_hdr.msg_name = to.data();
      msgs[k].msg_hdr.msg_namelen = static_cast<socklen_t>(to.size());
    }
    size_t sent = 0;
    while (sent < n) {
      int r = sendmmsg(fd, msgs.data() + sent, static_cast<unsigned>(n - sent), MSG_DONTWAIT);
      if (r < 0 && errno == EINTR) continue;
      sent += r > 0 ? static_cast<size_t>(r) : 1;  // skip the one that failed
    }
  }
  items_.clear();
}

}  // namespace cnm::dns

#include "cnm/dns/udp_batch.h"

#include <errno.h>

#include <cstring>

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
  if (n <= 0) return 0;
  for (int i = 0; i < n; ++i) {
    // A datagram cut to the buffer (MSG_TRUNC) is read as what fits: the answer path refuses it.
    sizes_[i] = std::min<size_t>(msgs[i].msg_len, kMaxDatagram);
    peer_lens_[i] = msgs[i].msg_hdr.msg_namelen;
  }
  return static_cast<size_t>(n);
}

IpAddr UdpBatch::source(size_t i) const {
  const auto& ss = peers_[i];
  if (ss.ss_family == AF_INET) {
    const auto& sa = reinterpret_cast<const sockaddr_in&>(ss);
    return IpAddr::v4(ntohl(sa.sin_addr.s_addr));
  }
  const auto& sa6 = reinterpret_cast<const sockaddr_in6&>(ss);
  const uint8_t* b = sa6.sin6_addr.s6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&sa6.sin6_addr))
    return IpAddr::v4(uint32_t(b[12]) << 24 | uint32_t(b[13]) << 16 | uint32_t(b[14]) << 8 | b[15]);
  u128 v = 0;
  for (size_t k = 0; k < 16; ++k) v = v << 8 | b[k];
  return IpAddr::from_value(true, v);
}

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

}  // namespace cnm::dns

// The DNS server's fast path: the reply cache (a repeated query from the same scope gets the
// same bytes with its own ID; nothing else matches) and UDP batches (recvmmsg/sendmmsg over a
// datagram socket pair: every datagram read once, every queued reply delivered in order).
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cnm/dns/answer_cache.h"
#include "cnm/dns/udp_batch.h"

namespace {

// A query-shaped byte string: ID, then `tail` bytes standing for flags, counts and question.
std::vector<uint8_t> dns_batch_msg(uint16_t id, uint8_t tail, size_t len = 30) {
  std::vector<uint8_t> m(len, tail);
  m[0] = static_cast<uint8_t>(id >> 8);
  m[1] = static_cast<uint8_t>(id);
  return m;
}

struct DnsBatchPair {
  int fd[2] = {-1, -1};
  DnsBatchPair() { REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fd) == 0); }
  ~DnsBatchPair() {
    close(fd[0]);
    close(fd[1]);
  }
};

}  // namespace

TEST_CASE("dns cache: a hit needs the same scope and the same query bytes after the ID") {
  cnm::dns::AnswerCache c;
  cnm::dns::Zone::Scope s1{1}, s2{1};
  auto q = dns_batch_msg(7, 0x11), reply = dns_batch_msg(7, 0x99, 60);
  CHECK(c.find(&s1, q) == nullptr);
  c.put(&s1, q, reply);
  auto other_id = dns_batch_msg(4242, 0x11);
  const auto* hit = c.find(&s1, other_id);
  REQUIRE(hit != nullptr);
  CHECK(*hit == reply);                                   // the caller puts the query's ID in
  CHECK(c.find(&s2, other_id) == nullptr);                // another namespace's scope
  CHECK(c.find(nullptr, other_id) == nullptr);            // a source that is no endpoint
  CHECK(c.find(&s1, dns_batch_msg(7, 0x12)) == nullptr);  // one byte differs
  CHECK(c.find(&s1, dns_batch_msg(7, 0x11, 31)) == nullptr);
  c.clear();
  CHECK(c.find(&s1, q) == nullptr);
  CHECK(c.bytes() == 0);
}

TEST_CASE("dns cache: stays within its bytes, and long queries are not kept") {
  cnm::dns::AnswerCache c;
  cnm::dns::Zone::Scope s{1};
  auto reply = dns_batch_msg(1, 0x55, 400);
  size_t most = 0;
  for (uint32_t i = 0; i < 5000; ++i) {
    auto q = dns_batch_msg(1, 0, 40);
    std::memcpy(q.data() + 4, &i, sizeof i);
    c.put(&s, q, reply);
    most = std::max(most, c.bytes());
  }
  CHECK(most <= cnm::dns::AnswerCache::kMaxBytes);
  CHECK(c.size() > 0);
  auto long_q = dns_batch_msg(1, 3, cnm::dns::AnswerCache::kMaxQuery + 1);
  c.put(&s, long_q, reply);
  CHECK(c.find(&s, long_q) == nullptr);
}

TEST_CASE("dns udp batch: reads at most a batch at a time, replies go back in order") {
  DnsBatchPair p;
  constexpr size_t kSent = cnm::dns::UdpBatch::kBatch + 8;
  for (size_t i = 0; i < kSent; ++i) {
    auto m = dns_batch_msg(static_cast<uint16_t>(i), static_cast<uint8_t>(i), 12 + i);
    REQUIRE(send(p.fd[1], m.data(), m.size(), 0) == static_cast<ssize_t>(m.size()));
  }
  cnm::dns::UdpBatch b;
  REQUIRE(b.receive(p.fd[0]) == cnm::dns::UdpBatch::kBatch);
  for (size_t i = 0; i < cnm::dns::UdpBatch::kBatch; ++i) {
    REQUIRE(b.data(i).size() == 12 + i);
    CHECK(b.data(i)[1] == i);
    CHECK(b.data(i)[5] == static_cast<uint8_t>(i));
  }
  REQUIRE(b.receive(p.fd[0]) == 8);  // the rest; the first batch's are gone
  CHECK(b.data(0)[1] == cnm::dns::UdpBatch::kBatch);
  // Replies to datagrams 5 and 2 (in that order), none to the others.
  auto r5 = dns_batch_msg(500, 0xa5), r2 = dns_batch_msg(200, 0xa2, 20);
  b.queue(5, r5);
  b.queue(2, r2);
  b.flush(p.fd[0]);
  std::vector<uint8_t> got(64);
  REQUIRE(recv(p.fd[1], got.data(), got.size(), MSG_DONTWAIT) == static_cast<ssize_t>(r5.size()));
  CHECK(std::vector(got.begin(), got.begin() + r5.size()) == r5);
  REQUIRE(recv(p.fd[1], got.data(), got.size(), MSG_DONTWAIT) == static_cast<ssize_t>(r2.size()));
  CHECK(std::vector(got.begin(), got.begin() + r2.size()) == r2);
  CHECK(recv(p.fd[1], got.data(), got.size(), MSG_DONTWAIT) < 0);  // nothing else was sent
  CHECK(b.receive(p.fd[0]) == 0);                                  // nothing waits
}

TEST_CASE("dns cache: a kept forward decision reads as an empty reply, until cleared") {
  cnm::dns::AnswerCache c;
  cnm::dns::Zone::Scope s1{1}, s2{1};
  auto q = dns_batch_msg(9, 0x21);
  c.put_forward(&s1, q);
  const auto* hit = c.find(&s1, dns_batch_msg(77, 0x21));  // another ID, the same question
  REQUIRE(hit != nullptr);
  CHECK(hit->empty());
  CHECK(c.find(&s2, q) == nullptr);  // another namespace decides for itself
  c.clear();
  CHECK(c.find(&s1, q) == nullptr);  // a zone rebuild forgets it: the name may be local now
}

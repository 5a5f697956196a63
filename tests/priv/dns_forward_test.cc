// netctl-dns's forwarding over real sockets in a fresh namespace (upstreams on its loopback): the
// pool's shared upstream sockets rotate (no port carries more than kUses queries), every client
// gets its own ID back, a reply with another ID or question or from another port is ignored, an
// upstream that refuses (ICMP) hands every query waiting on it to the next one at once, and no
// socket stays open once the forwards are done.
#include <doctest/doctest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <map>
#include <set>
#include <vector>

#include "cnm/dns/forward.h"
#include "cnm/dns/ldns.h"
#include "tests/literals.h"
#include "tests/priv/priv.h"

namespace {
namespace asio = boost::asio;
using asio::ip::udp;
using cnm::dns::Forwarder;
using cnm::dns::UpstreamPool;
using cnm::testing::ip;

constexpr uint16_t kFwdTestPort = 5300;
using FwdDatagrams = std::vector<std::vector<uint8_t>>;

std::vector<uint8_t> fwd_test_query(const std::string& name, uint16_t id) {
  ldns_rdf* dname = ldns_dname_new_frm_str(name.c_str());
  ldns_pkt* p = ldns_pkt_query_new(dname, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
  ldns_pkt_set_id(p, id);
  uint8_t* wire = nullptr;
  size_t n = 0;
  REQUIRE(ldns_pkt2wire(&wire, p, &n) == LDNS_STATUS_OK);
  std::vector<uint8_t> out(wire, wire + n);
  free(wire);
  ldns_pkt_free(p);
  return out;
}

// A reply made of the query: QR set, `rcode` in the low bits of byte 3.
std::vector<uint8_t> fwd_test_reply(std::vector<uint8_t> q, uint8_t rcode) {
  q[2] |= 0x80;
  q[3] = static_cast<uint8_t>((q[3] & 0xf0) | rcode);
  return q;
}

uint16_t fwd_test_id(const std::vector<uint8_t>& m) {
  return static_cast<uint16_t>((m[0] << 8) | m[1]);
}

// An upstream on 127.0.0.1:kFwdTestPort: `answer` decides what to send for each query (nothing,
// or datagrams in order); it records the source port and ID of every query.
struct FwdTestUpstream {
  using Answer = std::function<FwdDatagrams(const std::vector<uint8_t>&)>;
  FwdTestUpstream(asio::io_context& io, Answer a)
      : sock(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), kFwdTestPort)),
        answer(std::move(a)) {
    receive();
  }
  void receive() {
    buf.resize(4096);
    sock.async_receive_from(asio::buffer(buf), from,
                            [this](boost::system::error_code ec, size_t n) {
                              if (ec) return;
                              std::vector<uint8_t> q(buf.begin(), buf.begin() + n);
                              ports.push_back(from.port());
                              ids.push_back(fwd_test_id(q));
                              for (const auto& d : answer(q)) sock.send_to(asio::buffer(d), from);
                              receive();
                            });
  }
  udp::socket sock;
  Answer answer;
  udp::endpoint from;
  std::vector<uint8_t> buf;
  std::vector<uint16_t> ports, ids;
};

void fwd_test_run_until(asio::io_context& io, const std::function<bool()>& done,
                        std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end)
    io.run_for(std::chrono::milliseconds(5));
}

}  // namespace

TEST_CASE("dns forward: shared upstream sockets rotate, each client gets its own ID back") {
  priv::FreshNetns ns;
  asio::io_context io;
  FwdTestUpstream up(
      io, [](const std::vector<uint8_t>& q) { return FwdDatagrams{fwd_test_reply(q, 0)}; });
  Forwarder fwd(io, 64, kFwdTestPort);
  constexpr int kQueries = 300;
  std::map<uint16_t, std::vector<uint8_t>> got;
  int sent = 0;
  // 30 at a time: many share a socket while in flight.
  std::function<void()> more = [&] {
    uint16_t id = static_cast<uint16_t>(1000 + sent++);
    fwd.forward(fwd_test_query("a.example.", id), {ip("127.0.0.1")}, true,
                [&, id](std::vector<uint8_t> r) {
                  got[id] = std::move(r);
                  if (sent < kQueries) more();
                });
  };
  for (int i = 0; i < 30; ++i) more();
  fwd_test_run_until(
      io, [&] { return got.size() == kQueries; }, std::chrono::seconds(10));
  REQUIRE(got.size() == kQueries);
  for (const auto& [id, r] : got) {
    REQUIRE(r.size() > 12);
    CHECK(fwd_test_id(r) == id);  // the client's ID, not the one sent upstream
    CHECK((r[3] & 0x0f) == 0);    // the upstream's answer, not a SERVFAIL
  }
  std::map<uint16_t, int> per_port;
  for (auto p : up.ports) ++per_port[p];
  CHECK(per_port.size() >= kQueries / UpstreamPool::kUses);
  for (const auto& [port, n] : per_port) CHECK(n <= static_cast<int>(UpstreamPool::kUses));
  std::set<uint16_t> upstream_ids(up.ids.begin(), up.ids.end());
  CHECK(upstream_ids.size() > kQueries * 9 / 10);  // random IDs, not the clients' 1000..1299
  CHECK(fwd.in_flight() == 0);
  CHECK(fwd.pool().open_sockets() <= 1);  // retired sockets closed once their replies came
}

TEST_CASE("dns forward: replies with another ID, question or source port are ignored") {
  priv::FreshNetns ns;
  asio::io_context io;
  udp::socket spoofer(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  FwdTestUpstream up(io, [&](const std::vector<uint8_t>& q) {
    auto wrong_id = fwd_test_reply(q, 3);
    wrong_id[1] ^= 0x5a;
    auto other_question = fwd_test_reply(fwd_test_query("b.example.", fwd_test_id(q)), 3);
    // Right ID and question, from another port: the connected socket never delivers it.
    spoofer.send_to(asio::buffer(fwd_test_reply(q, 3)), up.from);
    return FwdDatagrams{wrong_id, other_question, fwd_test_reply(q, 0)};
  });
  Forwarder fwd(io, 64, kFwdTestPort);
  std::vector<uint8_t> got;
  fwd.forward(fwd_test_query("a.example.", 7), {ip("127.0.0.1")}, true,
              [&](std::vector<uint8_t> r) { got = std::move(r); });
  fwd_test_run_until(
      io, [&] { return !got.empty(); }, std::chrono::seconds(3));
  REQUIRE(got.size() > 12);
  CHECK(fwd_test_id(got) == 7);
  CHECK((got[3] & 0x0f) == 0);  // the upstream's own reply, not one of the three before it
}

TEST_CASE("dns forward: a refusing upstream hands every waiting query to the next at once") {
  priv::FreshNetns ns;
  asio::io_context io;
  FwdTestUpstream up(
      io, [](const std::vector<uint8_t>& q) { return FwdDatagrams{fwd_test_reply(q, 0)}; });
  Forwarder fwd(io, 64, kFwdTestPort);
  // Nothing listens on 127.0.0.2: ICMP port unreachable, ECONNREFUSED on the pool's socket.
  std::vector<cnm::IpAddr> ups{ip("127.0.0.2"), ip("127.0.0.1")};
  int answered = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (uint16_t id = 1; id <= 20; ++id)
    fwd.forward(fwd_test_query("a.example.", id), ups, true, [&](std::vector<uint8_t> r) {
      if (r.size() > 12 && (r[3] & 0x0f) == 0) ++answered;
    });
  fwd_test_run_until(
      io, [&] { return answered == 20; }, std::chrono::seconds(5));
  CHECK(answered == 20);
  CHECK(std::chrono::steady_clock::now() - t0 < Forwarder::kTimeout);  // no query timed out
}

TEST_CASE("dns forward: the outbox sends what handlers queued, past a batch, each to its client") {
  priv::FreshNetns ns;
  asio::io_context io;
  auto lo = asio::ip::make_address("127.0.0.1");
  udp::socket server(io, udp::endpoint(lo, 0)), a(io, udp::endpoint(lo, 0)),
      b(io, udp::endpoint(lo, 0));
  cnm::dns::UdpOutbox box;
  constexpr int kReplies = 45;  // more than one sendmmsg's worth
  for (int i = 0; i < kReplies; ++i)
    box.add(i % 2 ? b.local_endpoint() : a.local_endpoint(),
            std::vector<uint8_t>(20, static_cast<uint8_t>(i)));
  box.add(a.local_endpoint(), {});  // nothing to send: not queued
  box.flush(server.native_handle());
  CHECK(box.empty());
  std::array<uint8_t, 64> buf{};
  for (int i = 0; i < kReplies; ++i) {
    auto& s = i % 2 ? b : a;
    size_t n = s.receive(asio::buffer(buf));
    CHECK(n == 20);
    CHECK(buf[0] == static_cast<uint8_t>(i));  // in the order queued
  }
  CHECK(a.available() == 0);
  CHECK(b.available() == 0);
}

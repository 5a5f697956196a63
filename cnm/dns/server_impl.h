// Private to cnm/dns: the server process's state (server.cc: the zone, reloads, the control
// socket and the process's life; server_io.cc: the listeners, UDP batches and TCP connections).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <map>
#include <memory>

#include "cnm/dns/answer_cache.h"
#include "cnm/dns/forward.h"
#include "cnm/dns/server.h"
#include "cnm/dns/udp_batch.h"
#include "cnm/dns/upstreams.h"
#include "cnm/dns/zone.h"
#include "cnm/model/model.h"
#include "cnm/store/store.h"

namespace cnm::dns::server_detail {
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using Unix = asio::local::stream_protocol;
using Clock = std::chrono::steady_clock;

template <class... Args>
void dns_note(fmt::format_string<Args...> f, Args&&... args) {
  fmt::print(stderr, "netctl-dns[{}] {}: {}\n", getpid(), now_rfc3339(),
             printable(fmt::format(f, std::forward<Args>(args)...)));
}

struct Listener {
  Listener(asio::io_context& io, IpAddr a) : addr(a), sock(io), acceptor(io) {}
  IpAddr addr;
  udp::socket sock;
  tcp::acceptor acceptor;
  UdpBatch batch;
  UdpOutbox forwarded;  // upstream replies for this listener's clients
  bool flush_posted = false;
};

class Server {
 public:
  Server(asio::io_context& io, std::unique_ptr<store::Store> st, const ServerOptions& o)
      : io_(io),
        store_(std::move(st)),
        opt_(o),
        limiter_(o.limits),
        forwarder_(io, o.limits.max_forwards),
        control_(io),
        poll_(io),
        exit_(io) {}

  // Reads the store again when it changed (or always, with `force`) and listens where the zone
  // says. Returns whether there is anything to serve.
  Result<bool> refresh(bool force);
  Status open_control();
  void start_poll();
  // Closes every listener and ends the process a moment later (replies being written complete).
  void shut_down();
  // Notes which store file this server serves (store_gone() compares with it).
  void remember_store();

  // Answers a TCP query; false when no reply will come (dropped), else `reply` is called, now or
  // once the upstreams answered.
  bool handle(std::span<const uint8_t> query, const IpAddr& local, const IpAddr& source,
              Forwarder::Done reply);
  std::string control(std::string_view request);
  bool tcp_full() const { return *tcp_count_ >= opt_.limits.max_tcp; }

 private:
  Status reload();
  void rebind(const std::vector<IpAddr>& want);
  boost::system::error_code bind(Listener& l);
  void receive(std::shared_ptr<Listener> l);
  // Reads and answers one batch of UDP queries; true when the batch was full (more may wait).
  bool serve_batch(const std::shared_ptr<Listener>& l);
  // Queues a forwarded reply for `to`; they are sent together once the running handlers end.
  void send_forwarded(const std::shared_ptr<Listener>& l, const udp::endpoint& to,
                      std::vector<uint8_t> reply);
  enum class Next { kDrop, kReply, kForward };
  // What to do with one query: kReply with the reply in `out` (UDP: cut to fit with fit_udp, and
  // kept in the cache), kForward, or kDrop. The zone must have been refreshed after the query
  // arrived.
  Next answer_now(std::span<const uint8_t> query, const IpAddr& local, const IpAddr& source,
                  bool udp, std::vector<uint8_t>& out);
  void accept(std::shared_ptr<Listener> l);
  void accept_control();
  std::vector<IpAddr> forward_targets();
  void write_serving();
  bool store_gone() const;

  asio::io_context& io_;
  std::unique_ptr<store::Store> store_;
  ServerOptions opt_;
  RateLimiter limiter_;
  Forwarder forwarder_;
  Upstreams upstreams_;
  std::shared_ptr<const Zone> zone_;
  AnswerCache cache_;         // replies of zone_: cleared whenever it is rebuilt
  std::vector<uint8_t> out_;  // one reply at a time, its capacity kept
  std::vector<IpAddr> want_;  // the zone's listen addresses
  int64_t version_ = -1;
  ino_t store_ino_ = 0;
  std::string last_error_;
  std::map<IpAddr, std::shared_ptr<Listener>> listeners_;
  std::shared_ptr<size_t> tcp_count_ = std::make_shared<size_t>(0);
  Unix::acceptor control_;
  asio::steady_timer poll_, exit_;
  bool stopping_ = false;
};

}  // namespace cnm::dns::server_detail

#include "cnm/dns/server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cnm/dns/answer.h"
#include "cnm/dns/conn.h"
#include "cnm/dns/forward.h"
#include "cnm/dns/upstreams.h"
#include "cnm/dns/zone.h"
#include "cnm/model/model.h"
#include "cnm/store/records.h"
#include "cnm/store/store.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

namespace cnm::dns {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using Unix = asio::local::stream_protocol;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr size_t kUdpQueryMax = 4096;  // bigger datagrams are no query of ours
constexpr auto kStorePoll = 2s;        // the store is looked at this often without queries too

template <class... Args>
void dns_note(fmt::format_string<Args...> f, Args&&... args) {
  fmt::print(stderr, "netctl-dns[{}] {}: {}\n", getpid(), now_rfc3339(),
             printable(fmt::format(f, std::forward<Args>(args)...)));
}

template <class Socket>
void set_freebind(Socket& s, bool v6, boost::system::error_code& ec) {
  int one = 1;
  // The gateway address may not be up yet (a bridge just made, IPv6 still tentative).
  int rc = v6 ? setsockopt(s.native_handle(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one)
              : setsockopt(s.native_handle(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
  if (rc != 0) ec.assign(errno, boost::system::system_category());
}

struct Listener {
  Listener(asio::io_context& io, IpAddr a) : addr(a), sock(io), acceptor(io) {}
  IpAddr addr;
  udp::socket sock;
  tcp::acceptor acceptor;
  std::array<uint8_t, kUdpQueryMax> buf{};
  udp::endpoint peer;
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

  // Answers a query; false when no reply will come (dropped), else `reply` is called, now or once
  // the upstreams answered.
  bool handle(std::span<const uint8_t> query, const IpAddr& local, const IpAddr& source, bool udp,
              Forwarder::Done reply);
  std::string control(std::string_view request);
  bool tcp_full() const { return *tcp_count_ >= opt_.limits.max_tcp; }

 private:
  Status reload();
  void rebind(const std::vector<IpAddr>& want);
  boost::system::error_code bind(Listener& l);
  void receive(std::shared_ptr<Listener> l);
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

Result<bool> Server::refresh(bool force) {
  if (stopping_) return false;
  auto v = store_->data_version();
  if (!v) return std::unexpected(v.error());
  if (!force && *v == version_) return !want_.empty();
  auto loaded = reload();
  if (!loaded) {
    if (loaded.error().message != last_error_) dns_note("reload: {}", loaded.error().message);
    last_error_ = loaded.error().message;
    return std::unexpected(loaded.error());
  }
  last_error_.clear();
  version_ = *v;
  if (want_.empty()) {
    // A command that committed an endpoint after the store was read above may have found this
    // server's old serving file: look once more before going.
    auto again = store_->data_version();
    if (again && *again != *v) return refresh(true);
    shut_down();
  }
  return !want_.empty();
}

Status Server::reload() {
  auto nets = CNM_VALUE(decode_all<Network>(store_->list(store::kNetworks), "networks"));
  auto eps = CNM_VALUE(decode_all<Endpoint>(store_->list(store::kEndpoints), "endpoints"));
  zone_ = build_zone(nets, eps);
  want_ = listen_addresses(*zone_);
  rebind(want_);
  upstreams_.invalidate();
  return {};
}

void Server::rebind(const std::vector<IpAddr>& want) {
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (std::ranges::find(want, it->first) != want.end()) {
      ++it;
      continue;
    }
    boost::system::error_code ec;
    it->second->sock.close(ec);
    it->second->acceptor.close(ec);
    dns_note("stopped listening on {}", it->first.str());
    it = listeners_.erase(it);
  }
  for (const auto& a : want) {
    if (listeners_.contains(a)) continue;
    auto l = std::make_shared<Listener>(io_, a);
    if (auto ec = bind(*l)) {  // tried again at the next poll
      dns_note("listen on {} port 53: {}", a.str(), ec.message());
      continue;
    }
    dns_note("listening on {} port 53", a.str());
    listeners_.emplace(a, l);
    receive(l);
    accept(l);
  }
  write_serving();
}

// ROOT/dns/serving: the addresses listened on, one per line, replaced whole. A command that finds
// its network's gateway there (and the lock held) needs no sync: names are read per query.
void Server::write_serving() {
  std::string text;
  for (const auto& [a, l] : listeners_) text += a.str() + "\n";
  std::string path = opt_.root + "/dns/serving", tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) unlink(tmp.c_str());
}

// The store file this server opened is gone (its state root was removed): nothing is left to
// serve, and the server must not outlive it.
bool Server::store_gone() const {
  struct stat st {};
  return stat((opt_.root + "/netctl.db").c_str(), &st) != 0 || st.st_ino != store_ino_;
}

void Server::remember_store() {
  struct stat st {};
  if (stat((opt_.root + "/netctl.db").c_str(), &st) == 0) store_ino_ = st.st_ino;
}

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

void Server::receive(std::shared_ptr<Listener> l) {
  l->sock.async_receive_from(
      asio::buffer(l->buf), l->peer, [this, l](boost::system::error_code ec, size_t n) {
        if (ec == asio::error::operation_aborted || !l->sock.is_open()) return;
        if (!ec) {
          handle(std::span(l->buf.data(), n), l->addr, from_asio(l->peer.address()), true,
                 [l, to = l->peer](std::vector<uint8_t> reply) {
                   boost::system::error_code e;
                   if (!reply.empty()) l->sock.send_to(asio::buffer(reply), to, 0, e);
                 });
        }
        receive(l);
      });
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
          return handle(q, local, source, false, std::move(reply));
        };
        serve_tcp(std::move(s), std::move(handler), opt_.limits.tcp_idle, tcp_count_);
      }
    }
    accept(l);  // a connection beyond max_tcp is closed as `s` goes out of scope
  });
}

bool Server::handle(std::span<const uint8_t> query, const IpAddr& local, const IpAddr& source,
                    bool udp, Forwarder::Done reply) {
  auto now = Clock::now();
  if (!limiter_.allow(source, now)) return false;
  if (auto r = refresh(false); !r && !zone_) return false;
  Outcome o = answer(*zone_, query, local, source);
  switch (o.action) {
    case Action::kReply:
      reply(udp ? fit_udp(query, std::move(o.wire)) : std::move(o.wire));
      return true;
    case Action::kForward:
      forwarder_.forward(query, forward_targets(), udp, std::move(reply));
      return true;
    case Action::kDrop:
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

std::string Server::control(std::string_view request) {
  if (request != "sync") return "err unknown request\n";
  auto r = refresh(true);
  if (!r) return fmt::format("err {}\n", printable(r.error().message));
  return *r ? "ok\n" : "gone\n";  // gone: nothing to serve, exiting (the client starts another)
}

Status Server::open_control() {
  std::string path = opt_.root + "/dns/sock";
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    return fail(Code::kFailed, "socket path {} is too long", path);
  unlink(path.c_str());  // a dead server's: we hold the lock
  boost::system::error_code ec;
  control_.open(Unix(), ec);
  if (!ec) control_.bind(Unix::endpoint(path), ec);
  if (!ec) chmod(path.c_str(), 0600);
  if (!ec) control_.listen(16, ec);
  if (ec) return fail(Code::kFailed, "listen on {}: {}", path, ec.message());
  accept_control();
  return {};
}

void Server::accept_control() {
  control_.async_accept([this](boost::system::error_code ec, Unix::socket s) {
    if (ec == asio::error::operation_aborted || !control_.is_open()) return;
    if (!ec) serve_control(std::move(s), [this](std::string_view line) { return control(line); });
    accept_control();
  });
}

void Server::start_poll() {
  poll_.expires_after(kStorePoll);
  poll_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    if (store_gone()) {
      dns_note("the state root's store is gone: exiting");
      shut_down();
      return;
    }
    if (auto r = refresh(false); r && *r) rebind(want_);  // binds that failed are tried again
    start_poll();
  });
}

void Server::shut_down() {
  if (stopping_) return;
  stopping_ = true;
  dns_note("no DNS network has endpoints: exiting");
  boost::system::error_code ec;
  unlink((opt_.root + "/dns/serving").c_str());
  unlink((opt_.root + "/dns/sock").c_str());
  control_.close(ec);
  poll_.cancel();
  for (auto& [a, l] : listeners_) {
    l->sock.close(ec);
    l->acceptor.close(ec);
  }
  listeners_.clear();
  exit_.expires_after(100ms);  // the reply to the sync that found nothing is written first
  exit_.async_wait([this](boost::system::error_code) { io_.stop(); });
}

void say_ready(int fd, std::string_view what) {
  if (fd < 0) return;
  while (write(fd, what.data(), what.size()) < 0 && errno == EINTR) {
  }
  close(fd);
}

}  // namespace

int serve(const ServerOptions& options) {
  auto st = store::Store::open(options.root);
  if (!st) {
    dns_note("{}", st.error().message);
    return 1;
  }
  asio::io_context io(1);
  Server server(io, std::move(*st), options);
  server.remember_store();
  auto serving = server.refresh(true);
  if (!serving) return 1;
  if (!*serving) {
    say_ready(options.ready_fd, "idle\n");
    return 0;
  }
  if (auto c = server.open_control(); !c) {
    dns_note("{}", c.error().message);
    return 1;
  }
  server.start_poll();
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    dns_note("signal {}: exiting", sig);
    unlink((options.root + "/dns/serving").c_str());
    unlink((options.root + "/dns/sock").c_str());
    io.stop();
  });
  say_ready(options.ready_fd, "ok\n");
  io.run();
  return 0;
}

}  // namespace cnm::dns

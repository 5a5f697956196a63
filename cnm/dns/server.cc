#include "cnm/dns/server.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "cnm/dns/server_impl.h"
#include "cnm/store/records.h"

namespace cnm::dns {
namespace server_detail {
using namespace std::chrono_literals;

constexpr auto kStorePoll = 2s;  // the store is looked at this often without queries too

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
  cache_.clear();
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
    // What a burst of queries made malloc keep goes back to the kernel: idle, the server is as
    // small as it started.
    malloc_trim(0);
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

}  // namespace server_detail

int serve(const ServerOptions& options) {
  using namespace server_detail;
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

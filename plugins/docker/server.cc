// netctl-docker's HTTP server (server.h): Boost.Beast over an Asio unix stream socket.
#include "plugins/docker/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <mutex>
#include <thread>

namespace docker {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Socket = asio::local::stream_protocol::socket;

// Docker's plugin client content type (application/vnd.docker.plugins.v1+json, v1.1, v1.2).
constexpr const char* kContentType = "application/vnd.docker.plugins.v1.2+json";
// A request body larger than this is refused: Docker's are a few KiB.
constexpr size_t kMaxBody = 1 << 20;

void serve_connection(Socket sock, Plugin& plugin, std::mutex& mu) {
  boost::beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    boost::system::error_code ec;
    http::read(sock, buf, parser, ec);
    if (ec) return;  // closed, or not HTTP: nothing to answer
    auto& req = parser.get();
    Reply reply;
    if (req.method() != http::verb::post) {
      reply = {405, {{"Err", "use POST"}}};
    } else {
      std::lock_guard<std::mutex> lock(mu);
      reply = plugin.handle(std::string(req.target()), req.body());
    }
    http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
    res.set(http::field::content_type, kContentType);
    res.keep_alive(req.keep_alive());
    res.body() = reply.body.dump();
    res.prepare_payload();
    http::write(sock, res, ec);
    if (ec || !res.keep_alive()) return;
  }
}

}  // namespace

cnm::Status serve(Plugin& plugin, const std::string& path) {
  asio::io_context io;
  boost::system::error_code ec;
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return cnm::fail(cnm::Code::kFailed, "{} exists and is not a socket", path);
    unlink(path.c_str());
  }
  asio::local::stream_protocol::acceptor acceptor(io);
  acceptor.open(asio::local::stream_protocol(), ec);
  if (!ec) acceptor.bind(asio::local::stream_protocol::endpoint(path), ec);
  if (!ec) chmod(path.c_str(), 0600);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return cnm::fail(cnm::Code::kFailed, "listen on {}: {}", path, ec.message());
  std::mutex mu;
  for (;;) {
    Socket sock(io);
    acceptor.accept(sock, ec);
    if (ec) {
      if (ec == asio::error::interrupted) continue;
      return cnm::fail(cnm::Code::kFailed, "accept on {}: {}", path, ec.message());
    }
    std::thread(serve_connection, std::move(sock), std::ref(plugin), std::ref(mu)).detach();
  }
}

}  // namespace docker

#include "cnm/dns/conn.h"

#include <vector>

namespace cnm::dns {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;
using Unix = asio::local::stream_protocol;
using namespace std::chrono_literals;

constexpr size_t kControlLineMax = 64;  // "sync\n"
constexpr auto kControlWait = 2s;

class TcpConn : public std::enable_shared_from_this<TcpConn> {
 public:
  TcpConn(tcp::socket s, QueryFn handle, std::chrono::seconds idle, std::shared_ptr<size_t> count)
      : sock_(std::move(s)),
        timer_(sock_.get_executor()),
        handle_(std::move(handle)),
        idle_(idle),
        count_(std::move(count)) {
    ++*count_;
  }
  ~TcpConn() { --*count_; }

  void read_length() {
    timer_.expires_after(idle_);  // cancels the previous wait
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->close();
    });
    buf_.resize(2);
    asio::async_read(sock_, asio::buffer(buf_),
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (ec) return self->close();
                       size_t len = (size_t{self->buf_[0]} << 8) | self->buf_[1];
                       if (len == 0) return self->close();
                       self->read_body(len);
                     });
  }

 private:
  void read_body(size_t len) {
    buf_.resize(len);
    asio::async_read(sock_, asio::buffer(buf_),
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (ec) return self->close();
                       bool replies = self->handle_(self->buf_, [self](std::vector<uint8_t> r) {
                         self->write(std::move(r));
                       });
                       if (!replies) self->read_length();
                     });
  }

  void write(std::vector<uint8_t> reply) {
    if (reply.empty() || reply.size() > 65535) return read_length();
    size_t n = reply.size();
    buf_.assign({static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
    buf_.insert(buf_.end(), reply.begin(), reply.end());
    asio::async_write(sock_, asio::buffer(buf_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (ec) return self->close();
                        self->read_length();
                      });
  }

  void close() {
    boost::system::error_code ec;
    sock_.close(ec);
    timer_.cancel();
  }

  tcp::socket sock_;
  asio::steady_timer timer_;
  QueryFn handle_;
  std::chrono::seconds idle_;
  std::shared_ptr<size_t> count_;
  std::vector<uint8_t> buf_;
};

class ControlConn : public std::enable_shared_from_this<ControlConn> {
 public:
  ControlConn(Unix::socket s, std::function<std::string(std::string_view)> respond)
      : sock_(std::move(s)),
        timer_(sock_.get_executor()),
        buf_(kControlLineMax),
        respond_(std::move(respond)) {}

  void start() {
    timer_.expires_after(kControlWait);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      boost::system::error_code ignored;
      self->sock_.close(ignored);
    });
    asio::async_read_until(
        sock_, buf_, '\n', [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          if (ec) {
            self->timer_.cancel();
            return;
          }
          std::string line(asio::buffers_begin(self->buf_.data()),
                           asio::buffers_begin(self->buf_.data()) + n - 1);
          self->out_ = self->respond_(line);
          asio::async_write(self->sock_, asio::buffer(self->out_),
                            [self](boost::system::error_code, size_t) { self->timer_.cancel(); });
        });
  }

 private:
  Unix::socket sock_;
  asio::steady_timer timer_;
  asio::streambuf buf_;
  std::function<std::string(std::string_view)> respond_;
  std::string out_;
};

}  // namespace

void serve_tcp(tcp::socket s, QueryFn handle, std::chrono::seconds idle,
               std::shared_ptr<size_t> count) {
  std::make_shared<TcpConn>(std::move(s), std::move(handle), idle, std::move(count))->read_length();
}

void serve_control(Unix::socket s, std::function<std::string(std::string_view line)> respond) {
  std::make_shared<ControlConn>(std::move(s), std::move(respond))->start();
}

}  // namespace cnm::dns

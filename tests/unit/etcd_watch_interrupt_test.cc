// EtcdClient::watch_prefix's interrupt (the overlay agent ends its one open watch with it): set by
// another thread, it ends a watch on a stream that sends nothing, within about a second.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "cnm/cluster/etcd.h"

namespace {

// A TCP listener on 127.0.0.1 that never answers: the kernel completes the connection, nobody
// reads the request. Closed on destruction.
struct SilentListenerForWatch {
  int fd = -1;
  int port = 0;
  SilentListenerForWatch() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port = ntohs(a.sin_port);
  }
  ~SilentListenerForWatch() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

TEST_CASE("etcd watch: an interrupt from another thread ends a silent watch within ~1 s") {
  SilentListenerForWatch srv;
  REQUIRE(srv.port != 0);
  cnm::cluster::EtcdClient c({{"http://127.0.0.1:" + std::to_string(srv.port)}});
  std::atomic<bool> stop{false};
  int batches = 0;
  auto cb = [&](const cnm::cluster::WatchBatch&) { return ++batches > 0; };
  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
  });
  auto r = c.watch_prefix("/x/", 42, cb, std::chrono::seconds(20), &stop);
  stopper.join();
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(r.has_value());
  CHECK(*r == 42);  // nothing seen: resume where it started
  CHECK(batches == 0);
  CHECK(took >= std::chrono::milliseconds(200));
  CHECK(took < std::chrono::milliseconds(2500));
}

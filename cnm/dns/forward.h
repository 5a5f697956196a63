// Forwarding of queries outside netctl's zone to the host's upstream servers (Boost.Asio): UDP
// first (through an UpstreamPool's shared sockets), each upstream in turn with a timeout, a
// truncated answer asked again over TCP, replies matched by ID and question, a bounded number in
// flight.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "cnm/dns/upstream_pool.h"
#include "cnm/model/net.h"

namespace cnm::dns {

boost::asio::ip::address to_asio(const IpAddr& a);
IpAddr from_asio(const boost::asio::ip::address& a);

class Forwarder {
 public:
  // Called once with the reply for the client (the upstream's, with the client's ID, or SERVFAIL).
  using Done = std::function<void(std::vector<uint8_t> reply)>;
  static constexpr std::chrono::seconds kTimeout{2};  // per upstream, per transport

  // `port`: the upstreams' (53; tests run theirs elsewhere).
  Forwarder(boost::asio::io_context& io, size_t max_in_flight, uint16_t port = 53)
      : io_(io),
        max_(max_in_flight),
        port_(port),
        in_flight_(std::make_shared<size_t>(0)),
        pool_(std::make_shared<UpstreamPool>(io, port)) {}

  // Sends `query` to `upstreams` in order until one answers. `udp_client`: the client asked over
  // UDP, so an answer larger than the size it accepts (512 bytes, or its EDNS size) reaches it
  // truncated (TC set), and it asks again over TCP. SERVFAIL at once when max_in_flight forwards
  // are pending, or when `upstreams` is empty.
  void forward(std::span<const uint8_t> query, const std::vector<IpAddr>& upstreams,
               bool udp_client, Done done);
  size_t in_flight() const { return *in_flight_; }
  const UpstreamPool& pool() const { return *pool_; }

 private:
  boost::asio::io_context& io_;
  size_t max_;
  uint16_t port_;
  std::shared_ptr<size_t> in_flight_;   // shared with the exchanges, which may outlive this
  std::shared_ptr<UpstreamPool> pool_;  // likewise
};

}  // namespace cnm::dns

// The DNS server's bounds: per-source query rate, TCP connections, forwards in flight. A container
// flooding the server is cut to its own rate and cannot starve the others or grow its memory.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>

#include "cnm/model/net.h"

namespace cnm::dns {

struct Limits {
  double rate = 500;    // queries per second per source address; 0: unlimited
  double burst = 1000;  // queries a source may send at once after being quiet
  size_t max_tcp = 64;  // TCP connections at once, over every listen address
  std::chrono::seconds tcp_idle{10};
  // Forwards in flight (about 1 KiB each); beyond that, SERVFAIL. Above what one source may send
  // in a burst, so that upstream losses (each holds its slot for the 2 s timeout) under one busy
  // client do not turn into SERVFAILs.
  size_t max_forwards = 1024;
  size_t max_sources = 4096;  // sources tracked by the rate limiter
};

// A token bucket per source address: each holds up to `burst` tokens, refilled at `rate` per
// second; a query takes one, and a query that finds none is dropped.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(const Limits& l) : rate_(l.rate), burst_(l.burst), max_(l.max_sources) {}
  bool allow(const IpAddr& source, Clock::time_point now);
  size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  // Forgets the sources whose bucket has refilled (they are as if never seen).
  void sweep(Clock::time_point now);

  double rate_, burst_;
  size_t max_;
  std::map<IpAddr, Bucket> buckets_;
};

}  // namespace cnm::dns

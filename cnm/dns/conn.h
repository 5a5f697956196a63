// The DNS server's stream connections: DNS over TCP (messages behind a two-byte length, RFC 1035
// 4.2.2) and the control socket's one-line requests.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "cnm/dns/forward.h"

namespace cnm::dns {

// Answers one query: false when no reply will come (dropped), else calls `reply` now or later.
using QueryFn = std::function<bool(std::span<const uint8_t> query, Forwarder::Done reply)>;

// Serves one client's TCP connection: its queries one at a time, closed after `idle` without one.
// `*count` is one higher while the connection lives.
void serve_tcp(boost::asio::ip::tcp::socket s, QueryFn handle, std::chrono::seconds idle,
               std::shared_ptr<size_t> count);

// Reads one request line (at most 64 bytes, within 2 s) and writes back `respond(line)`.
void serve_control(boost::asio::local::stream_protocol::socket s,
                   std::function<std::string(std::string_view line)> respond);

}  // namespace cnm::dns

// The commands' handle on the state root's DNS server (netctl-dns, cnm/dns/server.h): start it
// when none runs, or ask it to look at the store again. Plain POSIX: no DNS or Asio code here.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "cnm/model/error.h"
#include "cnm/model/net.h"

namespace cnm {

class DnsControl {
 public:
  virtual ~DnsControl() = default;
  // Makes sure this root's server runs and listens on every DNS network's gateway: starts it
  // when none runs, else asks it to sync; returns once it does (a few ms at most). When it runs
  // and already listens on each of `gateways` (ROOT/dns/serving says so), nothing is asked: its
  // names come from the store, fresh on every query.
  virtual Status ensure(std::span<const IpAddr> gateways = {}) = 0;
  // Whether this root's server runs (its lock is held).
  virtual Result<bool> running() = 0;
};

// `server`: the netctl-dns binary (default: next to /proc/self/exe).
std::unique_ptr<DnsControl> make_dns_control(std::string root, std::string server);
std::string default_dns_server_path();

}  // namespace cnm

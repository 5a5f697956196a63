// The host's upstream DNS servers, where names outside netctl's zone are forwarded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cnm/model/net.h"

namespace cnm::dns {

// The `nameserver` addresses of resolv.conf text, in order (at most 8; scoped IPv6 addresses and
// anything unparsable skipped).
std::vector<IpAddr> parse_resolv_conf(std::string_view text);

// /etc/resolv.conf's nameservers; when that lists only systemd-resolved's stub 127.0.0.53, the
// nameservers of /run/systemd/resolve/resolv.conf (the stub's own upstreams) instead.
std::vector<IpAddr> read_upstreams(
    const std::string& resolv_conf = "/etc/resolv.conf",
    const std::string& systemd_conf = "/run/systemd/resolve/resolv.conf");

// read_upstreams() cached: read again when one of the files changed (two stat calls a forward,
// so an edit of resolv.conf counts from the next query on).
class Upstreams {
 public:
  const std::vector<IpAddr>& get();
  // Reads them again at the next get().
  void invalidate() { stamp_.clear(); }

 private:
  std::vector<IpAddr> servers_;
  std::string stamp_;  // the files' identity, size and mtime when last read
};

}  // namespace cnm::dns

// Connection tracking entries of published ports. A UDP (or SCTP) "connection" lives on in
// conntrack for as long as packets keep coming; one made before a port was published (or while
// it pointed at another container) keeps its old NAT decision, so a client that keeps sending
// from the same source port never meets the new DNAT rule. Publishing forgets them first.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnm/model/error.h"
#include "cnm/model/net.h"
#include "cnm/model/ports.h"

namespace cnm::kernel {

class Conntrack {
 public:
  virtual ~Conntrack() = default;
  // Deletes the IPv4 and IPv6 entries of `proto` whose original destination port is in [first,
  // first + count) and, when `ip` is set (and not 0.0.0.0 or ::), whose original destination is
  // `ip`.
  // Returns how many went. Entries that vanish meanwhile are not an error.
  virtual Result<int> forget(cnm::Proto proto, const std::optional<IpAddr>& ip, uint16_t first,
                             uint16_t count) = 0;
};

// Over NETLINK_NETFILTER (libnl-nf): one dump of the table, then a delete per match.
std::unique_ptr<Conntrack> make_linux_conntrack();

}  // namespace cnm::kernel

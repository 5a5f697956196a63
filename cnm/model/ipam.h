// The IPAM interface the controller sees (docs/architecture.md section 5). Implementations are pure
// logic: the controller hands them what is in use (read from the store) and persists what they
// decide.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cnm/model/error.h"
#include "cnm/model/net.h"

namespace cnm {

// What the user asked for one address family of a network (all fields optional).
struct PoolRequest {
  bool v6 = false;
  std::optional<Prefix> subnet;
  std::optional<IpAddr> gateway;
  std::optional<Prefix> ip_range;
  std::map<std::string, IpAddr> aux;  // name -> reserved address
};

// A network's address pool as decided at creation; stored inside the network record.
struct Pool {
  Prefix subnet;
  IpAddr gateway;
  std::optional<Prefix> ip_range;     // dynamic allocations come only from here when set
  std::map<std::string, IpAddr> aux;  // never handed out
};

// A base prefix carved into subnets of `size` bits (Docker's default-address-pools entry).
struct AddressPoolBase {
  Prefix base;
  int size = 0;
};

class Ipam {
 public:
  virtual ~Ipam() = default;
  virtual std::string_view name() const = 0;

  // Validates `req` or chooses a subnet for it. `networks` are the subnets of existing networks
  // (overlap with an explicit subnet is Code::kConflict); `host` are the host's addresses and
  // routes (an automatic choice avoids them). Bad gateway/range/aux is Code::kInvalid; no free
  // subnet in the default pools is Code::kConflict.
  virtual Result<Pool> request_pool(const PoolRequest& req, std::span<const Prefix> networks,
                                    std::span<const Prefix> host) const = 0;

  // Chooses an address of `pool` for an endpoint. `used` are the addresses already allocated in
  // it (any order). With `want`, exactly that address or an error: outside the subnet is
  // Code::kInvalid, in use/gateway/aux/network/broadcast is Code::kConflict. Without it, the
  // lowest free address of the ip-range (or subnet); exhaustion is Code::kConflict. Memory and time
  // depend on |used|, never on the pool size.
  virtual Result<IpAddr> allocate(const Pool& pool, std::span<const IpAddr> used,
                                  std::optional<IpAddr> want) const = 0;

  // The lowest address at or above `from` that allocate() would hand out if it were free: inside
  // the ip-range (or subnet) and not reserved. None above the range. With it the controller
  // allocates from a remembered starting point, asking the store about one address at a time,
  // instead of reading every allocated address (store::Store::ipam_hint).
  virtual std::optional<IpAddr> candidate(const Pool& pool, const IpAddr& from) const = 0;
};

}  // namespace cnm

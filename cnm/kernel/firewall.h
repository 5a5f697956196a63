// Packet filtering and NAT for networks and published ports (DESIGN section 7), behind one
// interface so an nftables backend can follow. Implementation: firewall_iptc.cc (libiptc, legacy
// tables, IPv4; libip6tc for IPv6 later) and a recording fake.
//
// Layout. Top-level chains, each jumped to from the built-in chain named, created on first use and
// never removed while any netctl rule exists:
//   filter FORWARD     -> NETCTL-USER (first rule; the admin's, never flushed), NETCTL-ISOLATION,
//                         NETCTL-FORWARD
//   nat    PREROUTING  -> NETCTL-DNAT (with -m addrtype --dst-type LOCAL)
//   nat    OUTPUT      -> NETCTL-DNAT (with -m addrtype --dst-type LOCAL)
//   nat    POSTROUTING -> NETCTL-POSTROUTING
//   raw    PREROUTING  -> NETCTL-RAW (the guard: -d 127.0.0.0/8 ! -i lo -j DROP)
// Per network (id12 = first 12 hex of its id) a chain in each table it needs, jumped to from the
// matching top-level chain, so removing a network removes exactly its chains and jumps:
//   filter NETCTL-N-<id12>: -o br conntrack RELATED,ESTABLISHED ACCEPT; -i br -o br ACCEPT|DROP
//   (icc);
//                           -i br ! -o br ACCEPT unless internal; internal: -i br ! -o br DROP and
//                           -o br ! -i br DROP
//   filter isolation: -i br -o <other netctl bridge> DROP, both directions, for every pair
//   nat    NETCTL-M-<id12>: -s subnet ! -o br MASQUERADE (unless internal or masquerade off)
// Per endpoint with published ports (id12 of the endpoint): nat NETCTL-P-<id12> (DNAT rules and
// hairpin MASQUERADE), filter NETCTL-A-<id12> (ACCEPT to the container port).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnm/error.h"
#include "cnm/net.h"

namespace cnm::kernel {

struct NetworkRules {
  std::string id12;
  std::string bridge;
  Prefix subnet;  // IPv4
  bool masquerade = true;
  bool icc = true;
  bool internal = false;
};

enum class Proto { kTcp, kUdp, kSctp };

struct PortMapping {
  std::optional<IpAddr> host_ip;  // unset: every local address
  uint16_t host_port = 0;         // first of a range
  uint16_t container_port = 0;    // first of a range of the same length
  uint16_t count = 1;             // range length
  Proto proto = Proto::kTcp;
};

struct EndpointPorts {
  std::string id12;
  std::string bridge;
  IpAddr container_ip;
  std::vector<PortMapping> ports;
};

// One command's firewall changes: applied with at most one commit per table, under the xtables
// lock (/run/xtables.lock), all or nothing.
struct FirewallChange {
  std::vector<NetworkRules> add_networks{};
  std::vector<std::string> remove_networks{};  // id12s; missing chains count as removed
  std::vector<EndpointPorts> add_ports{};
  std::vector<std::string> remove_ports{};  // endpoint id12s
  // Every netctl bridge after the change, for the isolation rules; unset: isolation unchanged.
  std::optional<std::vector<std::string>> bridges{};
};

class Firewall {
 public:
  virtual ~Firewall() = default;
  // Applies `c`. On failure no table is changed (nothing committed).
  virtual Status apply(const FirewallChange& c) = 0;
  // The netctl rules as `iptables-save` lines per table, for doctor and tests.
  virtual Result<std::vector<std::string>> dump() = 0;
};

std::unique_ptr<Firewall> make_iptc_firewall();

}  // namespace cnm::kernel

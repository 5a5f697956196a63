// Packet filtering and NAT for networks and published ports (DESIGN section 7), behind one
// interface so an nftables backend can follow. Implementation: firewall_iptc.cc (libiptc, legacy
// tables, IPv4; libip6tc for IPv6 later) and a recording fake.
//
// Layout (firewall_plan.cc builds it; `netctl_priv` checks it with real traffic). Top-level chains,
// created on first use and never removed; every apply puts their jumps back if they went missing:
//   filter FORWARD     -> NETCTL-USER, NETCTL-ISOLATION, NETCTL-FORWARD: the first three rules,
//                         in this order (NETCTL-USER is the admin's: created empty, never written)
//   nat    PREROUTING  -> NETCTL-DNAT (-m addrtype --dst-type LOCAL)
//   nat    OUTPUT      -> NETCTL-DNAT (-m addrtype --dst-type LOCAL)
//   nat    POSTROUTING -> NETCTL-POSTROUTING
//   raw    PREROUTING  -> NETCTL-RAW: -d 127.0.0.0/8 ! -i lo -j DROP (the guard: with
//                         route_localnet on a bridge, containers could otherwise reach the host's
//                         127.0.0.1 services; rewritten by every apply)
// Isolation, rewritten from FirewallChange::bridges in two stages (2n rules for n bridges):
//   NETCTL-ISOLATION:   -i br ! -o br -j NETCTL-ISOLATION-2, per bridge
//   NETCTL-ISOLATION-2: -m conntrack --ctstate DNAT -j RETURN (published ports are reachable from
//                       every network, as from any host); -o br -j DROP, per bridge
// Per network (id12: 1 to 12 letters or digits, the first 12 hex of its id), each jumped to once
// from NETCTL-FORWARD or NETCTL-POSTROUTING:
//   filter NETCTL-N-<id12>: -o br -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT;
//                           internal: -i br ! -o br -j DROP, ! -i br -o br -j DROP;
//                           otherwise -i br ! -o br -j ACCEPT; icc on: -i br -o br -j ACCEPT
//   filter NETCTL-I-<id12>: the network's last word, only when it has one: ! -i br -o br -j DROP
//                           behind NAT (masquerade on, not internal: a neighbour routing to the
//                           subnet reaches published ports only); icc off: -i br -o br -j DROP
//   nat    NETCTL-M-<id12>: -s subnet ! -o br -j MASQUERADE (unless internal or masquerade off);
//                           -s 127.0.0.0/8 -o br -j MASQUERADE (localhost access, always)
// Per endpoint with published ports (id12 of the endpoint), for each mapping:
//   nat    NETCTL-P-<id12>: [-d hostip] -p P --dport HP[:HPend] -j DNAT --to-destination
//                           CIP:CP[-CPend/HP] (DNAT rev 2: a range maps port by port), from
//                           NETCTL-DNAT
//   nat    NETCTL-H-<id12>: -s CIP -d CIP -p P --dport CP[:CPend] -j MASQUERADE (hairpin), from
//                           NETCTL-POSTROUTING (not in P: the kernel refuses a table where
//                           POSTROUTING reaches a DNAT rule)
//   filter NETCTL-A-<id12>: -d CIP ! -i br -o br -p P --dport CP -j ACCEPT and
//                           -d CIP -i br -o br -m conntrack --ctstate DNAT ... -j ACCEPT (hairpin
//                           through the published port, also with icc off), from NETCTL-FORWARD
// NETCTL-FORWARD keeps every N jump before every A jump before every I jump, so internal DROPs
// come before published-port ACCEPTs, and those before icc and inbound DROPs.
// Needs from the caller (not done here): ip_forward; route_localnet=1 on the bridge for localhost
// access; hairpin mode on a bridge port for a container to reach itself through its published
// port (br_netfilter DNATs the frame on the bridge and sends it back out of the port it came in
// on); net.bridge.bridge-nf-call-iptables=1 (the default) for icc off and hairpin between
// containers of one bridge.
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
// lock ($XTABLES_LOCKFILE or /run/xtables.lock, as iptables takes it), all or nothing. Removals
// go first, then additions; adding what exists rewrites it to the given state (a chain that
// already holds exactly the wanted rules is left alone), so `gc` can apply the whole desired
// state again. Chains ending up unused (the I chain of a network whose icc was turned on) go.
struct FirewallChange {
  std::vector<NetworkRules> add_networks{};
  std::vector<std::string> remove_networks{};  // id12s; missing chains count as removed
  std::vector<EndpointPorts> add_ports{};
  std::vector<std::string> remove_ports{};  // endpoint id12s
  // Every netctl bridge after the change, for the isolation rules; unset: isolation unchanged.
  std::optional<std::vector<std::string>> bridges{};
};

// Not thread-safe (libiptc keeps global state): one call at a time per process.
class Firewall {
 public:
  virtual ~Firewall() = default;
  // Applies `c`. Bad input (ids, names, non-IPv4 addresses, port 0, count 0, ranges past 65535,
  // an endpoint without ports, an id listed twice) is Code::kInvalid before anything is touched.
  // libiptc errors are Code::kFailed "<doing> in <table> table: <cause>" or "commit nat table:
  // <cause>". On failure no table is changed: nothing is committed, or a table committed before a
  // later table's commit failed is put back.
  virtual Status apply(const FirewallChange& c) = 0;
  // The netctl rules like `iptables -S` per table: "*filter", "-N <chain>" for every NETCTL chain,
  // then "-A <chain> <rule>" for every rule of a NETCTL chain or jumping into one. Rules netctl
  // writes read exactly as iptables prints them; others show what is understood.
  virtual Result<std::vector<std::string>> dump() = 0;
};

// Waits up to 30 s for the xtables lock (iptables itself waits forever).
std::unique_ptr<Firewall> make_iptc_firewall();
// The same engine over in-memory tables (no kernel): renders what a set of changes should leave,
// for `netctl doctor`; unit tests use it as FakeFirewall (fake_firewall.h).
std::unique_ptr<Firewall> make_memory_firewall();

}  // namespace cnm::kernel

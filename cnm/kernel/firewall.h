// Packet filtering and NAT for networks and published ports (docs/architecture.md section 5),
// behind one interface so an nftables backend can follow. Implementation: firewall_iptc.cc
// (libiptc, legacy tables; IPv4 through libip4tc, IPv6 through libip6tc: firewall_iptc6.cc) and the
// same engine over in-memory tables (firewall_memory.cc).
//
// Layout (firewall_plan.cc builds it; `netctl_priv` checks it with real traffic). Several state
// roots may share one host: each root (its id `r`: 8 lowercase hex digits, Store::root_id()) owns
// its own chains, and the shared top-level chains hold one jump per root. Top-level chains,
// created on first use and never removed; every apply puts back, in the tables it reads (see
// FirewallChange), the jumps that went missing:
//   filter FORWARD     -> NETCTL-USER, NETCTL-ISOLATION, NETCTL-FORWARD: the first three rules,
//                         in this order (NETCTL-USER is the admin's: created empty, never written)
//   nat    PREROUTING  -> NETCTL-DNAT (-m addrtype --dst-type LOCAL)
//   nat    OUTPUT      -> NETCTL-DNAT (-m addrtype --dst-type LOCAL)
//   nat    POSTROUTING -> NETCTL-POSTROUTING
//   raw    PREROUTING  -> NETCTL-RAW: -d 127.0.0.0/8 ! -i lo -j DROP (the guard: with
//                         route_localnet on a bridge, containers could otherwise reach the host's
//                         127.0.0.1 services; rewritten by every apply that reads raw)
// Per root, created on first use with their jump; a per-root chain goes with its jump when an
// apply that removes something leaves it empty (S and T together), so a root with no network, no
// published port and no bridge has nothing left:
//   filter NETCTL-ISOLATION   -j NETCTL-S-<r>
//   filter NETCTL-S-<r>:      -i br ! -o br -j NETCTL-T-<r>, per bridge of r
//   filter NETCTL-T-<r>:      -m conntrack --ctstate DNAT -j RETURN (published ports are reachable
//                             from every network, as from any host); -o br -j DROP, per bridge
//                             (both rewritten from FirewallChange::bridges: 2n+1 rules, n bridges)
//   filter NETCTL-FORWARD     -j NETCTL-F-<r>; NETCTL-F-<r>: the jumps to r's N and I chains
//   nat    NETCTL-DNAT        -j NETCTL-D-<r>; NETCTL-D-<r>: r's published ports (below)
//   nat    NETCTL-POSTROUTING -j NETCTL-P-<r>; NETCTL-P-<r>: the jumps to r's M chains
// A root touches only its per-root chains, the per-network chains it owns (those its F or P chain
// jumps to, or its change names) and its own jumps in the shared chains: other roots' jumps and
// anything else in a shared chain are left alone, and drift() does not report them. Isolation
// holds between the bridges of one root only: traffic between bridges of DIFFERENT roots is not
// dropped by the isolation chains. The I chains (below) still drop unpublished inbound traffic
// from outside netctl's bridges, but a root whose F chain comes first in NETCTL-FORWARD ACCEPTs
// its own bridges' outbound traffic (N chain) before another root's I chain sees it: containers of
// different roots can reach each other. Roots that must not reach each other need separate hosts
// or the admin's rules in NETCTL-USER.
// Per network (id12: 1 to 12 letters or digits, the first 12 hex of its id), each jumped to once
// from its root's NETCTL-F-<r> (every N jump before every I jump) or NETCTL-P-<r>:
//   filter NETCTL-N-<id12>: -o br -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT;
//                           internal: -i br ! -o br -j DROP, ! -i br -o br -j DROP;
//                           otherwise -i br ! -o br -j ACCEPT; icc on: -i br -o br -j ACCEPT;
//                           -o br -m conntrack --ctstate DNAT -j ACCEPT (published ports)
//   filter NETCTL-I-<id12>: the network's last word, only when it has one: ! -i br -o br -j DROP
//                           behind NAT (masquerade on, not internal: a neighbour routing to the
//                           subnet reaches published ports only); icc off: -i br -o br -j DROP
//   nat    NETCTL-M-<id12>: -s subnet ! -o br -j MASQUERADE (unless internal or masquerade off);
//                           -s 127.0.0.0/8 -o br -j MASQUERADE (localhost access, always);
//                           -s subnet -o br -m conntrack --ctstate DNAT -j MASQUERADE (hairpin)
// Per published port (one mapping of an endpoint): ONE entry, in the root's nat chain, and no
// other table touched. (A chain per endpoint in three tables would cost ~13 entries per endpoint,
// and the kernel copies and checks every entry of a table whenever it is rewritten: at 1000
// endpoints a publish would cost 5x what it does at 10.)
//   nat    NETCTL-D-<r>:       [-d hostip] -p P --dport HP[:HPend] -j DNAT --to-destination
//                              CIP:CP[-CPend/HP] (DNAT rev 2: a range maps port by port)
// The rule is identified by its content (the host port is unique per address and protocol), so
// removing an endpoint's ports needs its mappings, which the caller keeps. Filtering and hairpin
// NAT of published ports are per network, not per port: the N chain accepts whatever went through a
// published port's DNAT (from outside, and from the same bridge also with icc off; a neighbour
// routing straight to the subnet reaches nothing, published container ports included), and the M
// chain masquerades DNATed traffic from the network's own subnet (hairpin: a container reaching a
// published port of its own network, itself included, sees the gateway as the source, as with
// Docker's default userland proxy). IPv6 (dual-stack networks: NetworkRules::subnet6,
// EndpointPorts::container_ip6): the same layout in the ip6tables filter and nat tables, with the
// IPv6 subnet and address, minus what only exists for 127.0.0.1 access (IPv6 has no route_localnet:
// [::1] is not DNATed anywhere useful): no `-s 127.0.0.0/8` MASQUERADE and no raw guard (the kernel
// itself drops packets for ::1 that arrive on any interface but lo). Isolation there lists the
// dual-stack bridges (FirewallChange::bridges6). A port maps in the family of its host address; one
// without a host address maps in both (IPv6 only when the endpoint has an IPv6 address). Needs from
// the caller (not done here): ip_forward; route_localnet=1 on the bridge for localhost access;
// hairpin mode on a bridge port for a container to reach itself through its published port
// (br_netfilter DNATs the frame on the bridge and sends it back out of the port it came in on);
// net.bridge.bridge-nf-call-iptables=1 (the default) for icc off and hairpin between containers of
// one bridge; net.ipv6.conf.all.forwarding=1 and bridge-nf-call-ip6tables=1 for IPv6.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnm/model/error.h"
#include "cnm/model/net.h"

namespace cnm::kernel {

struct NetworkRules {
  std::string id12;
  std::string bridge;
  Prefix subnet;  // IPv4
  bool masquerade = true;
  bool icc = true;
  bool internal = false;
  std::optional<Prefix> subnet6{};  // dual stack: the same chains in the IPv6 tables
};

enum class Proto { kTcp, kUdp, kSctp };

struct PortMapping {
  // unset: every local address of both families; IPv4 or IPv6: that family only (:: and
  // 0.0.0.0: every address of that family).
  std::optional<IpAddr> host_ip;
  uint16_t host_port = 0;       // first of a range
  uint16_t container_port = 0;  // first of a range of the same length
  uint16_t count = 1;           // range length
  Proto proto = Proto::kTcp;
};

// An endpoint's published ports. `id12` names it in errors and logs only: its rules are found
// by content.
struct EndpointPorts {
  std::string id12;
  std::string bridge;
  IpAddr container_ip;  // IPv4
  std::vector<PortMapping> ports;
  std::optional<IpAddr> container_ip6{};  // IPv6 rules need it; without it, none are made
};

// One command's firewall changes: applied with at most one commit per table and family, reading
// only the tables the change concerns (ports only: nat; networks or isolation: all three; the
// IPv6 filter and nat tables only for what has IPv6 in it: subnet6, container_ip6, bridges6 or
// `ipv6`, so IPv4-only changes never read them), under the xtables lock ($XTABLES_LOCKFILE or
// /run/xtables.lock, as iptables takes it), all or nothing. Removals go first, then additions;
// adding what exists rewrites it to the given state (a chain that already holds exactly the wanted
// rules is left alone), so `gc` can apply the whole desired state again. Chains ending up unused
// (the I chain of a network whose icc was turned on) go.
struct FirewallChange {
  std::vector<NetworkRules> add_networks{};
  std::vector<std::string> remove_networks{};  // id12s; missing chains count as removed
  std::vector<EndpointPorts> add_ports{};
  std::vector<EndpointPorts> remove_ports{};  // as they were added; missing rules count as removed
  // add_ports lists every published port of this root: any other DNAT rule in the root's
  // NETCTL-D-<r> goes (gc: ports the store does not know); other roots' rules stay.
  bool exact_ports = false;
  // Every bridge of this root after the change, for its isolation rules; unset: unchanged.
  std::optional<std::vector<std::string>> bridges{};
  // The bridges of dual-stack networks after the change, for the IPv6 isolation rules; unset:
  // unchanged.
  std::optional<std::vector<std::string>> bridges6{};
  // remove_networks and exact_ports act on the IPv6 tables too: set when removing a dual-stack
  // network, by recovery (its intents do not say), and by gc when there are dual-stack networks
  // or netctl rules in the IPv6 tables.
  bool ipv6 = false;
};

// What differs between a backend's objects and the whole desired state (doctor and gc), for what
// the backend's root owns (other roots' objects are neither missing nor foreign).
struct FirewallDrift {
  // Entries in the backend's own words: for the xtables layout, `iptables -S` lines, those of the
  // IPv6 tables prefixed "[filter6] " or "[nat6] ".
  std::vector<std::string> missing, foreign;
  std::vector<std::string>
      foreign_networks;     // id12s of this root's networks that have objects but are not wanted
  bool foreign_v6 = false;  // a foreign entry is in the IPv6 tables
};

class Firewall;
// The drift of a backend with the xtables layout above: its dump() against the dump that the
// in-memory engine renders for `want` with the backend's root_id(), limited to what that root owns.
Result<FirewallDrift> xtables_drift(Firewall& fw, const FirewallChange& want);

// Not thread-safe (libiptc keeps global state): one call at a time per process.
class Firewall {
 public:
  virtual ~Firewall() = default;
  // The root whose chains this firewall writes (8 lowercase hex digits).
  virtual const std::string& root_id() const = 0;
  // Applies `c` as this root's change. Bad input (ids, names, addresses of the wrong family, an
  // IPv6 host address for an endpoint without container_ip6, port 0, count 0, ranges past 65535, an
  // endpoint without ports, an id listed twice) is Code::kInvalid before anything is touched.
  // libiptc errors are Code::kFailed "<doing> in <table> table: <cause>" or "commit nat table:
  // <cause>". On failure no table is changed: nothing is committed, or a table committed before a
  // later table's commit failed is put back. On a host without IPv6 tables (no IPv6, no
  // ip6tables) the IPv6 part of a removal is nothing to do; one that adds IPv6 rules fails.
  virtual Status apply(const FirewallChange& c) = 0;
  // The netctl rules like `iptables -S` per table: "*filter", "*nat", "*raw", then the IPv6 tables
  // like `ip6tables -S` under "*filter6" and "*nat6"; "-N <chain>" for every NETCTL chain,
  // then "-A <chain> <rule>" for every rule of a NETCTL chain or jumping into one. Rules netctl
  // writes read exactly as iptables prints them; others show what is understood. A host without
  // IPv6 tables has no "*filter6" or "*nat6".
  virtual Result<std::vector<std::string>> dump() = 0;
  // Compares the backend's objects with `want`, the whole desired state (every network, published
  // port and bridge; FirewallChange::bridges set). The admin's chain (NETCTL-USER) and the
  // top-level chains, which stay once made, are never foreign. Changes nothing. The default suits
  // the xtables layout (iptc, memory); another backend (nftables) overrides it.
  virtual Result<FirewallDrift> drift(const FirewallChange& want) {
    return xtables_drift(*this, want);
  }
};

// Firewalls of root `root_id` (8 lowercase hex digits, Store::root_id()); with any other id,
// apply() and dump() fail with Code::kInvalid and change nothing.
// Waits up to 30 s for the xtables lock (iptables itself waits forever).
std::unique_ptr<Firewall> make_iptc_firewall(const std::string& root_id);
// The same engine over in-memory tables (no kernel): renders what a set of changes should leave,
// for `netctl doctor`; tests wrap it in FakeFirewall (tests/fakes/fake_firewall.h).
std::unique_ptr<Firewall> make_memory_firewall(const std::string& root_id);
// The nftables backend (firewall_nft.cc): everything of root `root_id` in one table, `table inet
// netctl-<r>`, published ports as map elements (layout: firewall_nft_plan.h). Same semantics as
// above; one netlink batch per apply (the kernel's transaction: all or nothing). A host port that
// is published with other data fails the batch with Code::kConflict. dump() lines are described in
// firewall_nft_plan.h; drift() compares them with the table the same plan renders for `want`.
std::unique_ptr<Firewall> make_nft_firewall(const std::string& root_id);
// Deletes `table inet netctl-<r>` (all the nftables backend made for that root); a missing table
// is no error. A bad root id is Code::kInvalid.
Status remove_nft_table(const std::string& root_id);
// Another root's firewall over the same in-memory tables as `mem` (made by make_memory_firewall):
// several roots on one host, for tests. Null when `mem` is no in-memory firewall.
std::unique_ptr<Firewall> memory_firewall_sharing(Firewall& mem, const std::string& root_id);

}  // namespace cnm::kernel

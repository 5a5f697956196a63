// Private to cnm/kernel: netctl's chain layout (firewall.h) as data. Which chains exist, what each
// holds, where the jumps into them go. Pure logic shared by the libiptc firewall and the in-memory
// one.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "cnm/kernel/firewall.h"
#include "cnm/kernel/firewall_rules.h"

namespace cnm::kernel::fw {

inline constexpr const char* kUserChain = "NETCTL-USER";
inline constexpr const char* kIsolation = "NETCTL-ISOLATION";
inline constexpr const char* kForward = "NETCTL-FORWARD";
inline constexpr const char* kDnat = "NETCTL-DNAT";
inline constexpr const char* kPostrouting = "NETCTL-POSTROUTING";
inline constexpr const char* kRaw = "NETCTL-RAW";
inline constexpr const char* kPrefix = "NETCTL";

// One root's chains (firewall.h): "NETCTL-<kind>-<root id>".
struct RootChains {
  std::string isolation;    // S: filter, jumped to from NETCTL-ISOLATION
  std::string isolation2;   // T: filter, jumped to from the S chain, per bridge
  std::string forward;      // F: filter, jumped to from NETCTL-FORWARD
  std::string dnat;         // D: nat, jumped to from NETCTL-DNAT
  std::string postrouting;  // P: nat, jumped to from NETCTL-POSTROUTING
};
// Code::kInvalid unless `root_id` is 8 lowercase hex digits.
Status check_root_id(const std::string& root_id);
RootChains root_chains(const std::string& root_id);

// A chain netctl owns with the rules it must hold. `parent` is the netctl chain holding the jump
// into it ("" for top-level chains, which built-in chains jump to: see Hook).
struct ChainSpec {
  Table table = Table::kFilter;
  std::string name;
  std::vector<Rule> rules;
  std::string parent;
};

// Jumps from a built-in chain into top-level chains. With `at_top` they must be the built-in's
// first rules in this order (FORWARD: the admin's NETCTL-USER decides first, then isolation);
// otherwise anywhere.
struct Hook {
  Table table = Table::kFilter;
  const char* builtin = "";
  std::vector<Rule> jumps;
  bool at_top = false;
};

// Rejects what the kernel would refuse or misread (Code::kInvalid): ids that are not 1 to 12
// letters or digits, bad interface names, addresses of the wrong family, an IPv6 host address
// without container_ip6, port 0, count 0, ranges past 65535, an endpoint without ports, the same
// id twice in one list.
Status validate(const FirewallChange& c);

// The part of validated `c` that concerns family `f`, said in the family's own addresses (subnet
// and container_ip hold the IPv6 ones for kV6): the networks and endpoints that have addresses
// of the family, the mappings whose host address is unset or of the family, the family's
// isolation list; removals of networks and exact_ports in IPv6 only with `c.ipv6`.
FirewallChange project(const FirewallChange& c, Family f);
// True when project(c, kV4) would build the same as `c` itself (no mapping has an IPv6 host
// address): IPv4-only changes are built without a copy.
bool ipv4_as_is(const FirewallChange& c);

// The tables of family `f` that project(c, f) reads and writes (computed without projecting):
// nat for ports, filter for isolation, filter, nat and (IPv4) raw for networks.
std::array<bool, 3> tables_of(const FirewallChange& c, Family f);

// "NETCTL-<kind>-<id12>". Kinds: N, I (filter, per network), M (nat, per network).
std::string chain_name(char kind, const std::string& id12);

// The chains of network `n` (of a projected change: its subnet says the family) of root `r`,
// jumped to from r's F and P chains: N and M always; I when it has a DROP to hold (unpublished
// inbound behind NAT, icc off).
std::vector<ChainSpec> network_chains(const NetworkRules& n, const RootChains& r);
// Every chain a network of root `r` may own, for removal.
std::vector<ChainSpec> network_chain_names(const std::string& id12, const RootChains& r);

// The DNAT rules of an endpoint's published ports, for its root's D chain (no duplicates).
std::vector<Rule> port_rules(const EndpointPorts& e);

// Top-level chains with their fixed rules (the raw guard, which netctl rewrites; the others only
// ever get or lose the roots' jumps) and the built-in hooks. NETCTL-USER is created empty and
// never touched again.
std::vector<ChainSpec> top_chains(Family f);
std::vector<Hook> hooks(Family f);
// Root `r`'s T and S chains (in this order: S jumps to T) for its bridges: traffic from one of
// them to another is dropped unless it is DNAT to a published port (reachable from anywhere).
std::vector<ChainSpec> isolation_chains(const std::vector<std::string>& bridges,
                                        const RootChains& r);

// Where a jump to `child` goes among the jumps `targets` of its parent: in an F chain every
// N chain comes before every I chain, so every network's ACCEPTs (published ports among them)
// come before any network's inbound and icc DROPs. Elsewhere: at the end.
size_t jump_index(const std::vector<std::string>& targets, const std::string& child);

// A rule that only jumps to `chain`.
Rule jump(const std::string& chain);

}  // namespace cnm::kernel::fw

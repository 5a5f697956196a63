// Private to cnm/kernel: the nftables backend's table as data (pure logic, no libnftnl). One table
// per state root, `table inet netctl-<r>`; deleting it undoes everything. Chains:
//   forward     filter hook forward priority 0, policy accept: jump user, jump isolation, then
//               jump N-<id12> per network (every N before every I), jump I-<id12>
//   user        the admin's chain: created empty, never written or flushed by netctl
//   isolation   per bridge: [meta nfproto ipv4|ipv6] iifname br oifname != br jump isolation-t
//   isolation-t ct status dnat return; per bridge [meta nfproto ipv4|ipv6] oifname br drop
//   N-, I-, M-<id12>  the per-network rules of firewall.h, both families in one chain (an IPv4-only
//               network's N and I rules match meta nfproto ipv4 only)
//   prerouting  nat hook prerouting priority -100: fib daddr type local jump published
//   output      nat hook output priority -100: fib daddr type local jump published
//   published   dnat ip to ip daddr . meta l4proto . th dport map @ports4h, then the same without
//               the address from @ports4, and the IPv6 twins (@ports6h, @ports6)
//   postrouting nat hook postrouting priority 100: jump M-<id12> per network
//   raw         filter hook prerouting priority -300: ip daddr 127.0.0.0/8 iifname != "lo" drop
// Maps (hash, one element per host port; a range of n ports is n elements):
//   ports4  meta l4proto . th dport : ipv4_addr . inet_service           (every local address)
//   ports4h ip daddr . meta l4proto . th dport : ipv4_addr . inet_service (one host address)
//   ports6, ports6h: the IPv6 twins.
// Every rule carries the comment "netctl:<r>"; isolation rules "netctl:<r> isolation ipv4 <br>"
// (or ipv6), so a change of one family's bridges keeps the other's.
// What an apply rewrites: the fixed chains and maps are made when missing; network and isolation
// changes rewrite forward, postrouting, raw and the nat hooks' rules (gc applies them all);
// publishing adds elements only. A network chain another chain still jumps to (an admin's jump
// from `user`) cannot be deleted: removing that network fails, nothing changed.
// dump() lines, sorted where the kernel's order means nothing: "table inet netctl-<r>"; per
// chain by name "chain <name>" or "chain <name> type <filter|nat> hook <hook> priority <p> policy
// accept"; per rule, chains by name and rules in order, "rule <chain> <expressions as libnftnl
// prints them> comment "<comment>""; "map <name>" per map; per element, sorted, "element
// ports4 tcp 8080 -> 10.88.0.2 80" or "element ports4h 198.51.100.1 udp 53 -> 10.88.0.2 53".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cnm/kernel/firewall.h"

namespace cnm::kernel::nft {

inline constexpr const char* kUser = "user";
inline constexpr const char* kIsolation = "isolation";
inline constexpr const char* kIsolationT = "isolation-t";
inline constexpr const char* kPublished = "published";
inline constexpr const char* kForward = "forward";
inline constexpr const char* kPostrouting = "postrouting";
inline constexpr const char* kRaw = "raw";

enum class Verdict { kAccept, kDrop, kReturn, kJump, kMasquerade, kDnatMap };
enum class L3 : uint8_t { kAny, kV4, kV6 };

// One rule, matches in the order they are listed (and encoded), then the verdict.
struct Rule {
  L3 family = L3::kAny;                // meta nfproto ipv4|ipv6
  std::optional<Prefix> saddr, daddr;  // imply their family
  std::string iif, oif;
  bool not_iif = false, not_oif = false;
  uint32_t ct_state = 0;  // NF_CT_STATE_BIT bits; 0: none
  bool ct_dnat = false;   // ct status dnat
  bool fib_local = false;
  Verdict verdict = Verdict::kAccept;
  std::string target;   // kJump: the chain; kDnatMap: the map
  std::string comment;  // "netctl:<r>..."
};

struct Hook {
  const char* type;  // "filter" or "nat"
  const char* hook;  // "forward", "prerouting", "output", "postrouting"
  int priority;
};

struct Chain {
  std::string name;
  std::optional<Hook> hook;  // base chains
  std::vector<Rule> rules;
};

// One map element: key and data as the kernel holds them (4-byte aligned concatenations).
struct Element {
  std::string map;
  std::string key, data;
  bool operator==(const Element&) const = default;
  auto operator<=>(const Element&) const = default;
};

inline constexpr const char* kMaps[] = {"ports4", "ports4h", "ports6", "ports6h"};
// Key and data lengths and nft type ids of `map` (one of kMaps).
struct MapType {
  uint32_t key_type, key_len, data_type, data_len;
  bool v6;
};
MapType map_type(const std::string& map);

std::string table_name(const std::string& root_id);
std::string tag(const std::string& root_id);

// The base and fixed chains with their fixed rules (user and the ones rewritten per change empty).
std::vector<Chain> fixed_chains(const std::string& root_id);
// The chains of network `n` (N, M and, when it has a DROP to hold, I).
std::vector<Chain> network_chains(const NetworkRules& n, const std::string& root_id);
// Every chain name a network may own.
std::vector<std::string> network_chain_names(const std::string& id12);
// The id12 of a per-network chain name ("N-abc" -> "abc"), "" for other chains.
std::string network_of(const std::string& chain);
// forward's rules for the per-network chains `chains` (names; any order), postrouting's likewise.
std::vector<Rule> forward_rules(std::vector<std::string> chains, const std::string& root_id);
std::vector<Rule> postrouting_rules(std::vector<std::string> chains, const std::string& root_id);
// isolation and isolation-t for the bridges of each family.
std::pair<std::vector<Rule>, std::vector<Rule>> isolation_rules(const std::vector<std::string>& v4,
                                                                const std::vector<std::string>& v6,
                                                                const std::string& root_id);
// The family and bridge an isolation rule's comment names (nullopt: not an isolation rule).
std::optional<std::pair<bool, std::string>> isolation_tag(const std::string& comment);

// The elements of an endpoint's published ports (validated): one per host port and family.
std::vector<Element> elements(const EndpointPorts& e);
// "ports4 tcp 8080 -> 10.88.0.2 80", "ports4h 198.51.100.1 udp 53 -> 10.88.0.2 53".
std::string render(const Element& e);

// The whole table a desired state (all networks, ports and bridges) renders.
struct Plan {
  std::vector<Chain> chains;
  std::vector<Element> elements;
};
Plan plan(const FirewallChange& want, const std::string& root_id);

}  // namespace cnm::kernel::nft

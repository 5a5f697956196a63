// The firewall backends (docs/architecture.md section 5): iptables (libiptc, the legacy tables) and
// nftables (libnftnl, one table per root). Which one a root uses, and what migration and doctor do
// with the one it does not use.
//
// Selection: $NETCTL_FIREWALL_BACKEND, else the config's firewall-backend, else "auto". "auto"
// keeps the backend the root recorded (so a host where legacy tables come and go, Docker's for
// instance, does not make a root move back and forth); a root with none recorded gets nftables
// where the host's `iptables` is iptables-nft or no legacy table is in use, else iptables.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/model/error.h"

namespace cnm {

inline constexpr const char* kIptables = "iptables";
inline constexpr const char* kNftables = "nftables";
inline constexpr const char* kFirewallBackendEnv = "NETCTL_FIREWALL_BACKEND";

// "nftables", "iptables" or "auto", returned as given; anything else is Code::kInvalid
// "<what>: ...".
Result<std::string> parse_firewall_backend(std::string_view name, std::string_view what);

// What "auto" looks at on this host.
struct HostFirewall {
  bool iptables_is_nft = false;  // the host's `iptables` resolves to xtables-nft-multi
  bool legacy_tables = false;    // <proc_net>/ip_tables_names or ip6_tables_names lists a table
};
// Probes this host: /usr/sbin/iptables, else /sbin/iptables (symlinks resolved), and `proc_net`.
HostFirewall probe_host_firewall(const std::string& proc_net = "/proc/net");
// Whether the legacy (ip_tables, ip6_tables) tables are in use: reading them while they are not
// would load the legacy modules.
bool legacy_tables_in_use(const std::string& proc_net = "/proc/net");

// The backend a root uses (see above): `env` is $NETCTL_FIREWALL_BACKEND (null or "": unset),
// `config` the config's value, `recorded` the root's recorded backend ("" = none). `probe` runs
// only when "auto" has to look at the host. A bad `env` is Code::kInvalid naming the variable.
Result<std::string> select_firewall_backend(const char* env, const std::string& config,
                                            const std::string& recorded,
                                            const std::function<HostFirewall()>& probe);

// The backend a root does not use, beside the active one (KernelContext::firewall): migration
// empties it, doctor reports what is left in it.
class FirewallBackends {
 public:
  virtual ~FirewallBackends() = default;
  // The active backend: kIptables or kNftables.
  virtual const std::string& active() const = 0;
  // This root's objects in backend `name` (not the active one) in that backend's dump() words;
  // empty: none. The legacy tables are read only when filter, nat and raw all exist (the
  // iptables backend makes the three with its first network): reading makes missing ones exist.
  virtual Result<std::vector<std::string>> leftovers(const std::string& name) = 0;
  // Whether remove(name) may go ahead; changes nothing. nftables: not while the admin's chain
  // `user` holds rules, which deleting the table would lose (Code::kFailed saying how many).
  virtual Status removable(const std::string& name) = 0;
  // Removes every object of this root from backend `name` (checking removable() first); none
  // there is fine.
  virtual Status remove(const std::string& name) = 0;
  // Others' nftables rules that drop this root's forwarded traffic whatever netctl accepts: base
  // chains on the forward hook with policy drop in tables that are not netctl's, each with the
  // rules its owner must add for `bridges` (this root's bridges); and others' nat prerouting
  // chains whose DNAT runs at or before netctl's priority (-100), taking the ports both publish.
  // None without bridges.
  virtual Result<std::vector<std::string>> warnings(const std::vector<std::string>& bridges) = 0;
};

// What FirewallBackends::warnings() reports, from `nft -j list ruleset` text (`ruleset_json`;
// unreadable text: none).
std::vector<std::string> firewall_neighbour_warnings(const std::string& ruleset_json,
                                                     const std::vector<std::string>& bridges);

// The real backends of root `root_id` with `active` in use.
std::unique_ptr<FirewallBackends> make_firewall_backends(const std::string& root_id,
                                                         const std::string& active);

}  // namespace cnm

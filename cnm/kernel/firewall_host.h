// What the host has besides netctl's firewall, for choosing a backend and for doctor's warnings
// (cnm/core/firewall_backend.h): the legacy tables in use, the kind of the host's `iptables`, and
// the nftables ruleset as the nft CLI prints it.
#pragma once

#include <string>
#include <vector>

namespace cnm::kernel {

// The legacy tables in use: <proc_net>/ip_tables_names (ip6_tables_names with `ipv6`); none when
// the file is missing (the module is not loaded). Reading it loads and makes nothing.
std::vector<std::string> legacy_tables(bool ipv6, const std::string& proc_net = "/proc/net");
// Whether the host's `iptables` (/usr/sbin/iptables, else /sbin/iptables, symlinks resolved) is
// iptables-nft (xtables-nft-multi).
bool iptables_is_nft();
// `nft -j list ruleset` (the nft CLI at /usr/sbin or /sbin, an empty environment); "" when there is
// no nft or it fails.
std::string nft_ruleset_json();

}  // namespace cnm::kernel

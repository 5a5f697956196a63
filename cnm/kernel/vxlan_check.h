// Private to the Vxlans implementation: checks of what callers (and, through them, other hosts'
// peer records) hand in, before anything reaches the kernel. Pure.
#pragma once

#include <linux/if_ether.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cnm/kernel/vxlan.h"

namespace cnm::kernel::vxlan_check {

using VxMac = std::array<uint8_t, ETH_ALEN>;

// IFNAMSIZ counts the terminating NUL; libnl silently truncates longer names.
bool vx_name_fits(const std::string& name);
// "02:42:0a:58:00:02" (17 characters, hex pairs and colons), else nullopt.
std::optional<VxMac> vx_parse_mac(const std::string& text);
std::string vx_mac_text(const uint8_t* b);
bool vx_zero_mac(const VxMac& m);
bool vx_unicast_mac(const VxMac& m);
Status vx_check_spec(const VxlanSpec& s);
// A unicast address a remote endpoint or VTEP can have: not unspecified, loopback, multicast or
// (IPv4) broadcast. Peer records come from other hosts.
bool vx_remote_ip(const IpAddr& ip);
// Every FDB MAC unicast (or the all-zero flood MAC) behind a unicast VTEP of `local`'s family,
// every neighbour a unicast IP at a unicast MAC; else Code::kInvalid naming `doing`.
Status vx_check_entries(const VxlanEntries& e, const IpAddr& local, std::string_view doing);

}  // namespace cnm::kernel::vxlan_check

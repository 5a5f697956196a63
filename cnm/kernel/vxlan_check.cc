#include "cnm/kernel/vxlan_check.h"

#include <linux/if.h>

#include <algorithm>
#include <cctype>

namespace cnm::kernel {
namespace vxlan_check {

bool vx_name_fits(const std::string& name) { return !name.empty() && name.size() < IFNAMSIZ; }

std::optional<VxMac> vx_parse_mac(const std::string& text) {
  if (text.size() != 17) return std::nullopt;
  VxMac mac{};
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (i % 3 == 2) {
      if (c != ':') return std::nullopt;
      continue;
    }
    if (std::isxdigit(c) == 0) return std::nullopt;
    int v = std::isdigit(c) != 0 ? c - '0' : std::tolower(c) - 'a' + 10;
    mac[i / 3] = static_cast<uint8_t>(mac[i / 3] << 4 | v);
  }
  return mac;
}

std::string vx_mac_text(const uint8_t* b) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4],
                     b[5]);
}

bool vx_zero_mac(const VxMac& m) {
  return std::ranges::all_of(m, [](uint8_t b) { return b == 0; });
}

bool vx_unicast_mac(const VxMac& m) { return (m[0] & 1) == 0 && !vx_zero_mac(m); }

Status vx_check_spec(const VxlanSpec& s) {
  if (!vx_name_fits(s.name))
    return fail(Code::kInvalid, "vxlan name '{}' must be 1 to 15 characters", printable(s.name));
  if (s.vni == 0 || s.vni > kVxlanMaxVni)
    return fail(Code::kInvalid, "vxlan {}: vni {} is not within 1-{}", s.name, s.vni, kVxlanMaxVni);
  if (!s.local.valid()) return fail(Code::kInvalid, "vxlan {}: no local address", s.name);
  if (s.port == 0) return fail(Code::kInvalid, "vxlan {}: port 0", s.name);
  if (!vx_name_fits(s.bridge) || (!s.underlay.empty() && !vx_name_fits(s.underlay)))
    return fail(Code::kInvalid, "vxlan {}: bad bridge or underlay name", s.name);
  return {};
}

bool vx_remote_ip(const IpAddr& ip) {
  if (!ip.valid()) return false;
  u128 v = ip.value();
  if (ip.is_v6()) return v > 1 && (v >> 120) != 0xff;
  return (v >> 24) != 0 && (v >> 24) != 127 && (v >> 28) != 0xe && v < 0xf0000000u;
}

Status vx_check_entries(const VxlanEntries& e, const IpAddr& local, std::string_view doing) {
  for (const FdbEntry& f : e.fdb) {
    auto mac = vx_parse_mac(f.mac);
    if (!mac || (!vx_unicast_mac(*mac) && !vx_zero_mac(*mac)))
      return fail(Code::kInvalid, "{}: bad FDB MAC '{}'", doing, printable(f.mac));
    if (!vx_remote_ip(f.vtep) || (local.valid() && f.vtep.is_v6() != local.is_v6()))
      return fail(Code::kInvalid, "{}: VTEP {} is no unicast address of the local one's family",
                  doing, f.vtep.valid() ? f.vtep.str() : "(none)");
  }
  for (const NeighEntry& n : e.neigh) {
    auto mac = vx_parse_mac(n.mac);
    if (!vx_remote_ip(n.ip) || !mac || !vx_unicast_mac(*mac))
      return fail(Code::kInvalid, "{}: bad neighbour entry {} lladdr '{}'", doing,
                  n.ip.valid() ? n.ip.str() : "(none)", printable(n.mac));
  }
  return {};
}

}  // namespace vxlan_check

VxlanEntries entries_for(std::span<const RemoteEndpoint> peers) {
  VxlanEntries out;
  for (const RemoteEndpoint& p : peers) {
    out.fdb.push_back({p.mac, p.vtep});
    out.neigh.push_back({p.ip, p.mac});
  }
  std::ranges::sort(out.fdb);
  out.fdb.erase(std::unique(out.fdb.begin(), out.fdb.end()), out.fdb.end());
  std::ranges::sort(out.neigh);
  out.neigh.erase(std::unique(out.neigh.begin(), out.neigh.end()), out.neigh.end());
  return out;
}

}  // namespace cnm::kernel

// The kernel side of the overlay: a VXLAN device enslaved to a network's bridge, and the static
// forwarding state that reaches remote endpoints through it (docs/architecture.md section 2: only
// cnm/kernel talks to the kernel). Implementation: vxlan_linux.cc (libnl-route-3).
//
// Nothing is learned: every remote endpoint is programmed as one FDB entry (its MAC behind its
// host's VTEP address) and one permanent neighbour entry (its IP at its MAC). The device answers
// ARP and neighbour solicitations from that table itself (proxy), so ARP never leaves the host.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cnm/model/error.h"
#include "cnm/model/net.h"

namespace cnm::kernel {

inline constexpr uint16_t kVxlanPort = 4789;  // IANA's VXLAN port
inline constexpr uint32_t kVxlanMaxVni = 0xffffff;
// A MAC of all zeros in the FDB: where the device sends broadcast, multicast and unknown unicast.
inline constexpr const char* kFloodMac = "00:00:00:00:00:00";

struct VxlanSpec {
  std::string name;      // the device, 1 to 15 characters
  uint32_t vni = 0;      // 1 to kVxlanMaxVni
  IpAddr local;          // this host's VTEP (underlay) address
  std::string underlay;  // the underlay device; "": the device that holds `local`
  std::string bridge;    // the bridge the device is enslaved to (must exist)
  uint16_t port = kVxlanPort;
};

// A VXLAN device as the kernel reports it.
struct VxlanInfo {
  std::string name;
  int index = 0;
  uint32_t vni = 0;
  IpAddr local;      // unset if the device has none
  int underlay = 0;  // ifindex of the underlay device, 0 if none
  uint16_t port = 0;
  bool learning = false;
  bool proxy = false;
  unsigned mtu = 0;
  int master = 0;  // ifindex of its bridge, 0 if none
  bool up = false;
  bool ours = false;  // carries the owner mark (links.h owner_group)
};

// A remote MAC behind a remote host's VTEP. kFloodMac may have one entry per VTEP.
struct FdbEntry {
  std::string mac;  // "02:42:c6:33:64:02"
  IpAddr vtep;
  auto operator<=>(const FdbEntry&) const = default;
};

// A remote endpoint's IP at its MAC (ARP for IPv4, ND for IPv6), permanent.
struct NeighEntry {
  IpAddr ip;
  std::string mac;
  auto operator<=>(const NeighEntry&) const = default;
};

// Static entries of one VXLAN device, each list sorted.
struct VxlanEntries {
  std::vector<FdbEntry> fdb;
  std::vector<NeighEntry> neigh;
  bool operator==(const VxlanEntries&) const = default;
};

// A remote endpoint: its IP and MAC, and its host's VTEP address.
struct RemoteEndpoint {
  IpAddr ip;
  std::string mac;
  IpAddr vtep;
};

// The FDB and neighbour entries that make `peers` reachable, sorted and without duplicates.
VxlanEntries entries_for(std::span<const RemoteEndpoint> peers);

// Undo pairs: ensure (when it returns true) <-> remove, add_entries <-> remove_entries.
class Vxlans {
 public:
  virtual ~Vxlans() = default;

  // Makes `spec.name` a VXLAN device with `spec`'s VNI, local address, underlay and port, learning
  // off, proxy on, MTU of the underlay minus the encapsulation (50 bytes over IPv4, 70 over IPv6),
  // up and enslaved to `spec.bridge`, in one request carrying the owner mark. True if it made the
  // device. One of ours with the same VNI, local address, underlay, port, learning and proxy is
  // adopted: it is given the bridge (unless it has another master), the MTU and up, and false is
  // returned. Any other device of that name (not ours, another kind, other parameters, another
  // master) is Code::kConflict and left as it is. Bad input is Code::kInvalid, a missing bridge
  // or underlay Code::kNotFound; nothing is changed then.
  virtual Result<bool> ensure(const VxlanSpec& spec) = 0;

  // Deletes VXLAN device `name` if it is ours (with every entry on it); a missing one counts as
  // deleted, one that is not ours is left.
  virtual Status remove(const std::string& name) = 0;

  // The device called `name` if it is a VXLAN device, or nullopt.
  virtual Result<std::optional<VxlanInfo>> get(const std::string& name) = 0;

  // Programs `entries` on VXLAN device `dev` (ours, else Code::kConflict; missing:
  // Code::kNotFound): each FDB entry permanent (NTF_SELF), a kFloodMac one appended to the other
  // VTEPs', any other replacing that MAC's VTEP; each neighbour entry permanent, replacing the
  // IP's MAC. Programming what is there already changes nothing. On failure it removes what this
  // call programmed and returns the first error. A VTEP of the other family than the device's
  // local address, an IP that is not unicast, or a bad MAC is Code::kInvalid before anything
  // changes.
  virtual Status add_entries(const std::string& dev, const VxlanEntries& entries) = 0;

  // Removes `entries` from `dev` (a kFloodMac entry only for its VTEP; a neighbour entry only while
  // it still holds the MAC given); one that is not there, or a missing device, counts as removed,
  // a device that is not ours is Code::kConflict. Keeps going on errors and reports the first.
  virtual Status remove_entries(const std::string& dev, const VxlanEntries& entries) = 0;

  // The permanent FDB (NTF_SELF) and neighbour entries on `dev`, for doctor and gc to diff with
  // the store. A missing device is Code::kNotFound.
  virtual Result<VxlanEntries> entries(const std::string& dev) = 0;
};

// `mark`: owner_group() of the state root, as for make_linux_links.
std::unique_ptr<Vxlans> make_linux_vxlans(uint32_t mark);

}  // namespace cnm::kernel

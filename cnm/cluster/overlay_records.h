// The records of the overlay's global state in etcd (cnm/cluster/README.md, "Overlay state"): their
// keys under one prefix, and their values as JSON, strictly checked on read. Records are written by
// other hosts: a value read here is never trusted before its check passed. No I/O.
//
//   PREFIX networks/NAME        {"name","id","subnet","gateway","vni","mtu"}
//   PREFIX vnis/VNI             {"network": NAME, "id": ID}           (VNI in decimal)
//   PREFIX addrs/NAME/IPV4      {"host": HOST}                        (the address's owner)
//   PREFIX peers/NAME/IPV4      {"ip","mac","vtep","host","endpoint"} (bound to HOST's lease)
//   PREFIX hosts/HOST           {"host": HOST, "vtep": IP}            (bound to HOST's lease)
//   PREFIX acks/HOST            {"host": HOST, "revision": N}         (bound to HOST's lease)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cnm/model/error.h"
#include "cnm/model/net.h"

namespace cnm::cluster {

inline constexpr std::string_view kOverlayPrefix = "/netctl/v1/";
// VNIs a claim without one picks from, at random; 1-4095 are left to explicit choices.
inline constexpr uint32_t kAutoVniFirst = 4096;
inline constexpr uint32_t kVniLast = 16777215;  // 24 bits
// The driver name of an overlay network's local record (cnm::Network::driver).
inline constexpr std::string_view kOverlayDriver = "overlay";

// The VXLAN device of overlay network `id` (64 hex) on every host: "nx" and the id's first 12.
inline std::string overlay_vxlan_name(std::string_view id) {
  return "nx" + std::string(id.substr(0, 12));
}

struct OverlayNetwork {
  std::string name;  // validate_name
  std::string id;    // 64 lowercase hex characters
  Prefix subnet;     // IPv4, /8 to /30
  IpAddr gateway;    // in the subnet, neither its network nor its broadcast address
  uint32_t vni = 0;  // 1-16777215; 0 in a claim: pick one
  unsigned mtu = 0;  // 0: the host's underlay MTU minus 50; else 68-65535

  bool operator==(const OverlayNetwork&) const = default;
};

// One endpoint of an overlay network, as the host that has it publishes it.
struct PeerRecord {
  IpAddr ip;                // IPv4, in the network's subnet
  std::string mac;          // mac_from(ip): 02:42 then the address
  IpAddr vtep;              // the host's underlay address (unicast)
  std::string host_id;      // validate_name
  std::string endpoint_id;  // validate_name

  bool operator==(const PeerRecord&) const = default;
};

struct HostRecord {
  std::string host_id;
  IpAddr vtep;
};

// A host's agent has applied every peer change up to `revision` to its kernel.
struct AckRecord {
  std::string host_id;
  int64_t revision = 0;  // >= 1

  bool operator==(const AckRecord&) const = default;
};

// The keys, under one prefix (ends with '/').
class OverlayKeys {
 public:
  explicit OverlayKeys(std::string prefix = std::string(kOverlayPrefix))
      : prefix_(std::move(prefix)) {}
  const std::string& root() const { return prefix_; }
  std::string networks() const { return prefix_ + "networks/"; }
  std::string network(std::string_view name) const { return networks() + std::string(name); }
  std::string vni(uint32_t vni) const { return prefix_ + "vnis/" + std::to_string(vni); }
  std::string addrs(std::string_view net) const {
    return prefix_ + "addrs/" + std::string(net) + "/";
  }
  std::string addr(std::string_view net, const IpAddr& ip) const { return addrs(net) + ip.str(); }
  std::string peers() const { return prefix_ + "peers/"; }
  std::string peers(std::string_view net) const { return peers() + std::string(net) + "/"; }
  std::string peer(std::string_view net, const IpAddr& ip) const { return peers(net) + ip.str(); }
  std::string hosts() const { return prefix_ + "hosts/"; }
  std::string host(std::string_view host_id) const { return hosts() + std::string(host_id); }
  std::string acks() const { return prefix_ + "acks/"; }
  std::string ack(std::string_view host_id) const { return acks() + std::string(host_id); }

  // What a key under the prefix names: its kind ("networks", "peers", ...) and the parts after it.
  struct Parsed {
    std::string kind;
    std::string name;  // network, host or VNI
    std::string ip;    // addrs and peers
  };
  std::optional<Parsed> parse(std::string_view key) const;

 private:
  std::string prefix_;
};

// Checks of a definition, a record or an identifier; kInvalid with a one-line reason.
Status check_network(const OverlayNetwork& n);
Status check_peer(const PeerRecord& p, const Prefix& subnet);
Status check_host_id(std::string_view host_id);

// Values. Encoders write keys in a fixed order, so equal records encode to equal bytes (the
// conditional deletes compare values). Decoders take a value read from etcd, check every field and
// the record itself, and refuse anything else (unknown fields are ignored, for later versions).
std::string encode_network(const OverlayNetwork& n);
Result<OverlayNetwork> decode_network(std::string_view value);
std::string encode_vni_owner(const OverlayNetwork& n);
Result<std::string> decode_vni_owner(std::string_view value);  // the network's name
std::string encode_address_owner(std::string_view host_id);
Result<std::string> decode_address_owner(std::string_view value);  // the host
std::string encode_peer(const PeerRecord& p);
Result<PeerRecord> decode_peer(std::string_view value, const Prefix& subnet);
std::string encode_host(const HostRecord& h);
Result<HostRecord> decode_host(std::string_view value);
std::string encode_ack(const AckRecord& a);
Result<AckRecord> decode_ack(std::string_view value);

// The MAC of an overlay endpoint: Docker's 02:42 followed by its IPv4 address (cnm::mac_from), so
// that MACs are unique wherever addresses are.
std::string overlay_mac(const IpAddr& ip);

}  // namespace cnm::cluster

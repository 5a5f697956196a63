// Network links, addresses and routes in one network namespace (docs/architecture.md section 2: the
// only code that talks to the kernel lives in cnm/kernel). Implementations: links_linux.cc
// (libnl-3) and tests/fakes/fake_links.h (a recording fake for tests).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/model/error.h"
#include "cnm/model/net.h"

namespace cnm::kernel {

struct LinkInfo {
  std::string name;
  int index = 0;
  std::string kind;  // "bridge", "veth", ... ("" for devices without a kind)
  unsigned mtu = 0;
  bool up = false;                // administratively up (IFF_UP)
  int master = 0;                 // ifindex of the master device, 0 if none
  std::vector<Prefix> addresses;  // interface addresses, address/len (not masked)
  uint32_t group = 0;             // IFLA_GROUP
  bool ours = false;              // carries this Links' mark (see owner_group)
};

// The mark of the links one state root makes: their IFLA_GROUP, set in the request that creates
// the link (so no crash leaves one of ours unmarked): 0x20000000 plus the low 29 bits of the root
// id (8 hex digits). So it is never 0 (every link's default group), never one of delete_links'
// temporary groups (0x40000000 and up), and positive, as `ip link` reads groups. While delete_links
// has a link in a temporary group, its alias "netctl:<group as 8 hex digits>" carries the mark
// instead. A name proves nothing.
uint32_t owner_group(std::string_view root_id);

class Links {
 public:
  virtual ~Links() = default;

  // Creates bridge `name` (EEXIST is Code::kConflict) with `mtu` (0: kernel default) and the mark,
  // then adds each address (address/len) and sets it up. On failure the bridge is removed again.
  virtual Status create_bridge(const std::string& name, unsigned mtu,
                               std::span<const Prefix> addresses) = 0;

  // Deletes the named links that carry the mark, in as few kernel requests as possible (one for
  // many: the kernel's per-request RCU wait dominates). A link that does not exist counts as
  // deleted; one without the mark is not netctl's (a pre-existing bridge it adopted, another root's
  // or tool's link of the same name) and is left as it is. Keeps going on errors and reports the
  // first.
  virtual Status delete_links(std::span<const std::string> names) = 0;

  // For a bridge netctl did not make (adopted): adds each address (address/len; one it has already
  // is Code::kConflict) and sets it up. A missing link is Code::kNotFound.
  virtual Status add_addresses(const std::string& name, std::span<const Prefix> addresses) = 0;
  // Takes those addresses back; a missing link or address counts as removed.
  virtual Status remove_addresses(const std::string& name, std::span<const Prefix> addresses) = 0;

  // The link called `name`, or nullopt.
  virtual Result<std::optional<LinkInfo>> get(const std::string& name) = 0;

  // Every link with its addresses.
  virtual Result<std::vector<LinkInfo>> list() = 0;

  // Every prefix that is in use in this namespace: interface subnets and route destinations
  // (default routes excluded), for automatic subnet choice.
  virtual Result<std::vector<Prefix>> used_prefixes() = 0;
};

// Writes and reads /proc/sys entries in the current network namespace.
class Sysctl {
 public:
  virtual ~Sysctl() = default;
  // `key` is relative to /proc/sys, e.g. "net/ipv4/ip_forward".
  virtual Status set(const std::string& key, const std::string& value) = 0;
  virtual Result<std::string> get(const std::string& key) = 0;
};

// `mark`: owner_group() of the state root.
std::unique_ptr<Links> make_linux_links(uint32_t mark);
std::unique_ptr<Sysctl> make_linux_sysctl();

}  // namespace cnm::kernel

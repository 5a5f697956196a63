// The kernel objects a transaction may leave behind after a crash, as typed values. Each is
// written into the intent journal as one JSON object with a "kind" key; recovery reads them back
// and removes what they name (Recovery::recover_intents).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <variant>
#include <vector>

#include "cnm/kernel/firewall.h"
#include "cnm/model/error.h"

namespace cnm {

// {"kind": "link", "name"}: a link (bridge, veth host end) to delete.
struct LinkIntent {
  std::string name;
};

// {"kind": "netns", "path"}: a named network namespace to unmount and remove.
struct NetnsIntent {
  std::string path;
};

// {"kind": "fw-network", "id12"}: a network's firewall rules, found by its 12-hex id prefix.
struct FwNetworkIntent {
  std::string id12;
};

// {"kind": "fw-ports", "id12", "bridge", "ip", ["ip6",] "ports"}: published-port rules, found by
// content (cnm/core/fw_intent.h has the layout).
struct FwPortsIntent {
  kernel::EndpointPorts ports;
};

// {"kind": "container", "id", "dir", "cgroup_version", "cgroup_parent", "cgroup_prefix"}: a
// container's directory and cgroup, whose leaf is `<cgroup_prefix>-<id>` (the state root's id; ""
// in an intent written before roots had ids: the bare `<id>`).
struct ContainerIntent {
  std::string id, dir, cgroup_version, cgroup_parent, cgroup_prefix;
};

// {"kind": "adopted", "bridge", "addresses", "route_localnet"}: what netctl added to a bridge it
// did not make (Network::adopted), to take back: those addresses, and route_localnet if set.
struct AdoptIntent {
  std::string bridge;
  std::vector<Prefix> addresses;
  bool route_localnet = false;
};

// {"kind": "overlay", "network"}: addresses and peer records this host may hold in the cluster
// store for a global-scope network without an endpoint record here: recovery compares what the
// host holds there with its endpoint records and frees the rest.
struct OverlayIntent {
  std::string network;
};

using Intent = std::variant<LinkIntent, NetnsIntent, FwNetworkIntent, FwPortsIntent,
                            ContainerIntent, AdoptIntent, OverlayIntent>;

// The journal object for `intent`.
nlohmann::json to_json(const Intent& intent);
// The inverse; Code::kInvalid for an unknown kind or a malformed object.
Result<Intent> parse_intent(const nlohmann::json& object);

}  // namespace cnm

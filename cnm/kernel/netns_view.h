// Reading inside another network namespace: one interface (for CNI CHECK: its MAC, MTU, state,
// addresses and the default routes through it), and the namespace's default routes (for the
// gateway decision of an attach). Nothing is changed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cnm/model/error.h"
#include "cnm/model/net.h"

namespace cnm::kernel {

struct IfaceView {
  std::string name;
  std::string mac;  // lower-case "aa:bb:cc:dd:ee:ff"
  unsigned mtu = 0;
  bool up = false;
  std::vector<Prefix> addresses;  // address/len
  std::vector<IpAddr> gateways;   // next hops of default routes (main table) through it
};

// Interface `ifname` in the namespace at `netns_path`: Code::kNotFound if the namespace or the
// interface does not exist.
Result<IfaceView> view_interface(const std::string& netns_path, const std::string& ifname);

// A default route of a namespace: main table, destination 0/0, whatever its metric and type
// (unicast, unreachable, blackhole: a VPN's kill switch is one too).
struct DefaultRouteView {
  bool v6 = false;
  std::string ifname;            // its (first) next hop's interface, "" without one
  std::optional<IpAddr> via;     // its (first) next hop's gateway, if any
  std::string type = "unicast";  // "unicast", "unreachable", "blackhole", "prohibit", ...
};

// The default routes of the namespace at `netns_path`, which must still be the namespace
// `netns_key` ("<dev>:<ino>", "" any): Code::kNotFound if it is gone or another one is there now.
Result<std::vector<DefaultRouteView>> view_default_routes(const std::string& netns_path,
                                                          const std::string& netns_key);

}  // namespace cnm::kernel

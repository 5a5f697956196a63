// Reading one interface inside another network namespace (for CNI CHECK): its MAC, MTU, state,
// addresses and the default routes through it. Nothing is changed.
#pragma once

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

}  // namespace cnm::kernel

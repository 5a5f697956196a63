#include "drivers/bridge/options.h"

#include <charconv>

#include "cnm/model/net.h"

namespace drivers {
namespace {

// Canonical key for each accepted spelling.
const std::map<std::string, std::string>& aliases() {
  static const std::map<std::string, std::string> m = {
      {"com.docker.network.bridge.name", "name"},
      {"bridge.name", "name"},
      {"com.docker.network.bridge.enable_icc", "icc"},
      {"icc", "icc"},
      {"com.docker.network.bridge.enable_ip_masquerade", "masquerade"},
      {"ip_masquerade", "masquerade"},
      {"masquerade", "masquerade"},
      {"com.docker.network.bridge.host_binding_ipv4", "host_binding_ipv4"},
      {"host_binding_ipv4", "host_binding_ipv4"},
      {"com.docker.network.driver.mtu", "mtu"},
      {"mtu", "mtu"},
      {"netctl.dns", "dns"},
  };
  return m;
}

cnm::Result<bool> parse_bool(const std::string& key, const std::string& v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return cnm::fail(cnm::Code::kInvalid, "option {}: '{}' is not true or false", key, v);
}

}  // namespace

cnm::Result<BridgeOptions> parse_bridge_options(const std::map<std::string, std::string>& opts) {
  BridgeOptions o;
  for (const auto& [key, value] : opts) {
    auto it = aliases().find(key);
    if (it == aliases().end())
      return cnm::fail(cnm::Code::kInvalid, "unknown bridge option '{}'", key);
    const std::string& k = it->second;
    if (k == "name") {
      if (value.empty() || value.size() > 15)
        return cnm::fail(cnm::Code::kInvalid,
                         "bridge name '{}': must be 1 to 15 characters (IFNAMSIZ)", value);
      if (value.find_first_of("/: \t\n") != std::string::npos || value == "." || value == "..")
        return cnm::fail(cnm::Code::kInvalid, "bridge name '{}': invalid character", value);
      o.name = value;
    } else if (k == "icc") {
      auto b = CNM_VALUE(parse_bool(key, value));
      o.icc = b;
    } else if (k == "dns") {
      auto b = CNM_VALUE(parse_bool(key, value));
      o.dns = b;
    } else if (k == "masquerade") {
      auto b = CNM_VALUE(parse_bool(key, value));
      o.masquerade = b;
    } else if (k == "host_binding_ipv4") {
      auto a = cnm::IpAddr::parse(value);
      if (!a || a->is_v6())
        return cnm::fail(cnm::Code::kInvalid, "option {}: '{}' is not an IPv4 address", key, value);
      o.host_binding_ipv4 = value;
    } else if (k == "mtu") {
      unsigned mtu = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), mtu);
      if (ec != std::errc{} || p != value.data() + value.size() || mtu < 68 || mtu > 65535)
        return cnm::fail(cnm::Code::kInvalid, "option {}: '{}' is not an MTU (68-65535)", key,
                         value);
      o.mtu = mtu;
    }
  }
  return o;
}

}  // namespace drivers

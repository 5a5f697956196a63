// The CNM objects as stored: Network, Endpoint, Sandbox. Bodies are JSON in the store.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cnm/ipam.h"
#include "cnm/ports.h"

namespace cnm {

struct Network {
  std::string id;  // 64 hex characters
  std::string name;
  std::string driver = "bridge";
  std::string created;  // RFC 3339, UTC
  bool ipv6 = false;
  bool internal = false;
  unsigned mtu = 0;                            // 0: driver default
  std::vector<Pool> pools;                     // IPv4 first, then IPv6
  std::map<std::string, std::string> options;  // driver options as given (-o)
  std::map<std::string, std::string> labels;
  std::string bridge;  // kernel device name (bridge driver), "" otherwise
};

// A veth pair joining a network to a namespace. `target` is what the user named, normalised:
// "sandbox:<id>", "container:<id>", "pid:<N>" or a namespace path.
struct Endpoint {
  std::string id;
  std::string network_id;
  std::string target;
  std::string sandbox_id;  // the sandbox or container id, "" for pid/path targets
  std::string netns_path;  // how the namespace was reached at connect time
  std::string netns_key;   // "<dev>:<ino>" of the namespace
  std::string ifname;      // inside the namespace
  std::string host_ifname;
  std::string mac;
  std::vector<Prefix> addresses;  // address/len
  std::vector<std::string> aliases;
  bool default_route = false;
  std::string created;
  std::vector<PortSpec> ports;    // published, with host ports chosen
  std::string container_id = {};  // the runtime's container ID (CNI_CONTAINERID), "" otherwise
};

// A named network namespace bind-mounted at `netns_path` (/run/netns/<name>).
struct Sandbox {
  std::string id;
  std::string name;
  std::string netns_path;
  std::string netns_key;
  std::string created;
};

void to_json(nlohmann::json& j, const Pool& p);
void from_json(const nlohmann::json& j, Pool& p);
void to_json(nlohmann::json& j, const Network& n);
void from_json(const nlohmann::json& j, Network& n);
void to_json(nlohmann::json& j, const Endpoint& e);
void from_json(const nlohmann::json& j, Endpoint& e);
void to_json(nlohmann::json& j, const Sandbox& s);
void from_json(const nlohmann::json& j, Sandbox& s);

// A fresh random 64-hex id.
std::string new_id();
// Current time as RFC 3339 with nanoseconds, UTC.
std::string now_rfc3339();

}  // namespace cnm

// Requests as a front end gives them (CLI flags, a CNI configuration); the services parse and
// validate every field.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace cnm {

// `netctl network create` as given by the user; the network service parses and validates every
// field.
struct NetworkCreateRequest {
  std::string name;
  std::string driver = "bridge";
  std::vector<std::string> subnets, gateways, ip_ranges;
  std::vector<std::string> aux;  // NAME=IP
  bool ipv6 = false;
  bool internal = false;
  unsigned mtu = 0;  // 0: from -o, the config, or 1500
  std::map<std::string, std::string> options, labels;
};

// `netctl network connect` as given by the user.
struct ConnectRequest {
  std::string network;
  std::string target;  // sandbox or container name or id, pid:N[@start], or a namespace path
  std::string ip, ip6, mac, ifname;
  std::vector<std::string> aliases;
  std::vector<std::string> publish;  // -p specs
  // --default-route: this endpoint must give the namespace its default route in each family of
  // the network; a namespace that already has one is refused (cnm/endpoint/README.md).
  bool default_route = false;
};

}  // namespace cnm

// Docker's remote NetworkDriver and IpamDriver protocols as pure functions: requests parsed into
// netctl requests, netctl objects turned into responses. No kernel, no store (unit tests).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cnm/model/error.h"
#include "cnm/model/ipam.h"
#include "cnm/model/model.h"
#include "cnm/model/requests.h"

namespace docker {

// The -o option that offers an existing netctl network to Docker instead of creating one.
inline constexpr const char* kOfferOption = "netctl.network";
// The label that ties a netctl network made by the plugin to its Docker network id.
inline constexpr const char* kNetworkLabel = "netctl.docker.network";
// The address space names GetDefaultAddressSpaces hands out (pool ids are "<space>/<cidr>").
inline constexpr const char* kLocalSpace = "netctl";
inline constexpr const char* kGlobalSpace = "netctl-global";

// A Docker id (network, endpoint): 64 lowercase hex digits, else Code::kInvalid naming `what`.
cnm::Status check_docker_id(const std::string& what, const std::string& id);

// The netctl name of the network made for Docker network `nid`: "docker-<first 12 hex>".
std::string network_name(const std::string& nid);
// The target key of the endpoint made for Docker endpoint `eid` ("docker:<eid>").
std::string endpoint_key(const std::string& eid);
// The peer's name until dockerd moves it into the container: "nd<first 12 hex>".
std::string peer_name(const std::string& eid);

// CreateNetwork: what to do with a Docker network.
struct NetworkPlan {
  std::string offered;               // -o netctl.network: use that netctl network, create nothing
  cnm::NetworkCreateRequest create;  // else: this one
};
// Parses a CreateNetwork body: NetworkID, Options (com.docker.network.generic: the -o options,
// com.docker.network.enable_ipv6, com.docker.network.internal), IPv4Data/IPv6Data (Pool,
// Gateway, AuxAddresses). Bad types are Code::kInvalid; netctl checks the values themselves.
cnm::Result<NetworkPlan> plan_network(const nlohmann::json& body);
// An offered network must have the pools Docker's IPAM gave (Code::kInvalid otherwise).
cnm::Status check_offer(const cnm::Network& n, const nlohmann::json& body);

// CreateEndpoint: the endpoint request (network set by the caller) from Interface (Address,
// AddressIPv6, MacAddress) and Options (com.docker.network.portmap: published ports; IPv6 host
// addresses are skipped, netctl publishes on IPv4).
cnm::Result<cnm::ConnectRequest> plan_endpoint(const nlohmann::json& body);
// -p specs from a com.docker.network.portmap list.
cnm::Result<std::vector<std::string>> port_specs(const nlohmann::json& portmap);
// The CreateEndpoint response: the fields of `ep` the request's Interface left empty.
nlohmann::json endpoint_response(const nlohmann::json& request_iface, const cnm::Endpoint& ep);
// The Join response: the peer to move and its prefix, and the gateways unless `n` is internal.
nlohmann::json join_response(const cnm::Network& n, const cnm::Endpoint& ep);

// IPAM. A pool id: "<space>/<cidr>[|<range cidr>]"; its subnet, or Code::kInvalid.
cnm::Result<cnm::Prefix> pool_subnet(const std::string& pool_id);
// The --ip-range a pool id carries, if any (Code::kInvalid for a malformed one).
cnm::Result<std::optional<cnm::Prefix>> pool_range(const std::string& pool_id);
// Whether a RequestPool body asks netctl to choose the subnet (no Pool, or an empty one).
bool wants_auto_pool(const nlohmann::json& body);
// RequestPool: the pool id and subnet for a body (AddressSpace, Pool, SubPool, V6). Without a
// Pool, `chosen` is the subnet (the caller took a free one from netctl's default pools). A SubPool
// (--ip-range) must lie in the subnet; it goes into the pool id. `existing` are the pools of
// netctl's networks and those promised but not yet created: an equal subnet is accepted (a network
// offered with -o netctl.network), an overlapping one is Code::kConflict naming it.
cnm::Result<nlohmann::json> request_pool(
    const nlohmann::json& body, const std::vector<std::pair<std::string, cnm::Prefix>>& existing,
    const std::optional<cnm::Prefix>& chosen = std::nullopt);
// The gateway Docker's IPAM asks for in a subnet without one: its first host address.
cnm::IpAddr first_host(const cnm::Prefix& subnet);

// The error bodies: NetworkDriver {"Err": ...}, IpamDriver {"Error": ...}.
nlohmann::json driver_error(const std::string& msg);
nlohmann::json ipam_error(const std::string& msg);

}  // namespace docker

// What the bridge driver asks of the firewall for a network or an endpoint.
#pragma once

#include "cnm/kernel/firewall.h"
#include "cnm/model/model.h"

namespace drivers {

// MASQUERADE, ICC, internal isolation and the localhost rules of network `n` (with its IPv6
// subnet for a dual-stack network).
cnm::kernel::NetworkRules network_rules(const cnm::Network& n);
// The DNAT rules of `ep`'s published ports (its IPv4 address, and its IPv6 one if it has one).
cnm::kernel::EndpointPorts endpoint_ports(const cnm::Network& n, const cnm::Endpoint& ep);

}  // namespace drivers

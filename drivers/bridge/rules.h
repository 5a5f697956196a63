// What the bridge driver asks of the firewall for a network or an endpoint.
#pragma once

#include "cnm/kernel/firewall.h"
#include "cnm/model.h"

namespace drivers {

// MASQUERADE, ICC, internal isolation and the localhost rules of network `n`.
cnm::kernel::NetworkRules network_rules(const cnm::Network& n);
// The DNAT/ACCEPT/hairpin rules of `ep`'s published ports (IPv4 address of the endpoint).
cnm::kernel::EndpointPorts endpoint_ports(const cnm::Network& n, const cnm::Endpoint& ep);

}  // namespace drivers

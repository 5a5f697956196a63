// Published ports as an intent object: a crashed connect or disconnect leaves the rules it may
// have written, and published-port rules are found by content, so the intent carries the
// mappings recovery needs to take them out.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "cnm/kernel/firewall.h"
#include "cnm/model/error.h"

namespace cnm {

// {"kind": "fw-ports", "id12", "bridge", "ip", ["ip6",] "ports": [[host_ip, host_port, port,
// count, proto], ...]} ("ip6": the endpoint's IPv6 address, when its ports map over IPv6 too).
nlohmann::json ports_intent(const kernel::EndpointPorts& e);
// The inverse; Code::kInvalid when `o` is not such an object.
Result<kernel::EndpointPorts> ports_from_intent(const nlohmann::json& o);

}  // namespace cnm

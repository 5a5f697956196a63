// JSON views of endpoints shared by `network inspect` and `sandbox inspect`.
#pragma once

#include <nlohmann/json.hpp>

#include "cnm/controller.h"

namespace cli {

// One endpoint as Docker shows a network's container entry, plus netctl's own fields.
nlohmann::json endpoint_json(cnm::Controller& c, const cnm::Endpoint& e);
// A network with its endpoints under "Containers", keyed by endpoint id.
cnm::Result<nlohmann::json> network_json(cnm::Controller& c, const cnm::Network& n);

}  // namespace cli

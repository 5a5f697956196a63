// The CNI result of an attachment, in the cniVersion the runtime asked for, and the CHECK
// comparison of an attachment with the prevResult a runtime kept.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cnm/model/model.h"

namespace cni {

// Interfaces (host end, then the container's with its sandbox), ips (with "version" before
// 1.0.0), default routes via the gateways, and dns: {"nameservers": [IPv4 gateway]} when the
// network serves DNS (cnm::dns_enabled), else {}.
nlohmann::json make_result(const std::string& cni_version, const cnm::Network& n,
                           const cnm::Endpoint& ep);

// "" if `prev` describes `ep` (same container interface, MAC and addresses), else the difference.
std::string compare_prev_result(const nlohmann::json& prev, const cnm::Endpoint& ep);

}  // namespace cni

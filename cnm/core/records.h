// Private to cnm/: store records to model objects (decode_one, decode_all: cnm/store/records.h)
// and the IPAM row keys.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "cnm/model/model.h"
#include "cnm/store/records.h"
#include "cnm/store/store.h"

namespace cnm {

// IPAM rows: a network's addresses per subnet, and its MACs.
inline std::string pool_key(const Network& n, const Pool& p) { return n.id + "/" + p.subnet.str(); }
inline std::string mac_pool(const Network& n) { return n.id + "/mac"; }

}  // namespace cnm

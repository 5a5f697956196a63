// Printing results: aligned tables, JSON, and one-line errors.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnm/model/error.h"

namespace cli {

// Prints rows (the first is the header) with columns padded like `docker network ls`.
void print_table(const std::vector<std::vector<std::string>>& rows);
void print_json(const nlohmann::json& j);
// Prints "netctl: <message>" on stderr, and {"error", "code"} on stdout when `json`: one line, its
// control characters escaped (cnm::printable).
void print_error(const cnm::Error& e, bool json);

}  // namespace cli

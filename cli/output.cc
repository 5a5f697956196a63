#include "cli/output.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>

namespace cli {

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(width[i] - row[i].size() + 3, ' ');
    }
    out += '\n';
  }
  std::fputs(out.c_str(), stdout);
}

void print_json(const nlohmann::json& j) { fmt::print("{}\n", j.dump(4)); }

void print_error(const cnm::Error& e, bool json) {
  // One line whatever the message quotes: control characters escaped (cnm::printable), and bytes
  // that are not UTF-8 replaced in the JSON (dump() would throw on them).
  std::string msg = cnm::printable(e.message);
  fmt::print(stderr, "netctl: {}\n", msg);
  if (json)
    fmt::print("{}\n", nlohmann::json{{"error", msg}, {"code", cnm::exit_code(e.code)}}.dump(
                           -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace cli

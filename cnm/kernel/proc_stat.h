// Fields of /proc/N/stat that tell one process from a later one with the same pid.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace cnm::kernel {

// From the text of /proc/N/stat: the state letter (field 3) and the start time (field 22). The
// command before them may hold spaces and parentheses, so fields count from the last ')'.
inline bool parse_proc_stat(std::string_view s, char& state, uint64_t& start) {
  size_t at = s.rfind(')');
  if (at == std::string_view::npos || at + 2 >= s.size()) return false;
  state = s[at + 2];
  int field = 2;
  for (size_t i = at + 1; i < s.size(); ++i)
    if (s[i] == ' ' && ++field == 22) {
      start = std::strtoull(std::string(s.substr(i + 1, 24)).c_str(), nullptr, 10);
      return true;
    }
  return false;
}

}  // namespace cnm::kernel

// What the test probes (etcd_probe, overlay_probe) share: errors reported as netctl reports them,
// comma lists, elapsed microseconds.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cnm/model/error.h"

namespace probe {

using Clock = std::chrono::steady_clock;

// Prints "TOOL: message" on stderr; returns netctl's exit code for the error's code.
inline int report(const char* tool, const cnm::Error& e) {
  std::fprintf(stderr, "%s: %s\n", tool, e.message.c_str());
  return cnm::exit_code(e.code);
}

inline std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t c; (c = s.find(',', start)) != std::string::npos; start = c + 1)
    out.push_back(s.substr(start, c - start));
  out.push_back(s.substr(start));
  return out;
}

inline long long micros_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

}  // namespace probe

// One line per change or error on stderr (ROOT/overlay/agent.log when started by a command),
// stamped with the UTC time and the agent's PID.
#pragma once

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace overlay {

template <class... A>
void log(fmt::format_string<A...> f, A&&... args) {
  auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::string line = fmt::format("{:%FT%T}Z netctl-overlay[{}]: ", now, getpid()) +
                     fmt::format(f, std::forward<A>(args)...) + "\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace overlay

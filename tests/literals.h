// Helpers the unit and privileged tests share: literal addresses parsed with a check (a typo in a
// test fails it with the text instead of dereferencing an error), and small lookups.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>

#include "cnm/model/net.h"

namespace cnm::testing {

inline IpAddr ip(std::string_view text) {
  auto r = IpAddr::parse(text);
  REQUIRE_MESSAGE(r.has_value(), text);
  return *r;
}

// A prefix; with `strict`, host bits are refused ("10.0.0.1/24").
inline Prefix cidr(std::string_view text, bool strict = true) {
  auto r = Prefix::parse(text, strict);
  REQUIRE_MESSAGE(r.has_value(), text);
  return *r;
}

// A prefix as written, host bits allowed.
inline Prefix pfx(std::string_view text) { return cidr(text, false); }

// The network namespace of the calling thread, as /proc names it ("net:[4026531840]").
inline std::string own_netns() { return std::filesystem::read_symlink("/proc/thread-self/ns/net"); }

template <typename Range, typename T>
bool contains(const Range& range, const T& value) {
  return std::find(std::begin(range), std::end(range), value) != std::end(range);
}

}  // namespace cnm::testing

// Small helpers shared by the IPAM unit tests: parse-or-fail and error inspection.
#pragma once

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/model/ipam.h"
#include "cnm/model/net.h"
#include "tests/literals.h"

namespace ipam_test {

using cnm::testing::cidr;
using cnm::testing::ip;

inline std::vector<cnm::Prefix> cidrs(std::initializer_list<std::string_view> list,
                                      bool strict = true) {
  std::vector<cnm::Prefix> out;
  for (auto s : list) out.push_back(cidr(s, strict));
  return out;
}

inline std::vector<cnm::IpAddr> ips(std::initializer_list<std::string_view> list) {
  std::vector<cnm::IpAddr> out;
  for (auto s : list) out.push_back(ip(s));
  return out;
}

// A request for `subnet` (empty: automatic choice) of one family.
inline cnm::PoolRequest req(std::string_view subnet, bool v6 = false) {
  cnm::PoolRequest r;
  r.v6 = v6;
  if (!subnet.empty()) r.subnet = cidr(subnet);
  return r;
}

template <class T>
cnm::Code code_of(const cnm::Result<T>& r) {
  return r ? cnm::Code::kOk : r.error().code;
}

template <class T>
std::string message_of(const cnm::Result<T>& r) {
  return r ? std::string("<ok>") : r.error().message;
}

}  // namespace ipam_test

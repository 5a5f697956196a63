// cnm::rfc3339: UTC stamps by calendar arithmetic, checked against dates `date -u` gives.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>

#include "cnm/model/model.h"

namespace {

std::chrono::system_clock::time_point at(long long secs, long long nanos = 0) {
  return std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds{secs} + std::chrono::nanoseconds{nanos})};
}

TEST_CASE("rfc3339 formats UTC with nanoseconds across leap days and centuries") {
  CHECK(cnm::rfc3339(at(0)) == "1970-01-01T00:00:00.000000000Z");
  CHECK(cnm::rfc3339(at(1795890254, 123456789)) == "2026-11-28T18:24:14.123456789Z");
  CHECK(cnm::rfc3339(at(951782400)) == "2000-02-29T00:00:00.000000000Z");
  CHECK(cnm::rfc3339(at(4107542399, 999999999)) == "2100-02-28T23:59:59.999999999Z");
}

TEST_CASE("rfc3339 ignores the time zone") {
  setenv("TZ", "Pacific/Kiritimati", 1);  // UTC+14
  CHECK(cnm::rfc3339(at(0)) == "1970-01-01T00:00:00.000000000Z");
  unsetenv("TZ");
  auto now = cnm::now_rfc3339();
  CHECK(now.size() == 30);
  CHECK(now.back() == 'Z');
}

}  // namespace

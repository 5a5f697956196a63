#include "drivers/null/null.h"

namespace drivers {

cnm::Status NoopDriver::prepare(cnm::Network& n, std::span<const cnm::Network> existing,
                                const cnm::DriverDefaults&) const {
  if (!n.options.empty())
    return cnm::fail(cnm::Code::kInvalid, "unknown {} option '{}'", name_,
                     n.options.begin()->first);
  // Like Docker, one network per such driver: they all mean the same thing.
  for (const auto& other : existing)
    if (other.driver == name_)
      return cnm::fail(cnm::Code::kConflict, "only one {} network is allowed (network {} exists)",
                       name_, other.name);
  return {};
}

}  // namespace drivers

// The host and null drivers: no kernel objects and no addressing. A container on "host" shares the
// host's network namespace; on "null" it has only loopback.
#pragma once

#include "cnm/core/driver.h"

namespace drivers {

class NoopDriver : public cnm::Driver {
 public:
  explicit NoopDriver(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  bool uses_ipam() const override { return false; }
  // No bridge, no endpoints: nothing to publish or route.
  bool has_bridge() const override { return false; }
  bool can_publish() const override { return false; }
  bool routes_default() const override { return false; }
  cnm::Status prepare(cnm::Network& n, std::span<const cnm::Network> existing,
                      const cnm::DriverDefaults& defaults) const override;
  cnm::Status create(cnm::Txn&, cnm::Network&, std::span<const cnm::Network>) override {
    return {};
  }
  cnm::Status plan_remove(cnm::Txn&, std::span<const cnm::Network>) override { return {}; }
  cnm::Status remove(std::span<const cnm::Network>, std::span<const cnm::Network>) override {
    return {};
  }
  cnm::Status join(cnm::Txn&, const cnm::Network& n, const cnm::Endpoint&,
                   std::span<const cnm::IpAddr>) override {
    return cnm::fail(cnm::Code::kInvalid, "network {} (driver {}) takes no endpoints", n.name,
                     name_);
  }
  cnm::Status plan_leave(cnm::Txn&, const cnm::Network&, std::span<const cnm::Endpoint>) override {
    return {};
  }
  cnm::Status leave(const cnm::Network&, std::span<const cnm::Endpoint>) override { return {}; }

 private:
  std::string name_;
};

}  // namespace drivers

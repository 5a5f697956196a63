#include "drivers/builtin.h"

#include "drivers/bridge/bridge.h"
#include "drivers/null/null.h"
#include "drivers/overlay/overlay.h"

namespace drivers {

cnm::Registry builtin_registry() {
  cnm::Registry r;
  r.add_driver("bridge",
               [](const cnm::KernelContext& k) { return std::make_unique<BridgeDriver>(k); });
  r.add_driver("overlay",
               [](const cnm::KernelContext& k) { return std::make_unique<OverlayDriver>(k); });
  r.add_driver("host",
               [](const cnm::KernelContext&) { return std::make_unique<NoopDriver>("host"); });
  r.add_driver("null",
               [](const cnm::KernelContext&) { return std::make_unique<NoopDriver>("null"); });
  return r;
}

}  // namespace drivers

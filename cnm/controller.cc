#include "cnm/controller.h"

namespace cnm {

Controller::Controller(Config config, store::Store& store, const Ipam& ipam, KernelContext kernel,
                       Registry registry, DnsControl* dns)
    : ctx_{.config = std::move(config),
           .store = store,
           .ipam = ipam,
           .kernel = kernel,
           .registry = std::move(registry),
           .dns = dns,
           .recover = {}} {
  ctx_.recover = [this](const store::WriteLock& lock) { return rec_.recover(lock); };
}

}  // namespace cnm

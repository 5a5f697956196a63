#include "cnm/controller.h"

namespace cnm {

Controller::Controller(Config config, store::Store& store, const Ipam& ipam, KernelContext kernel,
                       Registry registry)
    : ctx_{.config = std::move(config),
           .store = store,
           .ipam = ipam,
           .kernel = kernel,
           .registry = std::move(registry),
           .recover = {}} {
  ctx_.recover = [this](const store::WriteLock& lock) { return rec_.recover(lock); };
}

}  // namespace cnm

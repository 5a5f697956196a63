#include "cli/context.h"

namespace cli {

cnm::Result<cnm::Config> Context::config() {
  bool given = !globals_.config.empty();
  return cnm::load_config(given ? globals_.config : cnm::kDefaultConfigPath, given);
}

cnm::Result<std::string> Context::root() {
  auto c = CNM_VALUE(config());
  return cnm::resolve_root(globals_.root, c);
}

cnm::Result<cnm::Controller*> Context::controller() {
  if (runtime_) return &runtime_->controller();
  auto c = CNM_VALUE(config());
  auto rt = CNM_VALUE(cnm::Runtime::open(c, cnm::resolve_root(globals_.root, c)));
  runtime_ = std::move(rt);
  return &runtime_->controller();
}

}  // namespace cli

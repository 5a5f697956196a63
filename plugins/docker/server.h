// The HTTP side of netctl-docker: Docker's plugin protocol (POST /<Interface>.<Method>, JSON
// bodies) over a unix socket, served with Boost.Beast.
#pragma once

#include <string>

#include "plugins/docker/plugin.h"

namespace docker {

// Serves `plugin` on a unix socket at `path` (a stale socket file is replaced) until the process
// is signalled. Each connection has a thread; calls into `plugin` are serialised. Returns only on
// a setup error (Code::kFailed naming it).
cnm::Status serve(Plugin& plugin, const std::string& path);

}  // namespace docker

// The exec stub (dmz/main.c) as a sealed, private executable. Every workload and every `netctl
// exec` is started through a fresh copy of it, so nothing inside a container runs with the host's
// netctl binary as its executable (cnm/launcher/README.md, "The host binary").
#pragma once

#include "cnm/kernel/fd.h"
#include "cnm/model/error.h"

namespace cnm::launcher {

// A memfd (close-on-exec) holding the stub, sealed against writes, growth and shrinking. execveat
// of it with AT_EMPTY_PATH starts the stub; argv[0] must be kDmzName.
Result<kernel::Fd> sealed_dmz();

inline constexpr const char* kDmzName = "netctl-dmz";

}  // namespace cnm::launcher

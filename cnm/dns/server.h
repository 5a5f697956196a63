// netctl-dns: one DNS server per state root, in the host's network namespace, listening on port 53
// (UDP and TCP) of every DNS network's gateway. Names come from the store: the zone is built again
// whenever the store changed (checked after every batch of queries is read, so a name resolves as
// soon as the command that made it returns) and on a "sync" request on ROOT/dns/sock.
#pragma once

#include <string>

#include "cnm/dns/limits.h"

namespace cnm::dns {

struct ServerOptions {
  std::string root;  // the state root
  Limits limits;
  // Where to say "ok\n" once serving, or "idle\n" when there is nothing to serve; -1: nowhere.
  int ready_fd = -1;
};

// Serves until no DNS network has endpoints (exit 0) or SIGTERM; the caller holds ROOT/dns/lock.
// Returns the process's exit code.
int serve(const ServerOptions& options);

}  // namespace cnm::dns

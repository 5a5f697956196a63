#include "cnm/kernel/firewall_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace cnm::kernel {

Result<XtablesLock> XtablesLock::take(std::chrono::milliseconds wait) {
  const char* env = std::getenv("XTABLES_LOCKFILE");
  std::string path = env != nullptr && *env != '\0' ? env : "/run/xtables.lock";
  Fd fd(open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid())
    return fail(Code::kFailed, "open xtables lock {}: {}", path, std::strerror(errno));
  auto deadline = std::chrono::steady_clock::now() + wait;
  auto pause = std::chrono::milliseconds(1);
  while (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK)
      return fail(Code::kFailed, "take xtables lock {}: {}", path, std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(Code::kFailed, "take xtables lock {}: still held by another process after {} ms",
                  path, wait.count());
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return XtablesLock(std::move(fd));
}

}  // namespace cnm::kernel

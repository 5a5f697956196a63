// sealed_dmz (dmz.h): the stub's bytes are linked into netctl (dmz_blob.cc) and copied into a
// sealed memfd per container start (~17 KiB: a few pages, tens of microseconds).
#include "cnm/launcher/dmz.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern "C" const char netctl_dmz_start[];
extern "C" const char netctl_dmz_end[];

namespace cnm::launcher {

Result<kernel::Fd> sealed_dmz() {
  kernel::Fd fd(memfd_create(kDmzName, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return fail(Code::kFailed, "memfd_create: {}", std::strerror(errno));
  const char* at = netctl_dmz_start;
  while (at < netctl_dmz_end) {
    ssize_t n = write(fd.get(), at, static_cast<size_t>(netctl_dmz_end - at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(Code::kFailed, "write the exec stub: {}", std::strerror(errno));
    at += n;
  }
  constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (fcntl(fd.get(), F_ADD_SEALS, kSeals) != 0)
    return fail(Code::kFailed, "seal the exec stub: {}", std::strerror(errno));
  return fd;
}

}  // namespace cnm::launcher

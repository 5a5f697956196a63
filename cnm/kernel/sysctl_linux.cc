// Sysctl over /proc/sys. /proc/sys/net follows the network namespace of the calling thread.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cnm/kernel/fd.h"
#include "cnm/kernel/links.h"

namespace cnm::kernel {
namespace {

// Keys are relative paths under /proc/sys; anything that could leave it is refused.
bool valid_key(const std::string& key) {
  return !key.empty() && key.front() != '/' && key.find("..") == std::string::npos &&
         key.find('\0') == std::string::npos;
}

class LinuxSysctl final : public Sysctl {
 public:
  Status set(const std::string& key, const std::string& value) override {
    if (!valid_key(key)) return fail(Code::kInvalid, "set sysctl '{}': invalid key", key);
    Fd fd(open(("/proc/sys/" + key).c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) return fail(Code::kFailed, "set sysctl {}: {}", key, std::strerror(errno));
    std::string line = value + "\n";
    ssize_t n = write(fd.get(), line.data(), line.size());
    if (n < 0) return fail(Code::kFailed, "set sysctl {}={}: {}", key, value, std::strerror(errno));
    if (static_cast<size_t>(n) != line.size())
      return fail(Code::kFailed, "set sysctl {}={}: short write", key, value);
    return {};
  }

  Result<std::string> get(const std::string& key) override {
    if (!valid_key(key)) return fail(Code::kInvalid, "read sysctl '{}': invalid key", key);
    Fd fd(open(("/proc/sys/" + key).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return fail(Code::kFailed, "read sysctl {}: {}", key, std::strerror(errno));
    std::string out;
    char buf[4096];
    ssize_t n = 0;
    while ((n = read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    if (n < 0) return fail(Code::kFailed, "read sysctl {}: {}", key, std::strerror(errno));
    auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
    while (!out.empty() && is_space(out.back())) out.pop_back();
    size_t start = 0;
    while (start < out.size() && is_space(out[start])) ++start;
    return out.substr(start);
  }
};

}  // namespace

std::unique_ptr<Sysctl> make_linux_sysctl() { return std::make_unique<LinuxSysctl>(); }

}  // namespace cnm::kernel

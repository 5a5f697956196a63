// seccomp_for (seccomp.h): the profile named by --security-opt, compiled or read from the cache.
// Compiling the default profile costs libseccomp ~25 ms (x86_64 with x86 and x32); a cached
// program is one small file read (~0.04 ms).
#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cnm/kernel/fd.h"
#include "cnm/launcher/seccomp.h"

namespace cnm::launcher {
namespace {

// File layout: magic, key length, instruction count (native endian), key, instructions.
constexpr char kMagic[8] = {'N', 'C', 'S', 'E', 'C', 'B', 'P', '1'};
struct Header {
  char magic[8];
  uint32_t key_len;
  uint32_t count;
};
constexpr size_t kMaxFile = 4 << 20;

// Everything the compiled program depends on; stored in the file and compared in full, so a hash
// collision can never hand out another profile's program.
std::string cache_key(const std::string& profile, uint64_t caps) {
  const scmp_version* v = seccomp_version();
  utsname u{};
  uname(&u);
  return fmt::format("libseccomp {}.{}.{}\narch {}\nkernel {}\ncaps {:x}\n{}", v->major, v->minor,
                     v->micro, seccomp_arch_native(), u.release, caps, profile);
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// The cached program, or nullopt for a missing, foreign or damaged file.
std::optional<std::vector<sock_filter>> read_cache(const std::string& path,
                                                   const std::string& key) {
  kernel::Fd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & 022) != 0 || static_cast<size_t>(st.st_size) < sizeof(Header) ||
      static_cast<size_t>(st.st_size) > kMaxFile)
    return std::nullopt;
  std::string data(static_cast<size_t>(st.st_size), '\0');
  if (pread(fd.get(), data.data(), data.size(), 0) != st.st_size) return std::nullopt;
  Header h;
  memcpy(&h, data.data(), sizeof h);
  size_t want = sizeof h + h.key_len + size_t{h.count} * sizeof(sock_filter);
  if (memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.count == 0 || h.count > BPF_MAXINSNS ||
      want != data.size() || std::string_view(data).substr(sizeof h, h.key_len) != key)
    return std::nullopt;
  std::vector<sock_filter> insns(h.count);
  memcpy(insns.data(), data.data() + sizeof h + h.key_len, h.count * sizeof(sock_filter));
  return insns;
}

// Best effort: a cache that cannot be written only costs the next run a compile.
void write_cache(const std::string& dir, const std::string& path, const std::string& key,
                 const std::vector<sock_filter>& insns) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return;
  Header h{};
  memcpy(h.magic, kMagic, sizeof kMagic);
  h.key_len = static_cast<uint32_t>(key.size());
  h.count = static_cast<uint32_t>(insns.size());
  std::string data(reinterpret_cast<const char*>(&h), sizeof h);
  data += key;
  data.append(reinterpret_cast<const char*>(insns.data()), insns.size() * sizeof(sock_filter));
  std::string tmp = fmt::format("{}.{}.tmp", path, getpid());
  unlink(tmp.c_str());  // left by a crashed run with the same pid
  kernel::Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return;
  bool ok = write(fd.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size());
  fd.reset();
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) unlink(tmp.c_str());
}

}  // namespace

Result<SeccompProgram> seccomp_for(const std::string& spec, uint64_t caps,
                                   const std::string& cache_dir) {
  if (spec == "unconfined") return SeccompProgram{{}, true};
  std::optional<seccomp::Profile> profile;
  if (!spec.empty()) {
    auto parsed = CNM_VALUE(seccomp::parse_profile(spec));
    profile = std::move(parsed);
  }
  if (cache_dir.empty()) return compile(profile ? *profile : seccomp::default_profile(), caps);
  // The default is named by its tables, so that a hit never builds it.
  std::string key =
      cache_key(profile ? seccomp::fingerprint(*profile) : seccomp::default_profile_key(), caps);
  std::string path = fmt::format("{}/{:016x}.bpf", cache_dir, fnv1a(key));
  if (auto hit = read_cache(path, key)) return SeccompProgram{std::move(*hit), false};
  auto program = compile(profile ? *profile : seccomp::default_profile(), caps);
  if (program) write_cache(cache_dir, path, key, program->insns);
  return program;
}

}  // namespace cnm::launcher

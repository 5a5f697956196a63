#include "cnm/kernel/firewall_host.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "cnm/kernel/fd.h"

namespace cnm::kernel {

std::vector<std::string> legacy_tables(bool ipv6, const std::string& proc_net) {
  std::ifstream in(proc_net + (ipv6 ? "/ip6_tables_names" : "/ip_tables_names"));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

bool iptables_is_nft() {
  for (const char* p : {"/usr/sbin/iptables", "/sbin/iptables"}) {
    std::error_code ec;
    auto real = std::filesystem::canonical(p, ec);
    if (!ec) return real.filename().string().find("nft") != std::string::npos;
  }
  return false;
}

std::string nft_ruleset_json() {
  const char* nft = nullptr;
  for (const char* p : {"/usr/sbin/nft", "/sbin/nft"})
    if (access(p, X_OK) == 0) {
      nft = p;
      break;
    }
  if (nft == nullptr) return "";
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "";
  kernel::Fd rd(fds[0]), wr(fds[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {nft, "-j", "list", "ruleset", nullptr};
  const char* envp[] = {nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, nft, &fa, nullptr, const_cast<char* const*>(argv),
                       const_cast<char* const*>(envp));
  posix_spawn_file_actions_destroy(&fa);
  wr.reset();
  if (rc != 0) return "";
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? out : "";
}

}  // namespace cnm::kernel

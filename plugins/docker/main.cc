// netctl-docker: Docker's remote NetworkDriver and IpamDriver over netctl's state.
// Usage: netctl-docker [--socket PATH] [--root ROOT] [--config FILE]
#include <fmt/format.h>
#include <sys/stat.h>

#include <csignal>
#include <string>
#include <string_view>

#include "cnm/runtime.h"
#include "plugins/docker/server.h"

namespace {

constexpr const char* kDefaultSocket = "/run/docker/plugins/netctl.sock";

int usage(const std::string& why) {
  fmt::print(stderr,
             "netctl-docker: {}\nusage: netctl-docker [--socket PATH] [--root ROOT] "
             "[--config FILE]\n",
             why);
  return 2;
}

// mkdir -p of the socket's directory.
void make_parents(const std::string& path) {
  for (size_t i = 1; (i = path.find('/', i)) != std::string::npos; ++i)
    mkdir(path.substr(0, i).c_str(), 0755);
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket = kDefaultSocket, root, config_path;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string* into = a == "--socket"   ? &socket
                        : a == "--root"   ? &root
                        : a == "--config" ? &config_path
                                          : nullptr;
    if (into == nullptr) return usage(fmt::format("unknown argument '{}'", a));
    if (i + 1 >= argc) return usage(fmt::format("{} needs a value", a));
    *into = argv[++i];
  }
  if (socket.empty() || socket[0] != '/') return usage("--socket must be an absolute path");
  bool given = !config_path.empty();
  auto config = cnm::load_config(given ? config_path : cnm::kDefaultConfigPath, given);
  if (!config) return usage(config.error().message);
  root = cnm::resolve_root(root, *config);
  if (root.empty() || root[0] != '/') return usage("the state root must be an absolute path");
  signal(SIGPIPE, SIG_IGN);
  make_parents(socket);
  docker::Plugin plugin(*config, root);
  fmt::print(stderr, "netctl-docker: serving {} (state root {})\n", socket, root);
  auto st = docker::serve(plugin, socket);
  fmt::print(stderr, "netctl-docker: {}\n", st.error().message);
  return 1;
}

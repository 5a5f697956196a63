// `netctl plugin serve`: runs netctl-docker, Docker's remote network and IPAM driver
// (plugins/docker), from netctl's own directory with the state root netctl would use.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/commands.h"

namespace cli {
namespace {

// netctl-docker beside this netctl executable.
std::string docker_plugin_path() {
  std::string exe(4096, '\0');
  ssize_t n = readlink("/proc/self/exe", exe.data(), exe.size() - 1);
  if (n <= 0) return "netctl-docker";
  exe.resize(n);
  auto slash = exe.rfind('/');
  return (slash == std::string::npos ? std::string(".") : exe.substr(0, slash)) + "/netctl-docker";
}

}  // namespace

void add_plugin_commands(CLI::App& app, Context& ctx, cnm::Status& status) {
  auto* plugin = app.add_subcommand("plugin", "Docker plugin (remote network and IPAM driver)");
  plugin->require_subcommand(1);
  auto* serve = plugin->add_subcommand("serve", "Serve Docker's NetworkDriver and IpamDriver");
  static std::string socket = "/run/docker/plugins/netctl.sock";
  serve->add_option("--socket", socket, "Unix socket dockerd finds the plugin at");
  serve->callback([&ctx, &status] {
    auto root = ctx.root();
    if (!root) {
      status = std::unexpected(root.error());
      return;
    }
    std::string exe = docker_plugin_path();
    std::vector<std::string> args = {exe, "--socket", socket, "--root", *root};
    if (!ctx.globals().config.empty()) args.insert(args.end(), {"--config", ctx.globals().config});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    status = cnm::fail(cnm::Code::kFailed, "exec {}: {}", exe, strerror(errno));
  });
}

}  // namespace cli

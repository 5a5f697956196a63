// netctl-cni: the CNI plugin over netctl's controller (plugins/README.md).
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "plugins/cni/plugin.h"

namespace {

void take(const char* name, std::string& out, bool* present = nullptr) {
  const char* v = std::getenv(name);
  if (present != nullptr) *present = v != nullptr && *v != '\0';
  out = v != nullptr ? v : "";
}

}  // namespace

int main() {
  mallopt(M_ARENA_MAX, 1);  // as netctl (cli/main.cc): no arena for the namespace thread
  cni::Env env;
  take("CNI_COMMAND", env.command);
  take("CNI_CONTAINERID", env.container_id, &env.has_container_id);
  take("CNI_NETNS", env.netns, &env.has_netns);
  take("CNI_IFNAME", env.ifname, &env.has_ifname);
  take("CNI_ARGS", env.args);
  // read(2) rather than iostreams: a CNI call is a process start, and std::cin's set-up costs.
  // One byte past cni::kMaxStdin at most: enough for run() to tell the input is too long.
  std::string in;
  if (env.command != "VERSION" || !isatty(0)) {
    char buf[65536];
    while (in.size() <= cni::kMaxStdin) {
      size_t want = std::min(sizeof buf, cni::kMaxStdin + 1 - in.size());
      ssize_t n = read(0, buf, want);
      if (n == 0) break;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;  // decoding what arrived reports the problem
      in.append(buf, static_cast<size_t>(n));
    }
  }
  std::string out;
  std::unique_ptr<cnm::Runtime> rt;
  int rc = cni::run(env, in, out, &rt);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return cnm::end_process(rt.get(), rc);
}

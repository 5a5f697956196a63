// One invocation of netctl-cni: the CNI_* environment and stdin in, stdout text and exit status
// out. main.cc only gathers the inputs; everything else happens here.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "cnm/runtime.h"

namespace cni {

struct Env {
  std::string command;       // CNI_COMMAND
  std::string container_id;  // CNI_CONTAINERID
  std::string netns;         // CNI_NETNS
  std::string ifname;        // CNI_IFNAME
  std::string args;          // CNI_ARGS
  bool has_container_id = false, has_netns = false, has_ifname = false;
};

// The most of stdin netctl-cni reads: a longer configuration is kDecodeFailure (code 6).
inline constexpr size_t kMaxStdin = size_t{1} << 20;

// Runs the command; writes the result (or the error object) to `out`. Returns the exit status: 0,
// or 1 with an error object {"cniVersion","code","msg","details"} in `out`. `stdin_text` over
// kMaxStdin fails with kDecodeFailure, nothing of it parsed and nothing changed.
// With `keep`, the controller's runtime the command opened (if it got that far) is handed over
// instead of closed, for the caller to end the process with (cnm::end_process).
int run(const Env& env, std::string_view stdin_text, std::string& out,
        std::unique_ptr<cnm::Runtime>* keep = nullptr);

}  // namespace cni

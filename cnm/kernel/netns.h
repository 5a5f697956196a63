// Private to cnm/kernel: reaching into another network namespace without ever switching the calling
// thread (DESIGN section 11). A thread that enters a namespace is a short-lived one that exits
// right after, so no thread of the process is ever left in a foreign namespace.
#pragma once

#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

#include "cnm/error.h"
#include "cnm/kernel/fd.h"
#include "cnm/kernel/nl.h"

namespace cnm::kernel {

// Runs `fn()` (returning a Result) on a new thread, waits for it and returns its result; a thread
// that cannot be started is Code::kFailed.
template <class Fn>
std::invoke_result_t<Fn&> on_new_thread(Fn fn) {
  std::optional<std::invoke_result_t<Fn&>> out;
  try {
    std::thread([&] { out.emplace(fn()); }).join();
  } catch (const std::system_error& e) {
    return fail(Code::kFailed, "start a thread: {}", e.what());
  }
  return std::move(*out);
}

// Opens the network namespace at `path` (a bind mount, /proc/N/ns/net, ...): Code::kNotFound
// "network namespace <path> not found" if there is none, Code::kInvalid if `path` is something
// else.
Result<Fd> open_netns(const std::string& path);

// A NETLINK_ROUTE socket bound to the namespace `netns` refers to (opened on a short-lived thread
// that entered it). `path` names the namespace in errors.
Result<nl::Socket> socket_in(const Fd& netns, const std::string& path);

}  // namespace cnm::kernel

// Private to cnm/kernel: reaching into another network namespace without ever switching the calling
// thread (docs/architecture.md section 5). A thread that enters a namespace is a short-lived one
// that exits right after, so no thread of the process is ever left in a foreign namespace.
#pragma once

#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

#include "cnm/kernel/fd.h"
#include "cnm/kernel/nl.h"
#include "cnm/model/error.h"

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

// Sockets bound to one network namespace: they keep talking to it whatever thread uses them.
struct NetnsSockets {
  nl::Socket route;  // NETLINK_ROUTE
  Fd inet;           // AF_INET datagram socket, for interface ioctls (ifindex_of)
};

// Opens NetnsSockets inside the namespace `netns` refers to, on a thread that enters it, while the
// caller goes on; get() waits for them. `netns` must stay open until get() returns (or the opener
// is destroyed, which also waits).
class SocketOpener {
 public:
  // `path` names the namespace in errors.
  SocketOpener(const Fd& netns, std::string path);
  SocketOpener(const SocketOpener&) = delete;  // the thread writes into this object
  SocketOpener& operator=(const SocketOpener&) = delete;
  // The sockets, or why they could not be opened. Call once.
  Result<NetnsSockets> get();

 private:
  std::string path_;
  std::optional<Result<NetnsSockets>> result_;
  std::jthread thread_;  // last: joins (in its destructor) before result_ goes
};

// NetnsSockets for the namespace `netns` refers to (SocketOpener, waited for).
inline Result<NetnsSockets> sockets_in(const Fd& netns, const std::string& path) {
  return SocketOpener(netns, path).get();
}

// NetnsSockets::inet for the calling thread's namespace.
Result<Fd> open_inet_socket();

// The index of link `name` in the namespace of `inet` (SIOCGIFINDEX: ~1 us, against ~15 us for a
// netlink request); errno on failure (ENODEV: no such link).
std::expected<int, int> ifindex_of(const Fd& inet, const std::string& name);

}  // namespace cnm::kernel

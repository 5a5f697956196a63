// A NETLINK_ROUTE listener for privileged tests: which link names a namespace announced.
#pragma once

#include <string>
#include <vector>

namespace priv {

// Subscribes to link notifications (RTMGRP_LINK) in the calling thread's network namespace on
// construction; names() returns the interface names of every RTM_NEWLINK/RTM_DELLINK received
// since. Throws std::runtime_error if the socket cannot be opened.
class LinkMonitor {
 public:
  LinkMonitor();
  LinkMonitor(const LinkMonitor&) = delete;
  LinkMonitor& operator=(const LinkMonitor&) = delete;
  ~LinkMonitor();

  std::vector<std::string> names();

 private:
  int fd_ = -1;
};

}  // namespace priv

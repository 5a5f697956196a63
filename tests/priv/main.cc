// Doctest main of netctl_priv: refuses to run without root, then isolates the whole process from
// the host's network before the first test case runs.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <exception>

#include "tests/priv/priv.h"

int main(int argc, char** argv) {
  if (geteuid() != 0) {
    std::fprintf(stderr,
                 "netctl_priv: must run as root: it creates links, routes and rules inside "
                 "throwaway network namespaces (never the host's own)\n");
    return 2;
  }
  try {
    priv::isolate_process();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netctl_priv: cannot isolate from the host: %s\n", e.what());
    return 2;
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}

// The YAML config: defaults, pools by family, MTU, root, and errors naming file and line.
#include "cnm/core/config.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>

namespace {

std::string write_tmp(const std::string& text) {
  char path[] = "/tmp/netctl-config.XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("a missing default config gives the built-in defaults; a missing --config is an error") {
  auto c = cnm::load_config("/nonexistent/netctl.yaml", false);
  REQUIRE(c);
  CHECK(c->mtu == 1500);
  CHECK(c->root.empty());
  REQUIRE(c->pools_v4.size() == 16);
  CHECK(c->pools_v4.front().base.str() == "172.17.0.0/16");
  CHECK(c->pools_v4.back().base.str() == "192.168.0.0/16");
  CHECK(c->pools_v4.back().size == 20);
  CHECK(c->pools_v6.empty());
  auto r = cnm::load_config("/nonexistent/netctl.yaml", true);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == cnm::Code::kInvalid);
}

TEST_CASE("pools, mtu and root are read; pools replace the defaults and split by family") {
  auto path = write_tmp(
      "root: /srv/netctl\nmtu: 9000\ndefault-address-pools:\n"
      "  - {base: 10.200.0.0/16, size: 24}\n  - {base: fd00:200::/48, size: 64}\n");
  auto c = cnm::load_config(path, true);
  unlink(path.c_str());
  REQUIRE(c);
  CHECK(c->root == "/srv/netctl");
  CHECK(c->mtu == 9000);
  REQUIRE(c->pools_v4.size() == 1);
  CHECK(c->pools_v4[0].base.str() == "10.200.0.0/16");
  CHECK(c->pools_v4[0].size == 24);
  REQUIRE(c->pools_v6.size() == 1);
  CHECK(c->pools_v6[0].size == 64);
}

TEST_CASE("bad configs are Code::kInvalid naming the file and the line") {
  const char* bad[] = {
      "mtu: [\n",                                                    // malformed YAML
      "mtu: 1500\nfrobnicate: 1\n",                                  // unknown key
      "mtu: 20\n",                                                   // out of range
      "root: relative/path\n",                                       // not absolute
      "default-address-pools:\n  - {base: 10.0.0.1/8, size: 24}\n",  // host bits
      "default-address-pools:\n  - {base: 10.0.0.0/16, size: 8}\n",  // size < base
      "default-address-pools:\n  - {base: 10.0.0.0/16}\n",           // no size
      "default-address-pools: 5\n",                                  // not a list
  };
  for (const char* text : bad) {
    CAPTURE(text);
    auto path = write_tmp(text);
    auto c = cnm::load_config(path, true);
    unlink(path.c_str());
    REQUIRE_FALSE(c);
    CHECK(c.error().code == cnm::Code::kInvalid);
    CHECK(c.error().message.find(path + ": line ") != std::string::npos);
  }
}

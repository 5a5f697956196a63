// The cluster settings (cnm/cluster/cluster_config.h): cluster-store and cluster-advertise values,
// strict, and the environment variables that override them.
#include "cnm/cluster/cluster_config.h"

#include <doctest/doctest.h>

#include <map>
#include <string>

namespace {

using cnm::cluster::ClusterConfig;
using cnm::cluster::StoreEndpoint;

cnm::Code cluster_store_code(std::string_view v) {
  auto r = cnm::cluster::parse_cluster_store(v);
  return r ? cnm::Code::kOk : r.error().code;
}

cnm::Code cluster_advertise_code(std::string_view v) {
  auto r = cnm::cluster::parse_cluster_advertise(v);
  return r ? cnm::Code::kOk : r.error().code;
}

// An environment made of `vars` only.
cnm::cluster::EnvLookup cluster_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

}  // namespace

TEST_CASE("cluster-store: members as IPv4, [IPv6] and DNS names, in order") {
  auto r =
      cnm::cluster::parse_cluster_store("etcd://203.0.113.11:2379,[2001:db8::1]:2380,etcd-1.lan:1");
  REQUIRE(r);
  REQUIRE(r->size() == 3);
  CHECK((*r)[0] == StoreEndpoint{"203.0.113.11", 2379});
  CHECK((*r)[1] == StoreEndpoint{"2001:db8::1", 2380});
  CHECK((*r)[2] == StoreEndpoint{"etcd-1.lan", 1});
  CHECK((*r)[0].url() == "http://203.0.113.11:2379");
  CHECK((*r)[1].url() == "http://[2001:db8::1]:2380");
  CHECK((*r)[2].url() == "http://etcd-1.lan:1");
}

TEST_CASE("cluster-store: anything else is kInvalid with a one-line message") {
  for (const char* bad : {"",
                          "etcd://",
                          "http://203.0.113.1:2379",
                          "203.0.113.1:2379",
                          "ETCD://h:1",
                          "etcd://h",
                          "etcd://h:",
                          "etcd://h:0",
                          "etcd://h:65536",
                          "etcd://h:+1",
                          "etcd://h:1x",
                          "etcd://h:002379",
                          "etcd://:2379",
                          "etcd://h:1,",
                          "etcd://h:1,,h2:2",
                          "etcd://h:1/path",
                          "etcd://u@h:1",
                          "etcd://2001:db8::1:2379",
                          "etcd://[2001:db8::zz]:1",
                          "etcd://[h]:1",
                          "etcd://300.1.1.1:1",
                          "etcd://1.2.3:1",
                          "etcd://-h:1",
                          "etcd://h-.lan:1",
                          "etcd://a..b:1",
                          "etcd://h_1:1",
                          "etcd://h:1,h:1",
                          "etcd://h:1\n",
                          "etcd:// h:1"}) {
    CAPTURE(bad);
    auto r = cnm::cluster::parse_cluster_store(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == cnm::Code::kInvalid);
    CHECK(r.error().message.find('\n') == std::string::npos);
  }
  std::string many = "etcd://h0:1";
  for (int i = 1; i <= 16; ++i) many += ",h" + std::to_string(i) + ":1";
  CHECK(cluster_store_code(many) == cnm::Code::kInvalid);
  CHECK(cluster_store_code("etcd://h1:1,h1:2") == cnm::Code::kOk);
}

TEST_CASE("cluster-advertise: one unicast address other hosts can reach") {
  CHECK(cnm::cluster::parse_cluster_advertise("203.0.113.5").value() == "203.0.113.5");
  CHECK(cnm::cluster::parse_cluster_advertise("2001:db8::5").value() == "2001:db8::5");
  for (const char* bad :
       {"", "0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "::", "::1", "ff02::1", "eth0",
        "203.0.113.5:7946", "203.0.113.5/24", " 203.0.113.5"}) {
    CAPTURE(bad);
    CHECK(cluster_advertise_code(bad) == cnm::Code::kInvalid);
  }
}

TEST_CASE("cluster settings: the environment wins over the file; errors name their origin") {
  auto none = cnm::cluster::cluster_config(std::nullopt, std::nullopt, cluster_env({}));
  REQUIRE(none);
  CHECK_FALSE(none->enabled());
  CHECK(cnm::cluster::require_cluster(*none).error().code == cnm::Code::kInvalid);

  auto file =
      cnm::cluster::cluster_config("etcd://203.0.113.11:2379", "203.0.113.1", cluster_env({}));
  REQUIRE(file);
  CHECK(file->urls() == std::vector<std::string>{"http://203.0.113.11:2379"});
  CHECK(file->advertise == "203.0.113.1");
  CHECK(cnm::cluster::require_cluster(*file));

  auto env = cnm::cluster::cluster_config(
      "etcd://203.0.113.11:2379", "203.0.113.1",
      cluster_env({{"NETCTL_CLUSTER_STORE", "etcd://203.0.113.12:2379,203.0.113.13:2379"},
                   {"NETCTL_CLUSTER_ADVERTISE", ""}}));
  REQUIRE(env);
  CHECK(env->store.size() == 2);
  CHECK(env->advertise == "203.0.113.1");  // an empty variable does not override

  auto bad_env = cnm::cluster::cluster_config("etcd://203.0.113.11:2379", std::nullopt,
                                              cluster_env({{"NETCTL_CLUSTER_STORE", "etcd://x"}}));
  REQUIRE_FALSE(bad_env);
  CHECK(bad_env.error().code == cnm::Code::kInvalid);
  CHECK(bad_env.error().message.starts_with("NETCTL_CLUSTER_STORE: "));
  auto bad_file = cnm::cluster::cluster_config(std::nullopt, "127.0.0.1", cluster_env({}));
  REQUIRE_FALSE(bad_file);
  CHECK(bad_file.error().message.starts_with("config: cluster-advertise"));

  auto half = cnm::cluster::cluster_config("etcd://203.0.113.11:2379", std::nullopt, nullptr);
  REQUIRE(half);
  CHECK(half->enabled());
  CHECK_FALSE(cnm::cluster::require_cluster(*half));
}

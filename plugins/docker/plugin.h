// The netctl-docker request handlers: one Docker plugin call in, one JSON answer out, over the
// controller (cnm/controller.h). Every call opens the state root afresh, as one CLI command does,
// so the plugin keeps nothing the store does not have (a restarted plugin serves the same state).
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cnm/runtime.h"

namespace docker {

struct Reply {
  int status = 200;  // 404: unknown method
  nlohmann::json body = nlohmann::json::object();
};

class Plugin {
 public:
  Plugin(cnm::Config config, std::string root) : config_(std::move(config)), root_(root) {}
  // Serves `method` ("/NetworkDriver.Join") with request body `body` (not yet parsed). Not
  // thread-safe: the server calls it under one lock.
  Reply handle(const std::string& method, const std::string& body);

 private:
  Reply network_call(const std::string& name, const nlohmann::json& req);
  Reply ipam_call(const std::string& name, const nlohmann::json& req);
  cnm::Result<nlohmann::json> create_network(cnm::Controller& c, const nlohmann::json& req);
  cnm::Result<nlohmann::json> delete_network(cnm::Controller& c, const nlohmann::json& req);
  cnm::Result<nlohmann::json> create_endpoint(cnm::Controller& c, const nlohmann::json& req);
  cnm::Result<nlohmann::json> delete_endpoint(cnm::Controller& c, const nlohmann::json& req);
  cnm::Result<nlohmann::json> join(cnm::Controller& c, const nlohmann::json& req);
  cnm::Result<nlohmann::json> endpoint_info(cnm::Controller& c, const nlohmann::json& req);
  cnm::Result<nlohmann::json> request_pool(cnm::Controller& c, const nlohmann::json& req);
  cnm::Result<nlohmann::json> request_address(cnm::Controller& c, const nlohmann::json& req);
  cnm::Result<nlohmann::json> release_address(const nlohmann::json& req);
  void release_pool(const nlohmann::json& req);
  // The --ip-ranges of pending pools whose subnets `r` creates.
  void add_pending_ranges(cnm::NetworkCreateRequest& r);
  // The netctl network of Docker network `nid`: one made for it (labelled), or one offered.
  cnm::Result<cnm::Network> network_of(cnm::Controller& c, const std::string& nid);
  // The endpoint made for Docker endpoint `eid`.
  cnm::Result<cnm::Endpoint> endpoint_of(cnm::Controller& c, const std::string& eid);
  std::string offer_path(const std::string& nid) const;
  // A runtime kept open for the calls that only read (kReadOnly, RequestPool, RequestAddress):
  // opening one (SQLite, netlink sockets, the firewall backend's choice) costs about 1 ms, and a
  // `docker network connect` makes eight calls. Reads see every commit (SQLite); a store file
  // replaced under the root (another inode) gets a new one. Writes open their own, as a CLI
  // command does, so they always see the root's current backend and settings.
  cnm::Result<cnm::Runtime*> reader();

  cnm::Config config_;
  std::string root_;
  // Addresses RequestAddress handed out that no endpoint holds yet, by pool id: a second request
  // before the first CreateEndpoint must not get the same one. Lost on restart, which is safe:
  // CreateEndpoint allocates exactly the address Docker gives, or fails if it is taken.
  std::map<std::string, std::set<std::string>> pending_;
  // Pools RequestPool answered that no network has yet, by pool id: subnets chosen for Docker
  // (a second RequestPool must not get the same one) and --ip-ranges (CreateNetwork's IPAM data
  // does not repeat them). Forgotten at ReleasePool and when the network is made; lost on restart,
  // which is safe: the pool id itself carries the range RequestAddress honours.
  std::map<std::string, cnm::Prefix> pending_pools_;
  std::unique_ptr<cnm::Runtime> reader_;
  dev_t reader_dev_ = 0;
  ino_t reader_ino_ = 0;
};

}  // namespace docker

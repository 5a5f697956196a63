// The CNI plugin's operations (plugins/cni): ADD, DEL, CHECK, GC and STATUS over the same store,
// drivers and IPAM as the CLI.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cnm/core/service.h"
#include "cnm/endpoint/endpoint_service.h"
#include "cnm/network/network_service.h"

namespace cnm {

class CniService : public Service {
 public:
  CniService(Context& ctx, NetworkService& networks, EndpointService& endpoints)
      : Service(ctx), networks_(networks), endpoints_(endpoints) {}

  // CNI attachments are endpoints with target "cni:<container id>" (container_id set), one per
  // (network, container id, ifname); they are found by that key even when the namespace is gone.

  // The network a CNI configuration names: the existing one called `req.name`, else (with
  // `create`) one made from `req`. Concurrent callers that race to create it all get the one made.
  Result<Network> cni_network(const NetworkCreateRequest& req, bool create);
  // ADD: joins the namespace at req.target (a path) as interface req.ifname. An attachment that
  // exists already is Code::kConflict; a namespace that is gone is Code::kNotFound; a req.target
  // that cannot be attached (not a namespace, netctl's own) is Code::kInvalid "CNI_NETNS: ...".
  // `pod_name` (K8S_POD_NAME) is its DNS name when it is a DNS label, and ignored otherwise: the
  // runtime sends it for every container, and one that needs no name must still attach. Aliases
  // that are not DNS labels are Code::kInvalid.
  Result<Endpoint> cni_add(const ConnectRequest& req, const std::string& container_id,
                           const std::string& pod_name = {});
  // DEL: removes the attachment, its address and its rules. Succeeds when there is none, when the
  // network is unknown and when the namespace is gone.
  Status cni_del(const std::string& network, const std::string& container_id,
                 const std::string& ifname);
  // CHECK: the attachment's record, IPAM entries, host end on the bridge, the interface inside
  // `netns` with its MAC, addresses and default routes, and the firewall rules of the network and
  // of its published ports. Returns the endpoint (for the caller's prevResult comparison).
  Result<Endpoint> cni_check(const std::string& network, const std::string& container_id,
                             const std::string& ifname, const std::string& netns);
  // GC: removes every CNI attachment of `network` whose (container id, ifname) is not in `valid`
  // (ifname "" matches any). Returns the removed endpoints.
  Result<std::vector<Endpoint>> cni_gc(
      const std::string& network, const std::vector<std::pair<std::string, std::string>>& valid);
  // STATUS: the store takes a write and the kernel adapters answer. Code::kFailed names the cause.
  Status cni_status();

 private:
  // What is wrong with attachment `ep` in the kernel and the store, as one message; "" if nothing.
  Result<std::string> cni_verify(const Network& n, const Endpoint& ep, const std::string& netns);

  NetworkService& networks_;
  EndpointService& endpoints_;
};

}  // namespace cnm

// The facade the front ends (CLI, CNI plugin, supervisor) call: it owns the services, wires them
// together (docs/architecture.md section 2) and forwards each operation to the one that does it.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cnm/cni/cni_service.h"
#include "cnm/containers/container_service.h"
#include "cnm/endpoint/endpoint_service.h"
#include "cnm/model/validate.h"
#include "cnm/network/network_service.h"
#include "cnm/recovery/recovery.h"

namespace cnm {

class Controller {
 public:
  // Neither `store`, `ipam`, the kernel adapters nor `dns` are owned. `dns`: the root's DNS
  // server (null: none is started).
  Controller(Config config, store::Store& store, const Ipam& ipam, KernelContext kernel,
             Registry registry, DnsControl* dns = nullptr);
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Networks (cnm/network/).
  Result<Network> create_network(const NetworkCreateRequest& r) { return net_.create_network(r); }
  Status remove_networks(const std::vector<std::string>& names) {
    return net_.remove_networks(names);
  }
  Result<std::vector<std::string>> prune_networks() { return net_.prune_networks(); }
  Result<std::vector<Network>> list_networks() { return net_.list_networks(); }
  Result<Network> network(const std::string& name_or_id) { return net_.network(name_or_id); }
  // With the cluster's networks not used on this host (network ls, inspect).
  Result<std::vector<Network>> list_all_networks() { return net_.list_all_networks(); }
  Result<Network> find_network(const std::string& name_or_id) {
    return net_.find_network(name_or_id);
  }
  Result<Prefix> free_subnet(bool v6, std::span<const Prefix> also_taken) {
    return net_.free_subnet(v6, also_taken);
  }

  // Endpoints and sandboxes (cnm/endpoint/).
  Result<Endpoint> connect(const ConnectRequest& r) { return ep_.connect(r); }
  Status disconnect(const std::string& network, const std::string& target) {
    return ep_.disconnect(network, target);
  }
  Result<std::vector<Endpoint>> endpoints(const store::Filter& f) { return ep_.endpoints(f); }
  // An endpoint whose peer stays in netctl's namespace as r.ifname for another manager to move
  // (Endpoint::handoff; the Docker plugin), recorded under target `key`; removed by detach_key.
  Result<Endpoint> attach_handoff(const ConnectRequest& r, const std::string& key) {
    return ep_.attach_handoff(r, key);
  }
  Status detach_key(const std::string& network, const std::string& key) {
    return ep_.detach_key(network, key);
  }
  Result<Sandbox> create_sandbox(const std::string& name) { return ep_.create_sandbox(name); }
  Status remove_sandboxes(const std::vector<std::string>& names, bool force) {
    return ep_.remove_sandboxes(names, force);
  }
  Result<std::vector<Sandbox>> list_sandboxes() { return ep_.list_sandboxes(); }
  Result<Sandbox> sandbox(const std::string& name_or_id) { return ep_.sandbox(name_or_id); }

  // Recovery, doctor and gc (cnm/recovery/).
  Result<Drift> doctor() { return rec_.doctor(); }
  Result<Drift> gc() { return rec_.gc(); }
  Status doctor_objects(Drift& d) { return rec_.doctor_objects(d); }
  Status gc_objects(const store::WriteLock& lock, const Drift& d) {
    return rec_.gc_objects(lock, d);
  }
  Result<int> recover(const store::WriteLock& lock) { return rec_.recover(lock); }
  Result<int> recover_intents(const store::WriteLock& lock) { return rec_.recover_intents(lock); }

  // The CNI plugin's operations (cnm/cni/).
  Result<Network> cni_network(const NetworkCreateRequest& r, bool create) {
    return cni_.cni_network(r, create);
  }
  Result<Endpoint> cni_add(const ConnectRequest& r, const std::string& container_id,
                           const std::string& pod_name = {}) {
    return cni_.cni_add(r, container_id, pod_name);
  }
  Status cni_del(const std::string& network, const std::string& container_id,
                 const std::string& ifname) {
    return cni_.cni_del(network, container_id, ifname);
  }
  Result<Endpoint> cni_check(const std::string& network, const std::string& container_id,
                             const std::string& ifname, const std::string& netns) {
    return cni_.cni_check(network, container_id, ifname, netns);
  }
  Result<std::vector<Endpoint>> cni_gc(
      const std::string& network, const std::vector<std::pair<std::string, std::string>>& valid) {
    return cni_.cni_gc(network, valid);
  }
  Status cni_status() { return cni_.cni_status(); }

  // Containers (cnm/containers/).
  Result<int> run(const RunRequest& r, const std::function<void(const Container&)>& started) {
    return ctr_.run(r, started);
  }
  Result<Container> container(const std::string& name_or_id) { return ctr_.container(name_or_id); }
  Result<std::vector<Container>> list_containers() { return ctr_.list_containers(); }
  Status container_exited(const std::string& id) { return ctr_.container_exited(id); }
  Status stop_container(const std::string& name, int timeout_s) {
    return ctr_.stop_container(name, timeout_s);
  }
  Status kill_container(const std::string& name, int sig) { return ctr_.kill_container(name, sig); }
  Status remove_containers(const std::vector<std::string>& names, bool force) {
    return ctr_.remove_containers(names, force);
  }
  Result<int> exec_container(const ExecRequest& r) { return ctr_.exec_container(r); }
  Result<std::vector<std::string>> reap_containers(const store::WriteLock& lock) {
    return ctr_.reap_containers(lock);
  }
  Result<std::vector<std::string>> gc_containers(const store::WriteLock& lock) {
    return ctr_.gc_containers(lock);
  }
  Result<std::vector<std::string>> container_drift() { return ctr_.container_drift(); }
  Status recover_container(const ContainerIntent& object) { return ctr_.recover_container(object); }

  store::Store& store() { return ctx_.store; }
  const Ipam& ipam() const { return ctx_.ipam; }
  const Config& config() const { return ctx_.config; }
  // The drivers networks may name (netctl info lists them).
  const Registry& registry() const { return ctx_.registry; }

 private:
  Context ctx_;
  NetworkService net_{ctx_};
  EndpointService ep_{ctx_};
  ContainerService ctr_{ctx_, net_, ep_};
  Recovery rec_{ctx_, ep_, ctr_};
  CniService cni_{ctx_, net_, ep_};
};

}  // namespace cnm

// ClusterAccess over etcd: OverlayState for the records, OverlayControl for the agent's lease.
#include "cnm/core/cluster_access.h"

#include <fmt/core.h>

#include <charconv>
#include <cstdlib>

#include "cnm/cluster/etcd.h"
#include "cnm/cluster/overlay_state.h"
#include "cnm/core/cluster_gc.h"
#include "cnm/core/overlay_control.h"
#include "cnm/model/validate.h"

namespace cnm {
namespace {

Network to_network(const cluster::OverlayNetwork& o) {
  Network n;
  n.id = o.id;
  n.name = o.name;
  n.driver = "overlay";
  n.mtu = o.mtu;
  n.pools.push_back(Pool{o.subnet, o.gateway, std::nullopt, {}});
  n.options["vni"] = std::to_string(o.vni);
  n.derived_macs_only = true;  // overlay MACs are always derived (cluster::overlay_mac)
  return n;
}

class EtcdCluster final : public ClusterAccess {
 public:
  EtcdCluster(const Config& config, const std::string& root, const std::string& root_id)
      : config_(config), root_(root), host_(root_id) {
    vtep_ = IpAddr::parse(config.cluster.advertise).value_or(IpAddr());
  }

  const std::string& host_id() const override { return host_; }
  const IpAddr& vtep() const override { return vtep_; }

  Status claim(Network& n) override {
    if (n.pools.size() != 1 || n.pools[0].subnet.is_v6())
      return fail(Code::kInvalid, "an overlay network takes exactly one IPv4 subnet");
    cluster::OverlayNetwork o{n.name, n.id, n.pools[0].subnet, n.pools[0].gateway, 0, n.mtu};
    if (n.options.contains("vni")) o.vni = CNM_VALUE(network_vni(n));
    auto got = CNM_VALUE(state().claim_network(o));
    if (got.id != n.id)
      return fail(Code::kConflict, "network {} already exists in the cluster", n.name);
    n.options["vni"] = std::to_string(got.vni);
    return {};
  }

  Result<std::vector<Network>> networks() override {
    auto list = CNM_VALUE(state().list_networks());
    std::vector<Network> out;
    for (const auto& o : list.networks) out.push_back(to_network(o));
    return out;
  }

  Result<std::optional<Network>> network(std::string_view name) override {
    auto o = state().get_network(name);
    if (!o && o.error().code == Code::kNotFound) return std::nullopt;
    if (!o) return std::unexpected(o.error());
    return to_network(*o);
  }

  Status remove(std::string_view name) override { return state().remove_network(name); }

  Result<IpAddr> allocate(const Network& n, std::optional<IpAddr> want) override {
    auto a = CNM_VALUE(state().allocate_address(n.name, host_, want));
    return a.ip;
  }

  Status release(const Network& n, const IpAddr& ip) override {
    auto r = state().release_address(n.name, ip, host_);
    if (!r && r.error().code == Code::kNotFound) return {};
    return r;
  }

  Result<std::vector<IpAddr>> held(std::string_view network) override {
    CNM_TRY(validate_name("network", network));
    const std::string prefix = state().keys().addrs(network);
    auto range = CNM_VALUE(client().get_prefix(prefix));
    std::vector<IpAddr> out;
    for (const auto& kv : range.kvs) {
      auto owner = cluster::decode_address_owner(kv.value);
      auto ip = IpAddr::parse(std::string_view(kv.key).substr(prefix.size()));
      if (owner && *owner == host_ && ip) out.push_back(*ip);
    }
    return out;
  }

  Result<int64_t> publish(const Network& n, const Endpoint& ep) override {
    if (ep.addresses.empty()) return fail(Code::kInvalid, "endpoint {} has no address", ep.id);
    cluster::PeerRecord p{ep.addresses[0].addr(), ep.mac, vtep_, host_, ep.id};
    auto* agent = CNM_VALUE(this->agent());
    auto lease = CNM_VALUE(agent->ensure());
    auto r = state().publish_peer(n.name, p, lease);
    if (r || r.error().code != Code::kConflict) return r;
    // The agent may be registering again (its lease was lost): wait for the new lease, once.
    lease = CNM_VALUE(agent->ensure(lease));
    return state().publish_peer(n.name, p, lease);
  }

  Status withdraw(const Network& n, const IpAddr& ip) override {
    return state().withdraw_peer(n.name, ip);
  }

  Result<std::vector<kernel::RemoteEndpoint>> remotes(const Network& n) override {
    auto list = CNM_VALUE(state().list_peers(n.name));
    std::vector<kernel::RemoteEndpoint> out;
    for (const auto& p : list.peers)
      if (p.host_id != host_) out.push_back({p.ip, p.mac, p.vtep});
    return out;
  }

  Result<std::vector<std::string>> await(int64_t revision,
                                         std::chrono::milliseconds max_wait) override {
    return state().wait_acks(revision, host_, max_wait);
  }

  long requests() const override { return client_ ? client_->requests() : 0; }

  Result<std::vector<std::string>> free_dead_hosts() override {
    auto grace = CNM_VALUE(overlay_grace(std::getenv(kOverlayGraceEnv)));
    return cnm::free_dead_hosts(client(), state().keys(), grace);
  }

 private:
  cluster::EtcdClient& client() {
    (void)state();
    return *client_;
  }
  cluster::OverlayState& state() {
    if (!state_) {
      client_ = std::make_unique<cluster::EtcdClient>(
          cluster::EtcdOptions{.endpoints = config_.cluster.urls()});
      state_ = std::make_unique<cluster::OverlayState>(*client_);
    }
    return *state_;
  }
  Result<OverlayControl*> agent() {
    if (!agent_) {
      int ttl = CNM_VALUE(parse_overlay_ttl(std::getenv(kOverlayTtlEnv)));
      std::string store;
      for (const auto& e : config_.cluster.store)
        store += fmt::format("{}{}:{}", store.empty() ? "etcd://" : ",",
                             e.host.find(':') == std::string::npos ? e.host : "[" + e.host + "]",
                             e.port);
      agent_ = make_overlay_control(
          {root_, store, config_.cluster.advertise, ttl, default_overlay_agent_path()});
    }
    return agent_.get();
  }

  const Config config_;
  std::string root_, host_;
  IpAddr vtep_;
  std::unique_ptr<cluster::EtcdClient> client_;
  std::unique_ptr<cluster::OverlayState> state_;
  std::unique_ptr<OverlayControl> agent_;
};

}  // namespace

Result<uint32_t> network_vni(const Network& n) {
  auto it = n.options.find("vni");
  uint32_t vni = 0;
  const std::string text = it == n.options.end() ? "" : it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), vni);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || vni == 0 ||
      vni > kernel::kVxlanMaxVni)
    return fail(Code::kInvalid, "network {}: vni '{}' is not 1 to {}", n.name, text,
                kernel::kVxlanMaxVni);
  return vni;
}

std::unique_ptr<ClusterAccess> make_etcd_cluster(const Config& config, const std::string& root,
                                                 const std::string& root_id) {
  if (!config.cluster.enabled() || config.cluster.advertise.empty()) return nullptr;
  return std::make_unique<EtcdCluster>(config, root, root_id);
}

}  // namespace cnm

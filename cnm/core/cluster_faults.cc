// NETCTL_FAIL_AT over the cluster store: each write to it is one step (cnm/kernel/fault.h).
#include "cnm/core/cluster_access.h"
#include "cnm/kernel/fault.h"

namespace cnm {
namespace {

class FaultCluster final : public ClusterAccess {
 public:
  FaultCluster(std::unique_ptr<ClusterAccess> inner, kernel::FaultPlan* plan)
      : in_(std::move(inner)), p_(plan) {}
  const std::string& host_id() const override { return in_->host_id(); }
  const IpAddr& vtep() const override { return in_->vtep(); }
  Status claim(Network& n) override {
    CNM_TRY(p_->step("cluster claim " + n.name));
    return in_->claim(n);
  }
  Result<std::vector<Network>> networks() override { return in_->networks(); }
  Result<std::optional<Network>> network(std::string_view name) override {
    return in_->network(name);
  }
  Status remove(std::string_view name) override {
    CNM_TRY(p_->step("cluster remove " + std::string(name)));
    return in_->remove(name);
  }
  Result<IpAddr> allocate(const Network& n, std::optional<IpAddr> want) override {
    CNM_TRY(p_->step("cluster allocate in " + n.name));
    return in_->allocate(n, want);
  }
  Status release(const Network& n, const IpAddr& ip) override {
    CNM_TRY(p_->step("cluster release " + ip.str()));
    return in_->release(n, ip);
  }
  Result<std::vector<IpAddr>> held(std::string_view network) override { return in_->held(network); }
  Result<int64_t> publish(const Network& n, const Endpoint& ep) override {
    CNM_TRY(p_->step("cluster publish " + ep.id.substr(0, 12)));
    return in_->publish(n, ep);
  }
  Status withdraw(const Network& n, const IpAddr& ip) override {
    CNM_TRY(p_->step("cluster withdraw " + ip.str()));
    return in_->withdraw(n, ip);
  }
  Result<std::vector<kernel::RemoteEndpoint>> remotes(const Network& n) override {
    return in_->remotes(n);
  }
  Result<std::vector<std::string>> await(int64_t revision,
                                         std::chrono::milliseconds max_wait) override {
    return in_->await(revision, max_wait);
  }
  long requests() const override { return in_->requests(); }
  Result<std::vector<std::string>> free_dead_hosts() override {
    CNM_TRY(p_->step("cluster free dead hosts"));
    return in_->free_dead_hosts();
  }

 private:
  std::unique_ptr<ClusterAccess> in_;
  kernel::FaultPlan* p_;
};

}  // namespace

std::unique_ptr<ClusterAccess> with_faults(std::unique_ptr<ClusterAccess> inner,
                                           kernel::FaultPlan* plan) {
  return std::make_unique<FaultCluster>(std::move(inner), plan);
}

}  // namespace cnm

#include "cnm/runtime.h"

#include <cstdio>
#include <cstdlib>

#include "cnm/core/cluster_access.h"
#include "cnm/core/dns_control.h"
#include "cnm/core/firewall_backend.h"
#include "cnm/core/txn.h"
#include "cnm/kernel/conntrack.h"
#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/fault.h"
#include "cnm/kernel/firewall.h"
#include "cnm/kernel/hostports.h"
#include "cnm/kernel/links.h"
#include "cnm/kernel/vxlan.h"
#include "drivers/builtin.h"
#include "ipam/default_ipam.h"

namespace cnm {

struct Runtime::Parts {
  std::unique_ptr<store::Store> store;
  // links, namespaces, endpoints and firewall mark what they make with the root id: made once the
  // store is open.
  std::unique_ptr<kernel::Links> links;
  std::unique_ptr<kernel::Sysctl> sysctl = kernel::make_linux_sysctl();
  std::unique_ptr<kernel::Namespaces> namespaces;
  std::unique_ptr<kernel::Endpoints> endpoints;
  std::unique_ptr<kernel::Firewall> firewall;
  std::unique_ptr<FirewallBackends> backends;
  std::unique_ptr<kernel::HostPorts> hostports = kernel::make_linux_host_ports();
  std::unique_ptr<kernel::Conntrack> conntrack = kernel::make_linux_conntrack();
  std::unique_ptr<Ipam> ipam;
  std::unique_ptr<DnsControl> dns;
  // Only with a cluster-store configured (overlay networks).
  std::unique_ptr<kernel::Vxlans> vxlans;
  std::unique_ptr<ClusterAccess> cluster;
};

std::string resolve_root(const std::string& flag, const Config& config) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("NETCTL_ROOT"); env && *env) return env;
  return config.root.empty() ? std::string(kDefaultRoot) : config.root;
}

namespace {

// NETCTL_FAIL_AT / NETCTL_FAIL_TRACE (cnm/kernel/fault.h): every mutating adapter call and every
// store write of a Txn counts as one step of the same plan.
kernel::FaultPlan* txn_plan = nullptr;

template <class P>
void wrap_with_faults(P& p, kernel::FaultPlan* plan) {
  p.links = kernel::with_faults(std::move(p.links), plan);
  p.sysctl = kernel::with_faults(std::move(p.sysctl), plan);
  p.namespaces = kernel::with_faults(std::move(p.namespaces), plan);
  p.endpoints = kernel::with_faults(std::move(p.endpoints), plan);
  p.firewall = kernel::with_faults(std::move(p.firewall), plan);
  txn_plan = plan;
  Txn::set_step_hook([](std::string_view what) { return txn_plan->step(what); });
}

// The root's DNS control, made on first use: a command that attaches to no DNS network (the
// benchmark's `-o netctl.dns=false` networks) pays nothing for it, not even the readlink of the
// server's path.
class LazyDnsControl final : public DnsControl {
 public:
  explicit LazyDnsControl(std::string root) : root_(std::move(root)) {}
  Status ensure(std::span<const IpAddr> gateways) override { return real().ensure(gateways); }
  Result<bool> running() override { return real().running(); }

 private:
  DnsControl& real() {
    if (!real_) real_ = make_dns_control(root_, default_dns_server_path());
    return *real_;
  }
  std::string root_;
  std::unique_ptr<DnsControl> real_;
};

}  // namespace

Runtime::~Runtime() = default;

void Runtime::finish() {
  parts_->store->finish();
  // The benchmark's count of the cluster store's round trips (tests/bench/overlay.sh).
  if (parts_->cluster && std::getenv("NETCTL_CLUSTER_STATS") != nullptr)
    std::fprintf(stderr, "netctl: cluster: %ld etcd requests\n", parts_->cluster->requests());
}

int end_process(Runtime* rt, int code) {
#ifdef __SANITIZE_ADDRESS__
  (void)rt;
  return code;
#else
  if (rt != nullptr) rt->finish();
  std::fflush(nullptr);
  std::_Exit(code);
#endif
}

Result<std::unique_ptr<Runtime>> Runtime::open(const Config& config, const std::string& root) {
  if (root.empty() || root[0] != '/')
    return fail(Code::kInvalid, "state root '{}' must be an absolute path", root);
  auto faults = CNM_VALUE(kernel::fault_plan_from_env());
  // A bad $NETCTL_FIREWALL_BACKEND fails before the store is made.
  const char* backend_env = std::getenv(kFirewallBackendEnv);
  if (backend_env != nullptr && *backend_env != '\0')
    CNM_TRY(parse_firewall_backend(backend_env, kFirewallBackendEnv));
  auto s = CNM_VALUE(store::Store::open(root));
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->root_ = root;
  rt->parts_ = std::make_unique<Parts>();
  auto& p = *rt->parts_;
  p.store = std::move(s);
  auto root_id = CNM_VALUE(p.store->root_id());
  p.links = kernel::make_linux_links(kernel::owner_group(root_id));
  p.endpoints = kernel::make_linux_endpoints(kernel::owner_group(root_id));
  p.namespaces = kernel::make_linux_namespaces(kernel::owner_group(root_id));
  // The backend is chosen before anything is made: the one not chosen is never touched here (the
  // legacy ip_tables modules stay unloaded under nftables).
  auto recorded = CNM_VALUE(p.store->firewall_backend());
  auto backend = CNM_VALUE(select_firewall_backend(backend_env, config.firewall_backend, recorded,
                                                   [] { return probe_host_firewall(); }));
  p.firewall = backend == kNftables ? kernel::make_nft_firewall(root_id)
                                    : kernel::make_iptc_firewall(root_id);
  p.backends = make_firewall_backends(root_id, backend);
  if (faults) wrap_with_faults(p, faults);
  p.ipam = std::make_unique<ipam::DefaultIpam>(config.pools_v4, config.pools_v6);
  p.dns = std::make_unique<LazyDnsControl>(root);
  p.cluster = make_etcd_cluster(config, root, root_id);
  if (p.cluster) p.vxlans = kernel::make_linux_vxlans(kernel::owner_group(root_id));
  if (p.cluster && faults) {
    p.cluster = with_faults(std::move(p.cluster), faults);
    p.vxlans = kernel::with_faults(std::move(p.vxlans), faults);
  }
  rt->controller_ = std::make_unique<Controller>(
      config, *p.store, *p.ipam,
      KernelContext{p.links.get(), p.sysctl.get(), p.namespaces.get(), p.endpoints.get(),
                    p.firewall.get(), p.hostports.get(), p.conntrack.get(), p.backends.get(),
                    p.vxlans.get(), p.cluster.get()},
      drivers::builtin_registry(), p.dns.get());
  return rt;
}

}  // namespace cnm

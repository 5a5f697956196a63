#include "cnm/core/service.h"

#include <cstdio>

#include "cnm/core/dns_control.h"
#include "cnm/core/records.h"

namespace cnm {

Service::Service(Context& ctx)
    : ctx_(ctx),
      config_(ctx.config),
      store_(ctx.store),
      ipam_(ctx.ipam),
      kernel_(ctx.kernel),
      registry_(ctx.registry) {}

Result<store::WriteLock> Service::write() {
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  return lock;
}

void Service::ensure_dns(std::span<const IpAddr> gateways) {
  if (ctx_.dns == nullptr) return;
  if (auto st = ctx_.dns->ensure(gateways); !st)
    std::fprintf(stderr, "netctl: warning: dns: %s\n", printable(st.error().message).c_str());
}

Result<std::vector<Network>> Service::list_networks() {
  return decode_all<Network>(store_.list(store::kNetworks), "networks");
}

Result<Network> Service::network(const std::string& name_or_id) {
  return decode_one<Network>(store_.get(store::kNetworks, name_or_id), "network", name_or_id);
}

Result<std::vector<Endpoint>> Service::endpoints(const store::Filter& f) {
  return decode_all<Endpoint>(store_.list(store::kEndpoints, f), "endpoints");
}

Result<std::vector<Sandbox>> Service::list_sandboxes() {
  return decode_all<Sandbox>(store_.list(store::kSandboxes), "sandboxes");
}

Result<Sandbox> Service::sandbox(const std::string& name_or_id) {
  return decode_one<Sandbox>(store_.get(store::kSandboxes, name_or_id), "sandbox", name_or_id);
}

Result<std::vector<Container>> Service::list_containers() {
  return decode_all<Container>(store_.list(store::kContainers), "containers");
}

Result<Container> Service::container(const std::string& name_or_id) {
  return decode_one<Container>(store_.get(store::kContainers, name_or_id), "container", name_or_id);
}

}  // namespace cnm

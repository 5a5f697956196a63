// EndpointService sandbox commands: named network namespaces under the config's netns_dir.
#include <nlohmann/json.hpp>

#include "cnm/core/txn.h"
#include "cnm/endpoint/endpoint_service.h"
#include "cnm/kernel/endpoints.h"
#include "cnm/model/validate.h"

namespace cnm {

Result<Sandbox> EndpointService::create_sandbox(const std::string& name) {
  CNM_TRY(validate_name("sandbox", name));
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  auto existing = CNM_VALUE(store_.get(store::kSandboxes, name));
  if (existing) return fail(Code::kConflict, "sandbox {} already exists", name);
  Sandbox sb;
  sb.id = new_id();
  sb.name = name;
  sb.netns_path = config_.netns_dir + "/" + name;
  sb.created = now_rfc3339();
  Txn tx(store_, lock, "sandbox create " + name);
  CNM_TRY(tx.intend(NetnsIntent{sb.netns_path}));
  // On failure create() leaves nothing, and an existing path is not ours to remove.
  CNM_TRY(kernel_.namespaces->create(sb.netns_path));
  tx.on_undo(NetnsIntent{sb.netns_path},
             [ns = kernel_.namespaces, p = sb.netns_path] { return ns->remove(p); });
  auto id = CNM_VALUE(kernel_.namespaces->identify(sb.netns_path));
  sb.netns_key = netns_key(id);
  tx.batch().puts.push_back(
      {store::kSandboxes, {sb.id, sb.name, "", nlohmann::json(sb).dump(), sb.netns_key}});
  CNM_TRY(tx.commit());
  return sb;
}

Status EndpointService::remove_sandboxes(const std::vector<std::string>& names, bool force) {
  if (names.empty()) return fail(Code::kInvalid, "sandbox rm: name at least one sandbox");
  for (const auto& n : names) CNM_TRY(validate_name("sandbox", n));
  auto lock = CNM_VALUE(store_.lock());
  CNM_TRY(recover(lock));
  std::vector<Sandbox> sbs;
  std::vector<Endpoint> eps;
  for (const auto& name : names) {
    auto sb = CNM_VALUE(sandbox(name));
    auto attached = CNM_VALUE(endpoints({.name = "sandbox:" + sb.id}));
    if (!attached.empty() && !force)
      return fail(Code::kConflict, "sandbox {} has {} endpoint(s); disconnect them or use --force",
                  sb.name, attached.size());
    eps.insert(eps.end(), attached.begin(), attached.end());
    sbs.push_back(std::move(sb));
  }
  Txn tx(store_, lock, "sandbox rm");
  CNM_TRY(remove_endpoints(tx, eps));
  for (const auto& sb : sbs) {
    CNM_TRY(tx.intend_drop(store::kSandboxes, sb.id));
    CNM_TRY(tx.intend(NetnsIntent{sb.netns_path}));
  }
  for (const auto& sb : sbs) {
    if (auto r = kernel_.namespaces->remove(sb.netns_path); !r)
      return context("remove sandbox (the next netctl command retries)", r.error());
    tx.batch().drops.push_back({store::kSandboxes, sb.id});
  }
  return tx.commit();
}

}  // namespace cnm

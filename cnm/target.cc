// Resolving what `network connect|disconnect` and `sandbox` commands name.
#include <charconv>
#include <nlohmann/json.hpp>

#include "cnm/controller.h"
#include "cnm/kernel/endpoints.h"
#include "cnm/records.h"

namespace cnm {

std::string netns_key(const kernel::NetnsId& id) { return fmt::format("{}:{}", id.dev, id.ino); }

Result<Target> Controller::resolve_target(const std::string& target, bool must_exist) {
  Target t;
  if (target.starts_with("pid:")) {
    auto digits = std::string_view(target).substr(4);
    int pid = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (digits.empty() || ec != std::errc{} || p != digits.data() + digits.size() || pid <= 0)
      return fail(Code::kInvalid, "invalid target '{}': expected pid:N", target);
    t.key = target;
    t.path = fmt::format("/proc/{}/ns/net", pid);
  } else if (target.starts_with("/")) {
    if (target.find("/../") != std::string::npos || target.ends_with("/.."))
      return fail(Code::kInvalid, "invalid namespace path '{}'", target);
    t.key = t.path = target;
  } else {
    CNM_TRY(validate_name("target", target));
    auto sb = sandbox(target);
    if (sb) {
      t.key = "sandbox:" + sb->id;
      t.sandbox_id = sb->id;
      t.path = sb->netns_path;
    } else if (sb.error().code != Code::kNotFound) {
      return std::unexpected(sb.error());
    } else if (auto c = container(target); c) {  // a container: its workload's namespace
      t.key = "container:" + c->id;
      t.sandbox_id = c->id;
      t.path = fmt::format("/proc/{}/ns/net", c->pid > 0 ? c->pid : 0);
    } else {
      if (c.error().code == Code::kNotFound)
        return fail(Code::kNotFound, "no sandbox or container named {}", target);
      return std::unexpected(c.error());
    }
  }
  auto id = kernel_.namespaces->identify(t.path);
  if (id) {
    t.netns_key = netns_key(*id);
  } else if (must_exist || id.error().code != Code::kNotFound) {
    if (id.error().code == Code::kNotFound && target.starts_with("pid:"))
      return fail(Code::kNotFound, "process {} not found", target.substr(4));
    return std::unexpected(id.error());
  }
  return t;
}

Result<Sandbox> Controller::sandbox(const std::string& name_or_id) {
  return decode_one<Sandbox>(store_.get(store::kSandboxes, name_or_id), "sandbox", name_or_id);
}

Result<std::vector<Sandbox>> Controller::list_sandboxes() {
  return decode_all<Sandbox>(store_.list(store::kSandboxes), "sandboxes");
}

Result<std::vector<Endpoint>> Controller::endpoints(const store::Filter& f) {
  return decode_all<Endpoint>(store_.list(store::kEndpoints, f), "endpoints");
}

}  // namespace cnm

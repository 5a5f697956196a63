#include "cnm/controller.h"

#include <nlohmann/json.hpp>
#include <regex>

#include "cnm/kernel/endpoints.h"
#include "cnm/kernel/links.h"

namespace cnm {

Controller::Controller(Config config, store::Store& store, const Ipam& ipam, KernelContext kernel,
                       Registry registry)
    : config_(std::move(config)),
      store_(store),
      ipam_(ipam),
      kernel_(kernel),
      registry_(std::move(registry)) {}

Status validate_name(std::string_view kind, std::string_view name) {
  static const std::regex re("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$");
  if (!std::regex_match(name.begin(), name.end(), re) || name.find("..") != std::string_view::npos)
    return fail(Code::kInvalid,
                "invalid {} name '{}': use 1-64 of [A-Za-z0-9_.-], starting with a letter or digit",
                kind, name);
  return {};
}

Result<int> Controller::recover() {
  auto intents = store_.intents();
  if (!intents) return std::unexpected(intents.error());
  int handled = 0;
  for (const auto& [id, body] : *intents) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    store::Batch b;
    std::vector<std::string> links;
    std::vector<std::string> netns;
    if (!j.is_discarded()) {
      for (const auto& o : j.value("objects", nlohmann::json::array())) {
        if (o.value("kind", "") == "link") links.push_back(o.value("name", ""));
        if (o.value("kind", "") == "netns") netns.push_back(o.value("path", ""));
      }
      for (const auto& d : j.value("drop", nlohmann::json::array())) {
        auto table = d.value("table", "");
        for (const char* t :
             {store::kNetworks, store::kEndpoints, store::kSandboxes, store::kContainers})
          if (table == t) b.drops.push_back({t, d.value("id", "")});
      }
    }
    if (!links.empty())
      if (auto r = kernel_.links->delete_links(links); !r)
        return context("recover an interrupted command", r.error());
    for (const auto& path : netns)
      if (auto r = kernel_.namespaces->remove(path); !r)
        return context("recover an interrupted command", r.error());
    b.done_intents.push_back(id);
    CNM_TRY(store_.apply(b));
    ++handled;
  }
  return handled;
}

Result<std::vector<Network>> Controller::list_networks() {
  auto recs = store_.list(store::kNetworks);
  if (!recs) return std::unexpected(recs.error());
  std::vector<Network> out;
  out.reserve(recs->size());
  try {
    for (const auto& r : *recs) out.push_back(nlohmann::json::parse(r.body).get<Network>());
  } catch (const std::exception& e) {
    return fail(Code::kFailed, "read networks: corrupt record: {}", e.what());
  }
  return out;
}

Result<Network> Controller::network(const std::string& name_or_id) {
  auto rec = store_.get(store::kNetworks, name_or_id);
  if (!rec) return std::unexpected(rec.error());
  if (!*rec) return fail(Code::kNotFound, "network {} not found", name_or_id);
  try {
    return nlohmann::json::parse((*rec)->body).get<Network>();
  } catch (const std::exception& e) {
    return fail(Code::kFailed, "read network {}: corrupt record: {}", name_or_id, e.what());
  }
}

}  // namespace cnm

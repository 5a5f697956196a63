// The netctl-docker request handlers (plugin.h): Docker's calls mapped onto the controller.
#include "plugins/docker/plugin.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "cnm/core/records.h"
#include "plugins/docker/protocol.h"

namespace docker {
namespace {

using nlohmann::json;

// Calls that need no state.
const std::set<std::string> kNoOps = {"DiscoverNew", "DiscoverDelete", "Leave",
                                      "RevokeExternalConnectivity", "FreeNetwork"};
// Network driver calls that only read the store.
const std::set<std::string> kReadOnly = {"Join", "EndpointOperInfo", "ProgramExternalConnectivity"};

cnm::Result<std::string> id_field(const json& req, const char* key) {
  if (!req.is_object() || !req.contains(key) || !req[key].is_string())
    return cnm::fail(cnm::Code::kInvalid, "{} missing", key);
  auto id = req[key].get<std::string>();
  CNM_TRY(check_docker_id(key, id));
  return id;
}

// Writes `text` to `path` through a temporary file and a rename (a crash leaves old or new).
cnm::Status write_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text;
    if (!f.flush()) return cnm::fail(cnm::Code::kFailed, "write {}: {}", tmp, strerror(errno));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0)
    return cnm::fail(cnm::Code::kFailed, "rename {}: {}", path, strerror(errno));
  return {};
}

}  // namespace

cnm::Result<cnm::Runtime*> Plugin::reader() {
  struct stat st {};
  std::string db = root_ + "/netctl.db";
  bool same = stat(db.c_str(), &st) == 0 && st.st_dev == reader_dev_ && st.st_ino == reader_ino_;
  if (!reader_ || !same) {
    reader_.reset();
    reader_ = CNM_VALUE(cnm::Runtime::open(config_, root_));
    if (stat(db.c_str(), &st) != 0)
      return cnm::fail(cnm::Code::kFailed, "stat {}: {}", db, strerror(errno));
    reader_dev_ = st.st_dev;
    reader_ino_ = st.st_ino;
  }
  return reader_.get();
}

std::string Plugin::offer_path(const std::string& nid) const {
  return root_ + "/docker/offers/" + nid;
}

Reply Plugin::handle(const std::string& method, const std::string& body) {
  json req = json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
  if (method == "/Plugin.Activate")
    return {200, {{"Implements", json::array({"NetworkDriver", "IpamDriver"})}}};
  if (method.starts_with("/NetworkDriver.")) return network_call(method.substr(15), req);
  if (method.starts_with("/IpamDriver.")) return ipam_call(method.substr(12), req);
  return {404, {{"Err", "unknown method " + method}}};
}

Reply Plugin::network_call(const std::string& name, const json& req) {
  if (name == "GetCapabilities") return {200, {{"Scope", "local"}, {"ConnectivityScope", "local"}}};
  if (kNoOps.contains(name)) return {};
  if (name == "AllocateNetwork")  // swarm's manager only: a local driver allocates nothing
    return {200, {{"Options", json::object()}}};
  using Fn = cnm::Result<json> (Plugin::*)(cnm::Controller&, const json&);
  static const std::map<std::string, Fn> calls = {
      {"CreateNetwork", &Plugin::create_network},
      {"DeleteNetwork", &Plugin::delete_network},
      {"CreateEndpoint", &Plugin::create_endpoint},
      {"DeleteEndpoint", &Plugin::delete_endpoint},
      {"Join", &Plugin::join},
      {"EndpointOperInfo", &Plugin::endpoint_info},
      {"ProgramExternalConnectivity", &Plugin::endpoint_info},
  };
  auto it = calls.find(name);
  if (it == calls.end()) return {404, driver_error("unknown method NetworkDriver." + name)};
  if (req.is_discarded()) return {200, driver_error("request is not JSON")};
  cnm::Result<json> out = cnm::fail(cnm::Code::kFailed, "not called");
  if (kReadOnly.contains(name)) {
    auto rt = reader();
    if (!rt) return {200, driver_error(rt.error().message)};
    out = (this->*(it->second))((*rt)->controller(), req);
  } else {
    auto rt = cnm::Runtime::open(config_, root_);
    if (!rt) return {200, driver_error(rt.error().message)};
    out = (this->*(it->second))((*rt)->controller(), req);
    (*rt)->finish();
  }
  if (!out) return {200, driver_error(out.error().message)};
  if (name == "ProgramExternalConnectivity") return {};
  return {200, *out};
}

Reply Plugin::ipam_call(const std::string& name, const json& req) {
  if (name == "GetCapabilities") return {200, {{"RequiresMACAddress", false}}};
  if (name == "GetDefaultAddressSpaces")
    return {
        200,
        {{"LocalDefaultAddressSpace", kLocalSpace}, {"GlobalDefaultAddressSpace", kGlobalSpace}}};
  if (name == "ReleasePool") {
    if (!req.is_discarded() && req.is_object()) release_pool(req);
    return {};
  }
  if (name != "RequestPool" && name != "RequestAddress" && name != "ReleaseAddress")
    return {404, ipam_error("unknown method IpamDriver." + name)};
  if (req.is_discarded() || !req.is_object()) return {200, ipam_error("request is not JSON")};
  if (name == "ReleaseAddress") {
    auto out = release_address(req);
    return out ? Reply{200, *out} : Reply{200, ipam_error(out.error().message)};
  }
  auto rt = reader();  // both only read the store (what they hand out is kept in memory)
  if (!rt) return {200, ipam_error(rt.error().message)};
  auto& c = (*rt)->controller();
  auto out = name == "RequestPool" ? request_pool(c, req) : request_address(c, req);
  if (!out) return {200, ipam_error(out.error().message)};
  return {200, *out};
}

cnm::Result<cnm::Network> Plugin::network_of(cnm::Controller& c, const std::string& nid) {
  for (const auto& n : CNM_VALUE(c.list_networks())) {
    auto it = n.labels.find(kNetworkLabel);
    if (it != n.labels.end() && it->second == nid) return n;
  }
  std::ifstream f(offer_path(nid));
  std::string name;
  if (f && std::getline(f, name) && !name.empty()) return c.network(name);
  return cnm::fail(cnm::Code::kNotFound, "no netctl network for Docker network {}", nid);
}

cnm::Result<cnm::Endpoint> Plugin::endpoint_of(cnm::Controller& c, const std::string& eid) {
  auto eps = CNM_VALUE(c.endpoints({.name = endpoint_key(eid)}));
  if (eps.empty()) return cnm::fail(cnm::Code::kNotFound, "no netctl endpoint for {}", eid);
  return eps.front();
}

cnm::Result<json> Plugin::create_network(cnm::Controller& c, const json& req) {
  auto plan = CNM_VALUE(plan_network(req));
  auto nid = req["NetworkID"].get<std::string>();
  if (plan.offered.empty()) {
    add_pending_ranges(plan.create);
    CNM_TRY(c.create_network(plan.create));
    std::erase_if(pending_pools_, [&](const auto& kv) {  // a network of the store's now
      return std::ranges::find(plan.create.subnets, kv.second.str()) != plan.create.subnets.end();
    });
    return json::object();
  }
  auto n = CNM_VALUE(c.network(plan.offered));
  CNM_TRY(check_offer(n, req));
  std::string dir = root_ + "/docker";
  for (const auto& d : {dir, dir + "/offers"})
    if (mkdir(d.c_str(), 0700) != 0 && errno != EEXIST)
      return cnm::fail(cnm::Code::kFailed, "mkdir {}: {}", d, strerror(errno));
  CNM_TRY(write_file(offer_path(nid), n.name + "\n"));
  return json::object();
}

cnm::Result<json> Plugin::delete_network(cnm::Controller& c, const json& req) {
  auto nid = CNM_VALUE(id_field(req, "NetworkID"));
  if (unlink(offer_path(nid).c_str()) == 0) return json::object();  // offered: it stays
  auto n = network_of(c, nid);
  if (!n && n.error().code == cnm::Code::kNotFound) return json::object();
  if (!n) return std::unexpected(n.error());
  CNM_TRY(c.remove_networks({n->name}));
  return json::object();
}

cnm::Result<json> Plugin::create_endpoint(cnm::Controller& c, const json& req) {
  auto nid = CNM_VALUE(id_field(req, "NetworkID"));
  auto eid = CNM_VALUE(id_field(req, "EndpointID"));
  auto n = CNM_VALUE(network_of(c, nid));
  auto r = CNM_VALUE(plan_endpoint(req));
  r.network = n.name;
  auto ep = CNM_VALUE(c.attach_handoff(r, endpoint_key(eid)));
  for (const auto& a : ep.addresses)
    for (auto& [pool, addrs] : pending_) addrs.erase(a.addr().str());
  return endpoint_response(req.value("Interface", json::object()), ep);
}

cnm::Result<json> Plugin::delete_endpoint(cnm::Controller& c, const json& req) {
  auto nid = CNM_VALUE(id_field(req, "NetworkID"));
  auto eid = CNM_VALUE(id_field(req, "EndpointID"));
  auto n = network_of(c, nid);
  if (!n && n.error().code == cnm::Code::kNotFound) return json::object();
  if (!n) return std::unexpected(n.error());
  CNM_TRY(c.detach_key(n->name, endpoint_key(eid)));
  return json::object();
}

cnm::Result<json> Plugin::join(cnm::Controller& c, const json& req) {
  auto nid = CNM_VALUE(id_field(req, "NetworkID"));
  auto eid = CNM_VALUE(id_field(req, "EndpointID"));
  auto n = CNM_VALUE(network_of(c, nid));
  auto ep = CNM_VALUE(endpoint_of(c, eid));
  return join_response(n, ep);
}

cnm::Result<json> Plugin::endpoint_info(cnm::Controller& c, const json& req) {
  auto eid = CNM_VALUE(id_field(req, "EndpointID"));
  auto ep = CNM_VALUE(endpoint_of(c, eid));
  json ports = json::array();
  for (const auto& p : ep.ports) ports.push_back(cnm::port_spec_str(p));
  return json{{"Value", {{"netctl.endpoint", ep.id}, {"netctl.ports", ports}}}};
}

cnm::Result<json> Plugin::request_pool(cnm::Controller& c, const json& req) {
  std::vector<std::pair<std::string, cnm::Prefix>> existing;
  for (const auto& n : CNM_VALUE(c.list_networks()))
    for (const auto& p : n.pools) existing.emplace_back(n.name, p.subnet);
  std::vector<cnm::Prefix> promised;
  for (const auto& [id, subnet] : pending_pools_) {
    existing.emplace_back("(pool " + id + ", not yet created)", subnet);
    promised.push_back(subnet);
  }
  std::optional<cnm::Prefix> chosen;
  if (wants_auto_pool(req)) chosen = CNM_VALUE(c.free_subnet(req.value("V6", false), promised));
  auto out = CNM_VALUE(docker::request_pool(req, existing, chosen));
  auto id = out["PoolID"].get<std::string>();
  if (chosen || id.find('|') != std::string::npos) pending_pools_[id] = CNM_VALUE(pool_subnet(id));
  return out;
}

void Plugin::release_pool(const json& req) {
  auto it = req.find("PoolID");
  if (it != req.end() && it->is_string()) pending_pools_.erase(it->get<std::string>());
}

void Plugin::add_pending_ranges(cnm::NetworkCreateRequest& r) {
  for (const auto& [id, subnet] : pending_pools_) {
    if (std::ranges::find(r.subnets, subnet.str()) == r.subnets.end()) continue;
    if (auto range = pool_range(id); range && *range) r.ip_ranges.push_back((*range)->str());
  }
}

cnm::Result<json> Plugin::request_address(cnm::Controller& c, const json& req) {
  auto pool_id = req.value("PoolID", "");
  auto subnet = CNM_VALUE(pool_subnet(pool_id));
  auto range = CNM_VALUE(pool_range(pool_id));
  std::optional<cnm::IpAddr> want;
  if (auto text = req.value("Address", ""); !text.empty()) {
    auto a = cnm::IpAddr::parse(text);
    if (!a) return cnm::fail(cnm::Code::kInvalid, "'{}' is not an IP address", text);
    want = *a;
  }
  const auto options = req.value("Options", json::object());
  bool gateway = options.is_object() &&
                 options.value("RequestAddressType", "") == "com.docker.network.gateway";
  std::optional<cnm::Network> net;
  cnm::Pool pool;
  pool.subnet = subnet;
  for (auto& n : CNM_VALUE(c.list_networks()))
    for (const auto& p : n.pools)
      if (p.subnet == subnet) {
        net = n;
        pool = p;
      }
  if (gateway) {  // asked before the network exists: its gateway, as netctl would choose it
    auto gw = want ? *want : net ? pool.gateway : first_host(subnet);
    if (!subnet.contains(gw))
      return cnm::fail(cnm::Code::kInvalid, "gateway {} is not in {}", gw.str(), subnet.str());
    return json{{"Address", cnm::Prefix(gw, subnet.len()).str()}, {"Data", json::object()}};
  }
  if (!net) return cnm::fail(cnm::Code::kNotFound, "no netctl network has subnet {}", subnet.str());
  if (range && !pool.ip_range) pool.ip_range = range;
  // netctl's IPAM chooses, from the store's rows and the addresses handed out but not yet taken
  // by an endpoint.
  auto rows = CNM_VALUE(c.store().addresses(cnm::pool_key(*net, pool)));
  auto& pending = pending_[subnet.str()];
  std::vector<cnm::IpAddr> used;
  for (const auto& text : rows)
    if (auto u = cnm::IpAddr::parse(text)) used.push_back(*u);
  for (const auto& text : pending)
    if (auto u = cnm::IpAddr::parse(text)) used.push_back(*u);
  auto a = CNM_VALUE(c.ipam().allocate(pool, used, want));
  pending.insert(a.str());
  return json{{"Address", cnm::Prefix(a, subnet.len()).str()}, {"Data", json::object()}};
}

cnm::Result<json> Plugin::release_address(const json& req) {
  auto subnet = CNM_VALUE(pool_subnet(req.value("PoolID", "")));
  auto a = cnm::IpAddr::parse(req.value("Address", ""));
  if (a) pending_[subnet.str()].erase(a->str());
  return json::object();  // an endpoint's row went with DeleteEndpoint
}

}  // namespace docker

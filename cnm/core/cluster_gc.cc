#include "cnm/core/cluster_gc.h"

#include <fmt/core.h>

#include <charconv>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cnm/cluster/etcd_txn.h"

namespace cnm {
namespace {

struct HeldAddr {
  cluster::KeyValue kv;
  std::string network, ip;
};

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

// The time a dead mark holds, or -1 if it is not one this version wrote.
int64_t dead_since(const std::string& value) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (!j.is_object() || !j.contains("since") || !j["since"].is_number_integer()) return -1;
  return j["since"].get<int64_t>();
}

}  // namespace

Result<std::chrono::seconds> overlay_grace(const char* value) {
  if (value == nullptr || *value == '\0') return kOverlayGraceDefault;
  std::string_view s(value);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 1 || v > 86400)
    return fail(Code::kInvalid, "{} '{}': want seconds, 1 to 86400", kOverlayGraceEnv, s);
  return std::chrono::seconds(v);
}

Result<std::vector<std::string>> free_dead_hosts(cluster::EtcdClient& client,
                                                 const cluster::OverlayKeys& keys,
                                                 std::chrono::seconds grace) {
  std::set<std::string> live;
  for (const auto& kv : CNM_VALUE(client.get_prefix(keys.hosts())).kvs)
    if (auto p = keys.parse(kv.key)) live.insert(p->name);
  std::map<std::string, std::vector<HeldAddr>> dead;
  for (const auto& kv : CNM_VALUE(client.get_prefix(keys.root() + "addrs/")).kvs) {
    auto p = keys.parse(kv.key);
    auto owner = cluster::decode_address_owner(kv.value);
    if (p && owner && !live.contains(*owner)) dead[*owner].push_back({kv, p->name, p->ip});
  }
  const std::string marks = keys.root() + "dead/";
  std::vector<std::string> freed;
  for (const auto& kv : CNM_VALUE(client.get_prefix(marks)).kvs) {
    const std::string host = kv.key.substr(marks.size());
    if (!dead.contains(host)) (void)client.delete_key(kv.key);  // back, or nothing left to free
  }
  for (const auto& [host, addrs] : dead) {
    const std::string mark = marks + host;
    auto got = CNM_VALUE(client.get(mark));
    if (got.kvs.empty()) {
      CNM_TRY(client.create_if_absent(mark, fmt::format("{{\"since\":{}}}", unix_now()), 0));
      continue;
    }
    int64_t since = dead_since(got.kvs[0].value);
    if (since < 0 || unix_now() - since < grace.count()) continue;
    for (const auto& a : addrs) {
      cluster::Txn t{{cluster::TxnCompare::absent(keys.host(host)),
                      cluster::TxnCompare::modified_at(a.kv.key, a.kv.mod_revision)},
                     {cluster::TxnOp::del(a.kv.key)},
                     {}};
      if (CNM_VALUE(client.txn(t)).succeeded)
        freed.push_back(fmt::format("freed {} of network {}: host {} dead for {} s", a.ip,
                                    a.network, host, unix_now() - since));
    }
  }
  return freed;
}

}  // namespace cnm

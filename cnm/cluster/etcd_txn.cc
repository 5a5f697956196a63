#include "cnm/cluster/etcd_txn.h"

#include <nlohmann/json.hpp>

#include "cnm/cluster/base64.h"
#include "cnm/cluster/etcd.h"
#include "cnm/cluster/etcd_json_fields.h"

namespace cnm::cluster {
namespace {

using nlohmann::json;

// A 64-bit field of an answer: a decimal string (grpc-gateway) or a number; absent is zero.
json txn_compare_json(const TxnCompare& c) {
  using T = TxnCompare::Target;
  static constexpr const char* kOps[] = {"EQUAL", "NOT_EQUAL", "GREATER", "LESS"};
  json j = {{"key", base64_encode(c.key)}, {"result", kOps[static_cast<int>(c.op)]}};
  if (!c.range_end.empty()) j["range_end"] = base64_encode(c.range_end);
  std::string n = std::to_string(c.number);
  switch (c.target) {
    case T::kVersion:
      j["target"] = "VERSION", j["version"] = n;
      break;
    case T::kCreate:
      j["target"] = "CREATE", j["create_revision"] = n;
      break;
    case T::kMod:
      j["target"] = "MOD", j["mod_revision"] = n;
      break;
    case T::kValue:
      j["target"] = "VALUE", j["value"] = base64_encode(c.value);
      break;
    case T::kLease:
      j["target"] = "LEASE", j["lease"] = n;
      break;
  }
  return j;
}

json txn_op_json(const TxnOp& o) {
  json r = {{"key", base64_encode(o.key)}};
  if (!o.range_end.empty()) r["range_end"] = base64_encode(o.range_end);
  switch (o.kind) {
    case TxnOp::Kind::kRange:
      if (o.limit > 0) r["limit"] = std::to_string(o.limit);
      if (o.revision > 0) r["revision"] = std::to_string(o.revision);
      if (o.keys_only) r["keys_only"] = true;
      if (o.count_only) r["count_only"] = true;
      return {{"request_range", r}};
    case TxnOp::Kind::kPut:
      r["value"] = base64_encode(o.value);
      if (o.lease != 0) r["lease"] = std::to_string(o.lease);
      return {{"request_put", r}};
    case TxnOp::Kind::kDelete:
      return {{"request_delete_range", r}};
  }
  return r;
}

json txn_ops_json(const std::vector<TxnOp>& ops) {
  json a = json::array();
  for (const auto& o : ops) a.push_back(txn_op_json(o));
  return a;
}

TxnOpResult txn_op_result(const json& r, int64_t revision) {
  TxnOpResult out;
  out.range.revision = revision;
  if (auto rr = r.find("response_range"); rr != r.end()) {
    for (const auto& kv : rr->value("kvs", json::array())) {
      out.range.kvs.push_back(etcd_json::key_value(kv));
    }
    out.count = etcd_json::int_field(*rr, "count");
  }
  if (auto rd = r.find("response_delete_range"); rd != r.end())
    out.deleted = etcd_json::int_field(*rd, "deleted");
  return out;
}

TxnCompare txn_cmp(std::string_view key, TxnCompare::Target t, int64_t n) {
  TxnCompare c;
  c.key = key;
  c.target = t;
  c.number = n;
  return c;
}

TxnOp txn_op(TxnOp::Kind kind, std::string_view key) {
  TxnOp o;
  o.kind = kind;
  o.key = key;
  return o;
}

}  // namespace

TxnCompare TxnCompare::absent(std::string_view key) { return txn_cmp(key, Target::kCreate, 0); }

TxnCompare TxnCompare::prefix_empty(std::string_view prefix) {
  TxnCompare c = txn_cmp(prefix, Target::kCreate, 0);
  c.range_end = etcd_json::prefix_end(prefix);
  return c;
}

TxnCompare TxnCompare::created_at(std::string_view key, int64_t create_revision) {
  return txn_cmp(key, Target::kCreate, create_revision);
}

TxnCompare TxnCompare::modified_at(std::string_view key, int64_t mod_revision) {
  return txn_cmp(key, Target::kMod, mod_revision);
}

TxnCompare TxnCompare::value_is(std::string_view key, std::string_view value) {
  TxnCompare c = txn_cmp(key, Target::kValue, 0);
  c.value = value;
  return c;
}

TxnCompare TxnCompare::lease_is(std::string_view key, int64_t lease) {
  return txn_cmp(key, Target::kLease, lease);
}

TxnOp TxnOp::get(std::string_view key) { return txn_op(Kind::kRange, key); }

TxnOp TxnOp::get_prefix(std::string_view prefix, int64_t limit, int64_t revision) {
  TxnOp o = txn_op(Kind::kRange, prefix);
  o.range_end = etcd_json::prefix_end(prefix);
  o.limit = limit;
  o.revision = revision;
  return o;
}

TxnOp TxnOp::count_prefix(std::string_view prefix) {
  TxnOp o = get_prefix(prefix);
  o.count_only = true;
  return o;
}

TxnOp TxnOp::keys_prefix(std::string_view prefix) {
  TxnOp o = get_prefix(prefix);
  o.keys_only = true;
  return o;
}

TxnOp TxnOp::put(std::string_view key, std::string_view value, int64_t lease) {
  TxnOp o = txn_op(Kind::kPut, key);
  o.value = value;
  o.lease = lease;
  return o;
}

TxnOp TxnOp::del(std::string_view key) { return txn_op(Kind::kDelete, key); }

namespace etcd_json {

std::string txn_request(const Txn& t) {
  json c = json::array();
  for (const auto& x : t.compare) c.push_back(txn_compare_json(x));
  return json{
      {"compare", c}, {"success", txn_ops_json(t.success)}, {"failure", txn_ops_json(t.failure)}}
      .dump();
}

Result<TxnResult> parse_txn_result(std::string_view body) {
  try {
    json j = json::parse(body);
    TxnResult t;
    t.succeeded = j.value("succeeded", false);
    if (auto h = j.find("header"); h != j.end()) t.revision = etcd_json::int_field(*h, "revision");
    for (const auto& r : j.value("responses", json::array()))
      t.results.push_back(txn_op_result(r, t.revision));
    return t;
  } catch (const std::exception& e) {
    return fail(Code::kFailed, "unreadable etcd txn answer: {}", printable(e.what()));
  }
}

}  // namespace etcd_json

Result<TxnResult> EtcdClient::txn(const Txn& t) {
  auto a = CNM_VALUE(call("/v3/kv/txn", etcd_json::txn_request(t)));
  CNM_TRY(check_ok(a.reply));
  auto r = CNM_VALUE(etcd_json::parse_txn_result(a.reply.body));
  size_t want = (r.succeeded ? t.success : t.failure).size();
  if (r.results.size() != want) {
    return fail(Code::kFailed, "etcd {}: txn answered {} results for {} operations",
                current_endpoint(), r.results.size(), want);
  }
  r.retried_unknown = a.retried_unknown;
  return r;
}

}  // namespace cnm::cluster

#include "cnm/cluster/etcd.h"

#include <algorithm>
#include <random>
#include <thread>

namespace cnm::cluster {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool says(const HttpReply& r, std::string_view text) {
  return r.body.find(text) != std::string::npos;
}

// A lease ID nobody else picks: random, positive, never 0 (0 asks etcd to choose).
int64_t random_lease_id() {
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  std::uniform_int_distribution<int64_t> d(1, INT64_MAX);
  return d(gen);
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

EtcdClient::EtcdClient(EtcdOptions options) : options_(std::move(options)) {
  for (const auto& e : options_.endpoints) conns_.push_back(std::make_unique<HttpConn>(e));
}

long EtcdClient::connects() const {
  long n = 0;
  for (const auto& c : conns_) n += c->connects();
  return n;
}

const std::string& EtcdClient::current_endpoint() const {
  static const std::string none = "(no endpoint)";
  return conns_.empty() ? none : conns_[current_]->base();
}

Result<EtcdClient::Answer> EtcdClient::call(std::string_view path, std::string_view body) {
  if (conns_.empty()) return fail(Code::kInvalid, "etcd {}: no endpoints configured", path);
  const auto end = Clock::now() + options_.deadline;
  std::vector<std::string> errors(conns_.size());
  Answer answer;
  milliseconds backoff = options_.first_backoff;
  for (;;) {
    for (size_t n = 0; n < conns_.size(); ++n) {
      size_t i = (current_ + n) % conns_.size();
      auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
      if (left.count() <= 0) break;
      HttpConn& conn = *conns_[i];
      ++requests_;
      auto r = conn.post(path, body, std::min(options_.attempt_timeout, left));
      if (!r) {
        errors[i] = fmt::format("{}: {}", conn.base(), r.error().message);
        answer.retried_unknown |= r.error().kind == SendFailure::kUnknownOutcome;
        continue;
      }
      if (r->status >= 500) {
        errors[i] =
            fmt::format("{}: HTTP {} {}", conn.base(), r->status, etcd_json::error_text(r->body));
        answer.retried_unknown = true;
        continue;
      }
      current_ = i;
      answer.reply = std::move(*r);
      return answer;
    }
    auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
    if (left.count() <= 0) break;
    std::this_thread::sleep_for(std::min(backoff, left));
    backoff = std::min(backoff * 2, milliseconds(200));
  }
  std::erase(errors, std::string());
  return fail(Code::kFailed, "etcd {}: no member answered within {} ms ({})", path,
              options_.deadline.count(), joined(errors));
}

Status EtcdClient::check_ok(const HttpReply& r) const {
  if (r.status == 200) return {};
  return fail(Code::kFailed, "etcd {}: HTTP {} {}", current_endpoint(), r.status,
              etcd_json::error_text(r.body));
}

Result<Range> EtcdClient::get(std::string_view key) {
  auto a = CNM_VALUE(call("/v3/kv/range", etcd_json::range_request(key)));
  CNM_TRY(check_ok(a.reply));
  return etcd_json::parse_range(a.reply.body);
}

Result<Range> EtcdClient::get_prefix(std::string_view prefix) {
  auto a = CNM_VALUE(
      call("/v3/kv/range", etcd_json::range_request(prefix, etcd_json::prefix_end(prefix))));
  CNM_TRY(check_ok(a.reply));
  return etcd_json::parse_range(a.reply.body);
}

Result<Written> EtcdClient::put(std::string_view key, std::string_view value, int64_t lease) {
  auto a = CNM_VALUE(call("/v3/kv/put", etcd_json::put_request(key, value, lease)));
  CNM_TRY(check_ok(a.reply));
  return Written{true, CNM_VALUE(etcd_json::parse_revision(a.reply.body))};
}

Result<Written> EtcdClient::create_if_absent(std::string_view key, std::string_view value,
                                             int64_t lease) {
  auto a = CNM_VALUE(call("/v3/kv/txn", etcd_json::create_txn(key, value, lease)));
  CNM_TRY(check_ok(a.reply));
  auto t = CNM_VALUE(etcd_json::parse_txn(a.reply.body));
  if (t.succeeded) return Written{true, t.revision};
  const auto& kvs = t.range.kvs;
  bool mine =
      a.retried_unknown && kvs.size() == 1 && kvs[0].value == value && kvs[0].lease == lease;
  return Written{mine, t.revision};
}

Result<Written> EtcdClient::delete_key(std::string_view key) {
  auto a = CNM_VALUE(call("/v3/kv/deleterange", etcd_json::delete_request(key)));
  CNM_TRY(check_ok(a.reply));
  auto deleted = CNM_VALUE(etcd_json::parse_deleted(a.reply.body));
  return Written{deleted > 0, CNM_VALUE(etcd_json::parse_revision(a.reply.body))};
}

Result<Written> EtcdClient::delete_if_value(std::string_view key, std::string_view value) {
  auto a = CNM_VALUE(call("/v3/kv/txn", etcd_json::delete_if_value_txn(key, value)));
  CNM_TRY(check_ok(a.reply));
  auto t = CNM_VALUE(etcd_json::parse_txn(a.reply.body));
  if (t.succeeded) return Written{t.deleted > 0, t.revision};
  return Written{a.retried_unknown && t.range.kvs.empty(), t.revision};
}

Result<Lease> EtcdClient::lease_grant(int64_t ttl) {
  int64_t id = random_lease_id();
  auto a = CNM_VALUE(call("/v3/lease/grant", etcd_json::lease_grant_request(id, ttl)));
  if (a.retried_unknown && says(a.reply, "lease already exists")) return Lease{id, ttl};
  CNM_TRY(check_ok(a.reply));
  auto l = CNM_VALUE(etcd_json::parse_lease(a.reply.body));
  if (says(a.reply, "\"error\"") || l.id != id) {
    return fail(Code::kFailed, "etcd {}: lease grant: {}", current_endpoint(),
                etcd_json::error_text(a.reply.body));
  }
  return l;
}

Result<Lease> EtcdClient::lease_keepalive(int64_t id) {
  auto a = CNM_VALUE(call("/v3/lease/keepalive", etcd_json::lease_id_request(id)));
  CNM_TRY(check_ok(a.reply));
  // A stream's error comes inside a 200 answer: {"error": {...}}.
  if (says(a.reply, "\"error\"")) {
    return fail(Code::kFailed, "etcd {}: lease keepalive {:x}: {}", current_endpoint(), id,
                etcd_json::error_text(a.reply.body));
  }
  auto l = CNM_VALUE(etcd_json::parse_lease(a.reply.body));
  if (l.ttl <= 0) return fail(Code::kNotFound, "etcd lease {:x} has expired", id);
  return l;
}

Status EtcdClient::lease_revoke(int64_t id) {
  auto a = CNM_VALUE(call("/v3/lease/revoke", etcd_json::lease_id_request(id)));
  if (says(a.reply, "requested lease not found")) {
    if (a.retried_unknown) return {};
    return fail(Code::kNotFound, "etcd lease {:x} does not exist", id);
  }
  return check_ok(a.reply);
}

}  // namespace cnm::cluster

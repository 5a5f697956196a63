// A client of etcd's v3 API through its JSON gateway (POST /v3/kv/..., /v3/lease/...), one
// kept-alive libcurl handle per member. Every call has a deadline; within it, a call that met a
// connection error, a timeout or a 5xx answer is sent again, to the next member, until one answers.
// Only calls whose repetition is harmless are repeated: plain reads and writes as they are,
// conditional writes with a check of what an earlier, unanswered attempt may have done.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/cluster/etcd_json.h"
#include "cnm/cluster/http.h"
#include "cnm/cluster/watch.h"
#include "cnm/model/error.h"

namespace cnm::cluster {

struct Txn;        // etcd_txn.h
struct TxnResult;  // etcd_txn.h

struct EtcdOptions {
  std::vector<std::string> endpoints;              // "http://host:port"
  std::chrono::milliseconds deadline{1000};        // per call, every attempt included
  std::chrono::milliseconds attempt_timeout{300};  // per request to one member
  std::chrono::milliseconds first_backoff{10};     // before a round over all members is redone
};

// One client per thread: calls on one client must not overlap.
class EtcdClient {
 public:
  explicit EtcdClient(EtcdOptions options);

  Result<Range> get(std::string_view key);
  Result<Range> get_prefix(std::string_view prefix);
  Result<Written> put(std::string_view key, std::string_view value, int64_t lease = 0);
  // Writes key = value bound to `lease` if no such key exists: done is false if it exists. After
  // an attempt with an unknown outcome, the key holding exactly this value and lease counts as
  // written by this call.
  Result<Written> create_if_absent(std::string_view key, std::string_view value, int64_t lease);
  // done: whether a key was deleted.
  Result<Written> delete_key(std::string_view key);
  // Deletes key if it holds `value`. After an attempt with an unknown outcome, the key gone
  // counts as deleted by this call.
  Result<Written> delete_if_value(std::string_view key, std::string_view value);
  // A new lease of `ttl` seconds, under an ID chosen here so that a repeated grant is recognised.
  Result<Lease> lease_grant(int64_t ttl);
  // Renews the lease; kNotFound once it has expired.
  Result<Lease> lease_keepalive(int64_t id);
  Status lease_revoke(int64_t id);
  // A transaction of any shape (etcd_txn.h, defined there). Sent again like every call: then
  // TxnResult::retried_unknown is set and the caller recognises its own earlier write.
  Result<TxnResult> txn(const Txn& t);

  // Watches every key under `prefix` from `from_revision` (0: from now), passing each batch of
  // events to `callback` until it returns false or `max_wait` passes; a broken stream is resumed on
  // the next member from the revision after the last event seen. Returns the revision to resume
  // from; kConflict if that history is compacted (read the keys again, then watch). `interrupt`
  // (optional), once set by another thread, ends the watch like `max_wait` within about a second
  // (libcurl looks at it at least once a second while the stream is idle).
  Result<int64_t> watch_prefix(std::string_view prefix, int64_t from_revision,
                               const WatchCallback& callback, std::chrono::milliseconds max_wait,
                               const std::atomic<bool>* interrupt = nullptr);

  // Connections opened so far over all members (measures reuse).
  long connects() const;
  // Requests sent so far, every attempt of every call (round trips; measures a command's cost).
  long requests() const { return requests_; }
  // The member that answered last, "http://host:port".
  const std::string& current_endpoint() const;

 private:
  struct Answer {
    HttpReply reply;
    bool retried_unknown = false;  // an earlier attempt of this call may have taken effect
  };
  // POSTs `body` to `path` on the members in turn until one gives a non-5xx answer or the
  // deadline passes. A 4xx answer is returned as it is (the caller reads the error).
  Result<Answer> call(std::string_view path, std::string_view body);
  Status check_ok(const HttpReply& r) const;

  EtcdOptions options_;
  std::vector<std::unique_ptr<HttpConn>> conns_;
  size_t current_ = 0;  // the member tried first: the one that answered last
  long requests_ = 0;
};

}  // namespace cnm::cluster

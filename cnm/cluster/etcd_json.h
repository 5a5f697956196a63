// The JSON of etcd's v3 gateway (grpc-gateway): requests built and answers read, with no I/O.
// Keys and values travel base64-encoded; 64-bit integers as decimal strings; fields equal to zero,
// false or empty are left out of answers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/model/error.h"

namespace cnm::cluster {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

// Keys found, and the store's revision when they were read (the answer header's).
struct Range {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;
};

// A conditional or plain write: whether it took effect, and the revision after it.
struct Written {
  bool done = false;
  int64_t revision = 0;
};

struct Lease {
  int64_t id = 0;
  int64_t ttl = 0;  // seconds left; 0 once the lease is gone
};

// What a transaction answered: its branch, the header revision, and the failure branch's range
// (the key as it stands) or the success branch's delete count.
struct TxnReply {
  bool succeeded = false;
  int64_t revision = 0;
  Range range;
  int64_t deleted = 0;
};

namespace etcd_json {

// The end of the range holding every key that starts with `prefix` ("\0" for all keys).
std::string prefix_end(std::string_view prefix);

std::string range_request(std::string_view key, std::string_view range_end = {});
std::string put_request(std::string_view key, std::string_view value, int64_t lease);
std::string delete_request(std::string_view key, std::string_view range_end = {});
// Puts key = value (bound to lease) if the key does not exist; reads it otherwise.
std::string create_txn(std::string_view key, std::string_view value, int64_t lease);
// Deletes key if its value is `value`; reads it otherwise.
std::string delete_if_value_txn(std::string_view key, std::string_view value);
std::string lease_grant_request(int64_t id, int64_t ttl);
std::string lease_id_request(int64_t id);

Result<Range> parse_range(std::string_view body);
Result<int64_t> parse_revision(std::string_view body);
Result<int64_t> parse_deleted(std::string_view body);
Result<TxnReply> parse_txn(std::string_view body);
// A grant's answer, or a keepalive's ({"result": {...}}).
Result<Lease> parse_lease(std::string_view body);
// The message of an error answer ({"error": "...", "code": N}), or the body itself, cut short.
std::string error_text(std::string_view body);

}  // namespace etcd_json
}  // namespace cnm::cluster

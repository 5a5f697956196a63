// etcd v3 transactions of any shape (EtcdClient::txn): several compares, each on one key or on
// every key of a range, then the success or the failure branch's reads, puts and deletes.
// Requests built and answers read here without I/O; the call itself is EtcdClient::txn.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cnm/cluster/etcd_json.h"
#include "cnm/model/error.h"

namespace cnm::cluster {

// One comparison. With range_end set, it must hold for every key in [key, range_end); an empty
// range compares as one absent key (every field 0), so `create_revision == 0` over a prefix's
// range holds exactly when no key has that prefix (etcd >= 3.3; the gateway paths /v3/... need
// 3.4 anyway).
struct TxnCompare {
  enum class Target { kVersion, kCreate, kMod, kValue, kLease };
  enum class Op { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  std::string range_end;
  Target target = Target::kCreate;
  Op op = Op::kEqual;
  int64_t number = 0;  // revision, version or lease
  std::string value;   // kValue only (an absent key never equals any value)

  static TxnCompare absent(std::string_view key);
  static TxnCompare prefix_empty(std::string_view prefix);
  static TxnCompare created_at(std::string_view key, int64_t create_revision);
  static TxnCompare modified_at(std::string_view key, int64_t mod_revision);
  static TxnCompare value_is(std::string_view key, std::string_view value);
  static TxnCompare lease_is(std::string_view key, int64_t lease);
};

struct TxnOp {
  enum class Kind { kRange, kPut, kDelete };
  Kind kind = Kind::kRange;
  std::string key;
  std::string range_end;
  std::string value;        // kPut
  int64_t lease = 0;        // kPut
  int64_t limit = 0;        // kRange: at most this many keys (0: all); count still counts them all
  int64_t revision = 0;     // kRange: read the store as it was at this revision (0: now)
  bool keys_only = false;   // kRange: keys without their values
  bool count_only = false;  // kRange: only the count

  static TxnOp get(std::string_view key);
  static TxnOp get_prefix(std::string_view prefix, int64_t limit = 0, int64_t revision = 0);
  static TxnOp count_prefix(std::string_view prefix);
  static TxnOp keys_prefix(std::string_view prefix);
  static TxnOp put(std::string_view key, std::string_view value, int64_t lease = 0);
  static TxnOp del(std::string_view key);
};

struct Txn {
  std::vector<TxnCompare> compare;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;
};

// The answer of one operation of the branch taken, in order.
struct TxnOpResult {
  Range range;        // kRange: the keys read (revision: the transaction's)
  int64_t count = 0;  // kRange: keys in the range, beyond `limit` too
  int64_t deleted = 0;
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;
  std::vector<TxnOpResult> results;  // one per operation of the branch taken
  // An earlier attempt of this call got no answer and may have taken effect: a failed compare may
  // be this call's own write, which the caller recognises by its content.
  bool retried_unknown = false;
};

namespace etcd_json {
std::string txn_request(const Txn& t);
// The answer of a transaction: one result per operation of the branch taken, in order.
Result<TxnResult> parse_txn_result(std::string_view body);
}  // namespace etcd_json

}  // namespace cnm::cluster

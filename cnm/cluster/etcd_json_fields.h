// Private to cnm/cluster: fields of etcd's JSON gateway answers (etcd_json.cc reads them; so does
// etcd_txn.cc for a transaction's responses).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "cnm/cluster/etcd_json.h"

namespace cnm::cluster::etcd_json {

// A 64-bit field: grpc-gateway writes them as strings; numbers are taken too. Absent is zero.
// Throws std::invalid_argument on anything else.
int64_t int_field(const nlohmann::json& j, const char* name);
// A base64 field, decoded; absent is empty. Throws std::invalid_argument when it is no base64.
std::string bytes_field(const nlohmann::json& j, const char* name);
// One entry of a range answer's "kvs".
KeyValue key_value(const nlohmann::json& kv);

}  // namespace cnm::cluster::etcd_json

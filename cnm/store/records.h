// Store records to model objects. JSON parse errors are caught here, at the boundary, and become
// Code::kFailed "read <what>: corrupt record: ...". For every reader of the store: the services
// (through cnm/core/records.h) and the DNS server.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "cnm/model/error.h"
#include "cnm/store/store.h"

namespace cnm {

// One record, or Code::kNotFound "<kind> <key> not found" when `rec` holds none.
template <class T>
Result<T> decode_one(Result<std::optional<store::Record>> rec, std::string_view kind,
                     std::string_view key) {
  if (!rec) return std::unexpected(rec.error());
  if (!*rec) return fail(Code::kNotFound, "{} {} not found", kind, key);
  try {
    return nlohmann::json::parse((*rec)->body).get<T>();
  } catch (const std::exception& e) {
    return fail(Code::kFailed, "read {} {}: corrupt record: {}", kind, key, e.what());
  }
}

template <class T>
Result<std::vector<T>> decode_all(Result<std::vector<store::Record>> recs, std::string_view kind) {
  if (!recs) return std::unexpected(recs.error());
  std::vector<T> out;
  out.reserve(recs->size());
  try {
    for (const auto& r : *recs) out.push_back(nlohmann::json::parse(r.body).get<T>());
  } catch (const std::exception& e) {
    return fail(Code::kFailed, "read {}: corrupt record: {}", kind, e.what());
  }
  return out;
}

}  // namespace cnm

#include "cnm/cluster/etcd_json.h"

#include <nlohmann/json.hpp>

#include "cnm/cluster/base64.h"
#include "cnm/cluster/etcd_json_fields.h"

namespace cnm::cluster::etcd_json {

using nlohmann::json;

int64_t int_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) throw std::invalid_argument(fmt::format("{} is not an integer", name));
  const auto& s = it->get_ref<const std::string&>();
  size_t used = 0;
  int64_t v = std::stoll(s, &used);
  if (used != s.size()) throw std::invalid_argument(fmt::format("{} is not an integer", name));
  return v;
}

std::string bytes_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return {};
  auto v = base64_decode(it->get<std::string>());
  if (!v) throw std::invalid_argument(fmt::format("{} is not base64", name));
  return *v;
}

KeyValue key_value(const json& kv) {
  return {bytes_field(kv, "key"),        bytes_field(kv, "value"), int_field(kv, "create_revision"),
          int_field(kv, "mod_revision"), int_field(kv, "version"), int_field(kv, "lease")};
}

namespace {

std::string b64(std::string_view s) { return base64_encode(s); }

int64_t header_revision(const json& j) {
  auto it = j.find("header");
  return it == j.end() ? 0 : int_field(*it, "revision");
}

Range range_of(const json& j) {
  Range r;
  r.revision = header_revision(j);
  if (auto kvs = j.find("kvs"); kvs != j.end()) {
    for (const auto& kv : *kvs) r.kvs.push_back(key_value(kv));
  }
  return r;
}

// Parses `body` and applies `read` to it; any malformed part is one error.
template <class F>
auto parse(std::string_view body, F read) -> Result<decltype(read(json()))> {
  try {
    return read(json::parse(body));
  } catch (const std::exception& e) {
    return fail(Code::kFailed, "unreadable etcd answer: {}", printable(e.what()));
  }
}

json range_json(std::string_view key, std::string_view range_end) {
  json j = {{"key", b64(key)}};
  if (!range_end.empty()) j["range_end"] = b64(range_end);
  return j;
}

json put_json(std::string_view key, std::string_view value, int64_t lease) {
  json j = {{"key", b64(key)}, {"value", b64(value)}};
  if (lease != 0) j["lease"] = std::to_string(lease);
  return j;
}

}  // namespace

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) != 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string range_request(std::string_view key, std::string_view range_end) {
  return range_json(key, range_end).dump();
}

std::string put_request(std::string_view key, std::string_view value, int64_t lease) {
  return put_json(key, value, lease).dump();
}

std::string delete_request(std::string_view key, std::string_view range_end) {
  return range_json(key, range_end).dump();
}

std::string create_txn(std::string_view key, std::string_view value, int64_t lease) {
  json cmp = {
      {"key", b64(key)}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}};
  return json{{"compare", json::array({cmp})},
              {"success", json::array({{{"request_put", put_json(key, value, lease)}}})},
              {"failure", json::array({{{"request_range", range_json(key, {})}}})}}
      .dump();
}

std::string delete_if_value_txn(std::string_view key, std::string_view value) {
  json cmp = {{"key", b64(key)}, {"target", "VALUE"}, {"result", "EQUAL"}, {"value", b64(value)}};
  return json{{"compare", json::array({cmp})},
              {"success", json::array({{{"request_delete_range", range_json(key, {})}}})},
              {"failure", json::array({{{"request_range", range_json(key, {})}}})}}
      .dump();
}

std::string lease_grant_request(int64_t id, int64_t ttl) {
  return json{{"ID", std::to_string(id)}, {"TTL", std::to_string(ttl)}}.dump();
}

std::string lease_id_request(int64_t id) { return json{{"ID", std::to_string(id)}}.dump(); }

Result<Range> parse_range(std::string_view body) {
  return parse(body, [](const json& j) { return range_of(j); });
}

Result<int64_t> parse_revision(std::string_view body) {
  return parse(body, [](const json& j) { return header_revision(j); });
}

Result<int64_t> parse_deleted(std::string_view body) {
  return parse(body, [](const json& j) { return int_field(j, "deleted"); });
}

Result<TxnReply> parse_txn(std::string_view body) {
  return parse(body, [](const json& j) {
    TxnReply t;
    t.succeeded = j.value("succeeded", false);
    t.revision = header_revision(j);
    for (const auto& r : j.value("responses", json::array())) {
      if (auto rr = r.find("response_range"); rr != r.end()) t.range = range_of(*rr);
      if (auto rd = r.find("response_delete_range"); rd != r.end())
        t.deleted = int_field(*rd, "deleted");
    }
    t.range.revision = t.revision;
    return t;
  });
}

Result<Lease> parse_lease(std::string_view body) {
  return parse(body, [](const json& j) {
    const json& l = j.contains("result") ? j.at("result") : j;
    return Lease{int_field(l, "ID"), int_field(l, "TTL")};
  });
}

std::string error_text(std::string_view body) {
  try {
    json j = json::parse(body);
    for (const char* k : {"error", "message"}) {
      if (auto it = j.find(k); it != j.end() && it->is_string())
        return printable(it->get<std::string>());
    }
    if (auto it = j.find("error"); it != j.end() && it->is_object()) {
      return printable(it->value("message", std::string("error")));
    }
  } catch (const std::exception&) {
  }
  return printable(body.substr(0, 200));
}

}  // namespace cnm::cluster::etcd_json

// Replies already built, per querying scope and query bytes: the same question from the same
// namespace gets the same reply while the zone stands, so a repeated query (TTL 0 makes clients
// ask again and again) costs a hash lookup instead of an ldns parse and build. Cleared whenever the
// zone is rebuilt; bounded in bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "cnm/dns/zone.h"

namespace cnm::dns {

class AnswerCache {
 public:
  static constexpr size_t kMaxBytes = 256 << 10;  // keys and replies together; then it starts over
  static constexpr size_t kMaxQuery = 512;        // longer queries are answered but not kept

  // The reply to `query` (DNS wire format, its ID ignored) from a source with scope `scope`
  // (nullptr: no endpoint's), as put() kept it; nullptr when there is none. Its ID is the ID of
  // the query it was built for: the caller puts the query's own in. An empty reply: put_forward()
  // kept that the query goes upstream.
  const std::vector<uint8_t>* find(const Zone::Scope* scope, std::span<const uint8_t> query);
  // Keeps `reply` for `query` in `scope`: only a reply that depends on nothing else (the zone
  // being the one it was built from).
  void put(const Zone::Scope* scope, std::span<const uint8_t> query,
           std::span<const uint8_t> reply);
  // Keeps that `query` in `scope` is forwarded (a name outside the zone, from an endpoint).
  void put_forward(const Zone::Scope* scope, std::span<const uint8_t> query);
  void clear();
  size_t size() const { return map_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kIdBytes = 2;
  // What an entry costs beyond its bytes (node, hash, vector and string headers), roughly.
  static constexpr size_t kEntryOverhead = 96;
  // key_ = the scope's address, then the query after its ID; reused, so a lookup allocates nothing.
  bool make_key(const Zone::Scope* scope, std::span<const uint8_t> query);
  void keep(std::span<const uint8_t> reply);  // under key_

  std::string key_;
  std::unordered_map<std::string, std::vector<uint8_t>, TextHash, std::equal_to<>> map_;
  size_t bytes_ = 0;
};

}  // namespace cnm::dns

#include "cnm/dns/answer_cache.h"

#include <cstring>

namespace cnm::dns {

bool AnswerCache::make_key(const Zone::Scope* scope, std::span<const uint8_t> query) {
  if (query.size() <= kIdBytes || query.size() > kMaxQuery) return false;
  key_.resize(sizeof scope + query.size() - kIdBytes);
  std::memcpy(key_.data(), &scope, sizeof scope);
  std::memcpy(key_.data() + sizeof scope, query.data() + kIdBytes, query.size() - kIdBytes);
  return true;
}

const std::vector<uint8_t>* AnswerCache::find(const Zone::Scope* scope,
                                              std::span<const uint8_t> query) {
  if (map_.empty() || !make_key(scope, query)) return nullptr;
  auto it = map_.find(std::string_view(key_));
  return it == map_.end() ? nullptr : &it->second;
}

void AnswerCache::put_forward(const Zone::Scope* scope, std::span<const uint8_t> query) {
  if (!make_key(scope, query)) return;
  keep({});
}

void AnswerCache::put(const Zone::Scope* scope, std::span<const uint8_t> query,
                      std::span<const uint8_t> reply) {
  if (reply.empty() || !make_key(scope, query)) return;
  keep(reply);
}

void AnswerCache::keep(std::span<const uint8_t> reply) {
  size_t cost = key_.size() + reply.size() + kEntryOverhead;
  if (bytes_ + cost > kMaxBytes) clear();
  auto [it, added] = map_.try_emplace(key_, reply.begin(), reply.end());
  if (added) bytes_ += cost;
}

void AnswerCache::clear() {
  map_.clear();
  map_.rehash(0);
  bytes_ = 0;
}

}  // namespace cnm::dns

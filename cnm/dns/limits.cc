#include "cnm/dns/limits.h"

#include <algorithm>

namespace cnm::dns {

bool RateLimiter::allow(const IpAddr& source, Clock::time_point now) {
  if (rate_ <= 0) return true;
  auto it = buckets_.find(source);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_) sweep(now);
    // Still full: every tracked source is busy. Start over rather than grow: the limit is lost for
    // a moment, never the memory bound.
    if (buckets_.size() >= max_) buckets_.clear();
    it = buckets_.emplace(source, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  std::chrono::duration<double> dt = now - b.last;
  b.tokens = std::min(burst_, b.tokens + dt.count() * rate_);
  b.last = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

void RateLimiter::sweep(Clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& kv) {
    std::chrono::duration<double> dt = now - kv.second.last;
    return kv.second.tokens + dt.count() * rate_ >= burst_;
  });
}

}  // namespace cnm::dns

#include "server/rpc/call_rate_limiter.h"

#include <algorithm>

namespace temoin::server {

bool CallRateLimiter::TryTake(const std::string& device_id, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (now - last_sweep_ > std::chrono::seconds(60)) SweepLocked(now);
  auto [it, fresh] = buckets_.try_emplace(device_id, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh && now > b.refilled_at) {
    double elapsed = std::chrono::duration<double>(now - b.refilled_at).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * per_second_);
    b.refilled_at = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

// A bucket idle for a minute is full again: forgetting it changes nothing.
void CallRateLimiter::SweepLocked(Clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& e) {
    return now - e.second.refilled_at > std::chrono::seconds(60);
  });
  last_sweep_ = now;
}

}  // namespace temoin::server

#include "server/core/rate_limits.h"

#include <algorithm>
#include <climits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace temoin::server {
namespace {

constexpr int64_t kSecondsPerDay = 86'400;
constexpr int64_t kSweepEverySeconds = 60;

}  // namespace

RateLimiter::RateLimiter(const Clock* clock, RateLimits limits)
    : clock_(clock), limits_(limits), last_sweep_(clock->NowSeconds()) {}

absl::Status RateLimiter::AdmitBatch(absl::string_view device_id, uint64_t bytes) {
  return Admit(device_id, /*batch=*/true, bytes);
}

absl::Status RateLimiter::AdmitBytes(absl::string_view device_id, uint64_t bytes) {
  return Admit(device_id, /*batch=*/false, bytes);
}

size_t RateLimiter::TrackedDevices() const {
  std::lock_guard lock(mu_);
  return devices_.size();
}

absl::Status RateLimiter::QuotaReached() const {
  return absl::ResourceExhaustedError(absl::StrCat(
      "daily upload quota of ", limits_.bytes_per_day >> 20, " MiB reached for this device"));
}

absl::Status RateLimiter::TakeBatchLocked(DeviceState& state, int64_t now) {
  // Integer token bucket: capacity N*60 units, N units a second, 60 units a batch.
  const int64_t per_minute = limits_.batches_per_minute;
  const int64_t capacity = per_minute * 60;
  if (now > state.refilled_at) {
    state.tokens = std::min(capacity, state.tokens + (now - state.refilled_at) * per_minute);
    state.refilled_at = now;
  }
  if (state.tokens < 60) {
    int64_t retry = per_minute == 0 ? 60 : (60 - state.tokens + per_minute - 1) / per_minute;
    return absl::ResourceExhaustedError(absl::StrCat("upload rate limit reached: at most ",
                                                     per_minute, " batches per minute; retry in ",
                                                     std::max<int64_t>(retry, 1), " s"));
  }
  state.tokens -= 60;
  return absl::OkStatus();
}

absl::Status RateLimiter::Admit(absl::string_view device_id, bool batch, uint64_t bytes) {
  if (shared_ != nullptr) return AdmitShared(device_id, batch, bytes);
  const int64_t now = clock_->NowSeconds();
  std::lock_guard lock(mu_);
  if (now - last_sweep_ >= kSweepEverySeconds) SweepLocked(now);
  DeviceState& state = StateLocked(device_id, now);
  if (now / kSecondsPerDay != state.day) {
    state.day = now / kSecondsPerDay;
    state.bytes_today = 0;
  }
  if (state.bytes_today >= limits_.bytes_per_day) return QuotaReached();
  if (batch) TEMOIN_RETURN_IF_ERROR(TakeBatchLocked(state, now));
  state.bytes_today += bytes;
  return absl::OkStatus();
}

// The quota first (as above), in the store; given back when the batch rate refuses, so
// that a refusal counts nothing.
absl::Status RateLimiter::AdmitShared(absl::string_view device_id, bool batch, uint64_t bytes) {
  const int64_t now = clock_->NowSeconds();
  const std::string counter = absl::StrCat("quota/", device_id);
  const int64_t day = now / kSecondsPerDay;
  absl::StatusOr<uint64_t> counted = shared_->AddToCounter(
      counter, day, static_cast<int64_t>(std::min<uint64_t>(bytes, INT64_MAX)),
      limits_.bytes_per_day);
  if (absl::IsResourceExhausted(counted.status())) return QuotaReached();
  TEMOIN_RETURN_IF_ERROR(counted.status());
  if (!batch) return absl::OkStatus();
  absl::Status taken;
  {
    std::lock_guard lock(mu_);
    if (now - last_sweep_ >= kSweepEverySeconds) SweepLocked(now);
    taken = TakeBatchLocked(StateLocked(device_id, now), now);
  }
  if (!taken.ok() && bytes > 0) {
    shared_
        ->AddToCounter(counter, day, -static_cast<int64_t>(std::min<uint64_t>(bytes, INT64_MAX)),
                       limits_.bytes_per_day)
        .IgnoreError();
  }
  return taken;
}

RateLimiter::DeviceState& RateLimiter::StateLocked(absl::string_view device_id, int64_t now) {
  auto it = devices_.find(std::string(device_id));
  if (it == devices_.end()) {
    if (devices_.size() >= limits_.max_tracked_devices) {
      SweepLocked(now);
      // Still full of active devices: forget the one seen longest ago. That only gives
      // it fresh counters, and needs more active devices than any fleet we serve.
      if (!devices_.empty() && devices_.size() >= limits_.max_tracked_devices) {
        auto oldest = std::min_element(devices_.begin(), devices_.end(), [](auto& a, auto& b) {
          return a.second.last_seen < b.second.last_seen;
        });
        devices_.erase(oldest);
      }
    }
    DeviceState fresh;
    fresh.tokens = int64_t{limits_.batches_per_minute} * 60;
    fresh.refilled_at = now;
    fresh.day = now / kSecondsPerDay;
    it = devices_.emplace(std::string(device_id), fresh).first;
  }
  it->second.last_seen = now;
  return it->second;
}

bool RateLimiter::IdleLocked(const DeviceState& state, int64_t now) const {
  const int64_t capacity = int64_t{limits_.batches_per_minute} * 60;
  bool bucket_full =
      state.tokens + (now - state.refilled_at) * int64_t{limits_.batches_per_minute} >= capacity;
  bool quota_fresh = state.bytes_today == 0 || now / kSecondsPerDay != state.day;
  return bucket_full && quota_fresh;
}

void RateLimiter::SweepLocked(int64_t now) {
  last_sweep_ = now;
  for (auto it = devices_.begin(); it != devices_.end();) {
    it = IdleLocked(it->second, now) ? devices_.erase(it) : std::next(it);
  }
}

}  // namespace temoin::server

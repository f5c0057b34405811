#ifndef TEMOIN_SERVER_CORE_RATE_LIMITS_H_
#define TEMOIN_SERVER_CORE_RATE_LIMITS_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "server/storage/store.h"

namespace temoin::server {

// Per-device upload limits. The defaults never bother a real monitor (a sync sends a
// few batches; a day of field work is far below 2 GiB with photos and audio) and still
// stop a stolen or buggy device from flooding the server before it is revoked.
struct RateLimits {
  uint32_t batches_per_minute = 600;
  uint64_t bytes_per_day = 2ull << 30;
  // Devices tracked at once; beyond this the least recently seen are forgotten (see
  // RateLimiter). Far above any organisation's fleet.
  size_t max_tracked_devices = 100'000;
};

// Counts uploads per device: a token bucket of `batches_per_minute` batches refilled
// continuously (so the window slides: a burst of N, then one more every 60/N s), and
// a byte quota per UTC day. A batch or slice is refused only once the quota is already
// used up, so one item larger than what is left still goes through: the quota can be
// exceeded by at most one message (bounded by the transport's message size), and no
// item can ever be stuck behind a quota it is larger than.
//
// Memory is bounded: a device whose bucket is full again and whose quota belongs to an
// earlier day carries no information and is dropped at the next sweep (once a minute);
// beyond max_tracked_devices the least recently seen device is dropped too, which only
// resets its counters. Thread-safe.
class RateLimiter {
 public:
  // `clock` not owned; must outlive this.
  RateLimiter(const Clock* clock, RateLimits limits);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // One uploaded batch of `bytes`. OK and counted, or kResourceExhausted (nothing
  // counted): "upload rate limit reached: at most N batches per minute; retry in S s"
  // or "daily upload quota of N MiB reached for this device".
  absl::Status AdmitBatch(absl::string_view device_id, uint64_t bytes);

  // Bytes outside a batch (attachment slices, commitments): the daily quota only.
  absl::Status AdmitBytes(absl::string_view device_id, uint64_t bytes);

  // Counts the daily byte quota in `store` (Store::AddToCounter) instead of this
  // process's memory, so that every front-end of a shared store draws on one quota. The
  // batch rate stays per process: with N front-ends a device may reach N times the
  // burst, which bounds nothing a quota does not. Not owned; set before the first call.
  void ShareDailyQuota(Store* store) { shared_ = store; }

  const RateLimits& limits() const { return limits_; }
  size_t TrackedDevices() const;

 private:
  struct DeviceState {
    int64_t tokens = 0;  // in 1/60 batch: a second refills batches_per_minute of them
    int64_t refilled_at = 0;
    int64_t day = 0;
    uint64_t bytes_today = 0;
    int64_t last_seen = 0;
  };

  absl::Status Admit(absl::string_view device_id, bool batch, uint64_t bytes);
  absl::Status AdmitShared(absl::string_view device_id, bool batch, uint64_t bytes);
  // Takes one batch's tokens from the device's bucket, or says when to retry.
  absl::Status TakeBatchLocked(DeviceState& state, int64_t now);
  absl::Status QuotaReached() const;
  DeviceState& StateLocked(absl::string_view device_id, int64_t now);
  void SweepLocked(int64_t now);
  bool IdleLocked(const DeviceState& state, int64_t now) const;

  const Clock* const clock_;
  const RateLimits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, DeviceState> devices_;
  int64_t last_sweep_ = 0;
  Store* shared_ = nullptr;
};

// Serialized size of a batch's messages, what the daily quota counts.
template <typename Messages>
uint64_t MessageBytes(const Messages& messages) {
  uint64_t bytes = 0;
  for (const auto& message : messages) bytes += message.ByteSizeLong();
  return bytes;
}

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_RATE_LIMITS_H_

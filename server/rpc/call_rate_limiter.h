#ifndef TEMOIN_SERVER_RPC_CALL_RATE_LIMITER_H_
#define TEMOIN_SERVER_RPC_CALL_RATE_LIMITER_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace temoin::server {

// New calls per device per second: a token bucket of `burst` calls refilled at
// `per_second`. Checked by the auth processor before a call reaches any handler, so a
// device that opens and resets streams as fast as it can (HTTP/2 rapid reset,
// CVE-2023-44487) has its excess refused as cheaply as a call without a session: gRPC
// 1.51 offers no per-connection reset limit, and calls that reach handlers cost far
// more memory than refusals while they are torn down. An honest device makes a few
// calls per sync, a reviewer's pull one per 256 records or per attachment.
// Thread-safe; the map forgets devices idle for a minute, so it stays small.
class CallRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  CallRateLimiter(double per_second, double burst) : per_second_(per_second), burst_(burst) {}

  // Takes one call of `device_id` at `now`; false when its bucket is empty.
  bool TryTake(const std::string& device_id, Clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    Clock::time_point refilled_at;
  };
  void SweepLocked(Clock::time_point now);

  const double per_second_;
  const double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  Clock::time_point last_sweep_{};
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_CALL_RATE_LIMITER_H_

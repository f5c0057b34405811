#ifndef TEMOIN_SERVER_RPC_ENROLLMENT_GUARD_H_
#define TEMOIN_SERVER_RPC_ENROLLMENT_GUARD_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"

namespace temoin::server {

struct EnrollmentGuardLimits {
  int64_t window_seconds = 600;
  // Refused enrolments from one source address within a window before its attempts are
  // refused outright. An honest device mistypes a code a few times at most.
  int max_failures_per_source = 20;
  // Refused attempts with one code (its token) within a window: a code whose proof keeps
  // failing is being attacked, whoever holds it.
  int max_failures_per_code = 5;
  size_t max_tracked = 10000;  // sources and codes each; the oldest are forgotten first
};

// Counts refused enrolments per source address and per code, refuses further attempts
// past the limits until the window ends, and reports a burst once. Codes are 256-bit
// random tokens, so guessing is hopeless anyway; this makes it noticed and slow.
// Addresses and codes live only in memory; a burst is logged once (event
// enrolment_guessing) without the address unless --log-peer-addresses. Thread-safe.
class EnrollmentGuard {
 public:
  explicit EnrollmentGuard(EnrollmentGuardLimits limits = {}) : limits_(limits) {}
  const EnrollmentGuardLimits& limits() const { return limits_; }

  // kResourceExhausted "too many enrolment attempts; try again in N minutes" when the
  // source or the code is over its limit; OK otherwise.
  absl::Status Admit(const std::string& source, const std::string& code_token, int64_t now);

  // Records a refused attempt. True exactly once per window per source: the attempt that
  // crossed the limit, which the caller writes to the audit log (without the address).
  bool RecordFailure(const std::string& source, const std::string& code_token, int64_t now);

 private:
  struct Window {
    int64_t start = 0;
    int failures = 0;
    bool reported = false;
  };
  Window& Current(std::unordered_map<std::string, Window>& map, const std::string& key,
                  int64_t now);
  void Forget(std::unordered_map<std::string, Window>& map, int64_t now);

  const EnrollmentGuardLimits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> sources_;
  std::unordered_map<std::string, Window> codes_;  // by Hash256 of the token
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_ENROLLMENT_GUARD_H_

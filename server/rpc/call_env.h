#ifndef TEMOIN_SERVER_RPC_CALL_ENV_H_
#define TEMOIN_SERVER_RPC_CALL_ENV_H_

#include <chrono>

#include "grpcpp/server_context.h"
#include "server/core/core.h"
#include "server/core/relay_spool.h"
#include "server/rpc/call_rate_limiter.h"
#include "server/rpc/enrollment_guard.h"
#include "server/rpc/open_call_counter.h"
#include "server/rpc/stream_watchdog.h"
#include "server/rpc/work_pool.h"

namespace temoin::server {

// Bounds on calls that an honest device on a 10 kbit/s link never reaches; each is a
// `temoin-server run` flag (see server_main.cc for the reasoning behind each default).
struct CallLimits {
  int workers = 8;                // threads for the blocking part of calls
  size_t max_queued_jobs = 4096;  // waiting for a worker; beyond: RESOURCE_EXHAUSTED
  std::chrono::seconds first_message{120};
  std::chrono::seconds stream_idle{1200};
  int max_calls_per_device = 8;
  int max_anonymous_calls_per_source = 16;
  double call_rate_per_device = 500;  // new calls a second, sustained
  double call_burst_per_device = 1000;
  EnrollmentGuardLimits enrollment;
  RelayLimits relay;  // spool_dir set by the server from its data directory
};

// What every call handler shares: the core, the worker pool, the stream watchdog and
// the admission counters. Owned by the GrpcServer; outlives every call.
class CallEnv {
 public:
  CallEnv(Core* core, const CallLimits& limits);  // core not owned

  Core& core() { return *core_; }
  WorkPool& pool() { return pool_; }
  StreamWatchdog& watchdog() { return watchdog_; }
  EnrollmentGuard& enrollment_guard() { return enrollment_guard_; }
  CallRateLimiter& call_rate() { return call_rate_; }
  RelaySpool& relay_spool() { return relay_spool_; }

  // One more open call for the device whose (already verified) token the call carries;
  // false at the device's cap.
  bool AdmitDeviceCall(const grpc::CallbackServerContext& ctx, Admission* admission);
  // One more open call without a session from the call's source address; false at cap.
  bool AdmitAnonymousCall(const grpc::CallbackServerContext& ctx, Admission* admission);

 private:
  Core* const core_;
  OpenCallCounter device_calls_;
  OpenCallCounter anonymous_calls_;
  EnrollmentGuard enrollment_guard_;
  CallRateLimiter call_rate_;
  RelaySpool relay_spool_;
  StreamWatchdog watchdog_;
  WorkPool pool_;  // last: destroyed first, so no job outlives what it uses
};

// The answers a refused call gets.
grpc::Status ServerBusy();
grpc::Status TooManyCallsFromDevice();
grpc::Status TooManyCallsFromSource();

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_CALL_ENV_H_

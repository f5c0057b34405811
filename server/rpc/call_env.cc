#include "server/rpc/call_env.h"

#include "server/rpc/auth_processor.h"

namespace temoin::server {

CallEnv::CallEnv(Core* core, const CallLimits& limits)
    : core_(core),
      device_calls_(limits.max_calls_per_device),
      anonymous_calls_(limits.max_anonymous_calls_per_source),
      enrollment_guard_(limits.enrollment),
      call_rate_(limits.call_rate_per_device, limits.call_burst_per_device),
      relay_spool_(core, limits.relay),
      watchdog_(limits.first_message, limits.stream_idle),
      pool_(limits.workers, limits.max_queued_jobs) {
  watchdog_.StartTicking(std::chrono::milliseconds(500));
}

bool CallEnv::AdmitDeviceCall(const grpc::CallbackServerContext& ctx, Admission* admission) {
  // The auth processor verified this token, or this sign-in's signature (an Upload
  // opened without a token), before the call got here.
  std::string token = SessionTokenOf(ctx);
  if (token.empty()) {
    std::optional<v1::AuthenticateRequest> sign_in = SignInOf(ctx);
    return sign_in.has_value() && device_calls_.TryOpen(sign_in->device_id(), admission);
  }
  absl::StatusOr<std::string> device = core_->sessions().DeviceOfToken(token);
  return device.ok() && device_calls_.TryOpen(*device, admission);
}

bool CallEnv::AdmitAnonymousCall(const grpc::CallbackServerContext& ctx, Admission* admission) {
  return anonymous_calls_.TryOpen(SourceAddressOfPeer(ctx.peer()), admission);
}

grpc::Status ServerBusy() {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "server is busy; try again shortly");
}

grpc::Status TooManyCallsFromDevice() {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "too many open calls from this device; finish some first");
}

grpc::Status TooManyCallsFromSource() {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "too many open calls from this address; try again shortly");
}

}  // namespace temoin::server

#include "server/rpc/auth_processor.h"

#include <string>

#include "absl/strings/match.h"
#include "server/rpc/method_policy.h"
#include "server/rpc/status_conversion.h"

namespace temoin::server {
namespace {

constexpr absl::string_view kBearer = "Bearer ";
constexpr char kNeedsSession[] = "sign in first: this call needs a session token";

absl::string_view TokenFrom(absl::string_view header) {
  if (!absl::StartsWith(header, kBearer)) return {};
  return header.substr(kBearer.size());
}

absl::string_view Find(const grpc::AuthMetadataProcessor::InputMetadata& metadata,
                       const char* key) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

std::optional<CallerNeeds> NeedsOf(absl::string_view path) {
  std::optional<MethodPolicy> policy = PolicyForPath(std::string_view(path.data(), path.size()));
  if (!policy.has_value()) return std::nullopt;
  return policy->needs;
}

}  // namespace

grpc::Status AuthProcessor::Process(const InputMetadata& auth_metadata, grpc::AuthContext*,
                                    OutputMetadata*, OutputMetadata*) {
  const std::optional<CallerNeeds> needs = NeedsOf(Find(auth_metadata, ":path"));
  if (needs == CallerNeeds::kNobody) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "this method is not offered");
  }
  absl::string_view header = Find(auth_metadata, "authorization");
  if (header.empty()) {
    if (needs == CallerNeeds::kNothing) return grpc::Status::OK;
    if (needs == CallerNeeds::kSessionOrSignIn) {
      return CheckSignIn(Find(auth_metadata, kSignInMetadata));
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, kNeedsSession);
  }
  absl::string_view token = TokenFrom(header);
  absl::StatusOr<std::string> device = sessions_->DeviceOfToken(token);
  if (!device.ok()) return ToGrpcStatus(device.status());
  if (!call_rate_->TryTake(*device, CallRateLimiter::Clock::now())) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "too many calls from this device; slow down");
  }
  absl::StatusOr<Session> session = sessions_->Verify(token);
  if (!session.ok()) return ToGrpcStatus(session.status());
  // Not marked consumed: the handler reads the token again (see SessionFromContext).
  return grpc::Status::OK;
}

grpc::Status AuthProcessor::CheckSignIn(absl::string_view sign_in) {
  if (sign_in.empty()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, kNeedsSession);
  v1::AuthenticateRequest request;
  if (!request.ParseFromArray(sign_in.data(), static_cast<int>(sign_in.size()))) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "the sign-in does not parse");
  }
  absl::StatusOr<std::string> device =
      sessions_->DeviceOfSignIn(request.device_id(), request.nonce(), request.signature());
  if (!device.ok()) return ToGrpcStatus(device.status());
  if (!call_rate_->TryTake(*device, CallRateLimiter::Clock::now())) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "too many calls from this device; slow down");
  }
  return grpc::Status::OK;
}

std::optional<v1::AuthenticateRequest> SignInOf(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  if (metadata.count("authorization") != 0) return std::nullopt;
  auto it = metadata.find(kSignInMetadata);
  if (it == metadata.end()) return std::nullopt;
  v1::AuthenticateRequest request;
  if (!request.ParseFromArray(it->second.data(), static_cast<int>(it->second.size()))) {
    return std::nullopt;
  }
  return request;
}

absl::StatusOr<Session> SessionOfToken(absl::string_view token, SessionAuthority& sessions) {
  if (token.empty()) return absl::UnauthenticatedError(kNeedsSession);
  return sessions.Verify(token);
}

std::string SessionTokenOf(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return {};
  return std::string(TokenFrom(absl::string_view(it->second.data(), it->second.size())));
}

absl::StatusOr<Session> SessionFromContext(const grpc::ServerContextBase& context,
                                           SessionAuthority& sessions) {
  return SessionOfToken(SessionTokenOf(context), sessions);
}

}  // namespace temoin::server

#include "server/rpc/auth_processor.h"

#include <string>

#include "absl/strings/match.h"
#include "server/rpc/status_conversion.h"

namespace temoin::server {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

absl::string_view TokenFrom(absl::string_view header) {
  if (!absl::StartsWith(header, kBearer)) return {};
  return header.substr(kBearer.size());
}

}  // namespace

grpc::Status AuthProcessor::Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                                    OutputMetadata* consumed_auth_metadata,
                                    OutputMetadata* response_metadata) {
  auto it = auth_metadata.find("authorization");
  if (it == auth_metadata.end()) return grpc::Status::OK;  // only Enrollment will accept it
  absl::string_view header(it->second.data(), it->second.size());
  absl::StatusOr<Session> session = sessions_->Verify(TokenFrom(header));
  if (!session.ok()) return ToGrpcStatus(session.status());
  context->AddProperty(kDevicePropertyName, session->device_id());
  // Not marked consumed: the handler reads the token again (see SessionFromContext).
  return grpc::Status::OK;
}

absl::StatusOr<Session> SessionFromContext(const grpc::ServerContext& context,
                                           SessionAuthority& sessions) {
  // The processor already verified the token; verify again so that a revocation that
  // landed in between is honoured, and to get the device's current role and project.
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end() ||
      context.auth_context()->FindPropertyValues(kDevicePropertyName).empty()) {
    return absl::UnauthenticatedError("sign in first: this call needs a session token");
  }
  absl::string_view header(it->second.data(), it->second.size());
  return sessions.Verify(TokenFrom(header));
}

}  // namespace temoin::server

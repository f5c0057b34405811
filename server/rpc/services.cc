#include "server/rpc/services.h"

#include "server/rpc/auth_processor.h"
#include "server/rpc/status_conversion.h"

namespace temoin::server {
namespace {

// Runs `op(session)` for an authenticated call and copies its result into `response`.
template <typename Response, typename Op>
grpc::Status Authenticated(grpc::ServerContext* ctx, Core* core, Response* response, Op op) {
  absl::StatusOr<Session> session = SessionFromContext(*ctx, core->sessions());
  if (!session.ok()) return ToGrpcStatus(session.status());
  absl::StatusOr<Response> result = op(*session);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status EnrollmentService::Enroll(grpc::ServerContext*, const v1::EnrollRequest* request,
                                       v1::EnrollResponse* response) {
  absl::StatusOr<v1::EnrollResponse> result = core_->enrollment().Enroll(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

grpc::Status EnrollmentService::Challenge(grpc::ServerContext*, const v1::ChallengeRequest* request,
                                          v1::ChallengeResponse* response) {
  absl::StatusOr<std::string> nonce = core_->sessions().IssueChallenge(request->device_id());
  if (!nonce.ok()) return ToGrpcStatus(nonce.status());
  response->set_nonce(*nonce);
  return grpc::Status::OK;
}

grpc::Status EnrollmentService::Authenticate(grpc::ServerContext*,
                                             const v1::AuthenticateRequest* request,
                                             v1::AuthenticateResponse* response) {
  absl::StatusOr<std::string> token =
      core_->sessions().Authenticate(request->device_id(), request->nonce(), request->signature());
  if (!token.ok()) return ToGrpcStatus(token.status());
  response->set_token(*token);
  response->set_expires_in_seconds(SessionAuthority::kSessionTtlSeconds);
  return grpc::Status::OK;
}

grpc::Status AdminService::CreateProject(grpc::ServerContext* ctx,
                                         const v1::CreateProjectRequest* request,
                                         v1::CreateProjectResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->admin().CreateProject(s, *request); });
}

grpc::Status AdminService::CreateInvite(grpc::ServerContext* ctx,
                                        const v1::CreateInviteRequest* request,
                                        v1::CreateInviteResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->admin().CreateInvite(s, *request); });
}

grpc::Status AdminService::ListDevices(grpc::ServerContext* ctx, const v1::ListDevicesRequest*,
                                       v1::ListDevicesResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->admin().ListDevices(s); });
}

grpc::Status AdminService::PutGrant(grpc::ServerContext* ctx, const v1::PutGrantRequest* request,
                                    v1::PutGrantResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->admin().PutGrant(s, *request); });
}

grpc::Status AdminService::GetProjectSecrets(grpc::ServerContext* ctx,
                                             const v1::GetProjectSecretsRequest* request,
                                             v1::GetProjectSecretsResponse* response) {
  return Authenticated(ctx, core_, response, [&](const Session& s) {
    return core_->admin().GetProjectSecrets(s, *request);
  });
}

grpc::Status SyncService::GetSettings(grpc::ServerContext* ctx, const v1::GetSettingsRequest*,
                                      v1::GetSettingsResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->GetSettings(s); });
}

grpc::Status SyncService::Upload(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::UploadResponse, v1::UploadRequest>* stream) {
  v1::UploadRequest request;
  while (stream->Read(&request)) {
    // The session is checked per batch, so a revocation cuts a long upload short.
    absl::StatusOr<Session> session = SessionFromContext(*ctx, core_->sessions());
    if (!session.ok()) return ToGrpcStatus(session.status());
    absl::StatusOr<std::vector<v1::RecordResult>> results =
        core_->ingest().UploadBatch(*session, request.records());
    if (!results.ok()) return ToGrpcStatus(results.status());
    v1::UploadResponse response;
    response.set_batch_id(request.batch_id());
    for (v1::RecordResult& result : *results) *response.add_results() = std::move(result);
    if (!stream->Write(response)) break;  // the client went away; its retry dedups
  }
  return grpc::Status::OK;
}

grpc::Status ReviewService::ListRecords(grpc::ServerContext* ctx,
                                        const v1::ListRecordsRequest* request,
                                        v1::ListRecordsResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->review().ListRecords(s, *request); });
}

grpc::Status ReviewService::FetchRecords(grpc::ServerContext* ctx,
                                         const v1::FetchRecordsRequest* request,
                                         grpc::ServerWriter<v1::FetchedRecord>* writer) {
  absl::StatusOr<Session> session = SessionFromContext(*ctx, core_->sessions());
  if (!session.ok()) return ToGrpcStatus(session.status());
  absl::StatusOr<std::vector<v1::FetchedRecord>> records =
      core_->review().FetchRecords(*session, *request);
  if (!records.ok()) return ToGrpcStatus(records.status());
  for (const v1::FetchedRecord& record : *records) {
    if (!writer->Write(record)) break;
  }
  return grpc::Status::OK;
}

grpc::Status ReviewService::GetGrants(grpc::ServerContext* ctx, const v1::GetGrantsRequest*,
                                      v1::GetGrantsResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->review().GetGrants(s); });
}

}  // namespace temoin::server

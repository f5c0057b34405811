#include "server/rpc/services.h"

#include "common/vocabulary.h"
#include "crypto/keys.h"
#include "server/core/bundle_import.h"
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

// Whether a device's settings hash (GetSettingsRequest) names `full`, the Hash256 of
// what the server would send: its first 16 bytes (devices since the hashes were
// shortened) or all 32 (devices before). Change detection only: the server is the one
// that sends the settings, so a collision gains nobody anything (it could as well send
// stale ones), and project keys are org-signed and checked on the device anyway.
bool SettingsHashNames(const std::string& sent, const std::string& full) {
  return (sent.size() == 16 || sent.size() == full.size()) &&
         full.compare(0, sent.size(), sent) == 0;
}

// The caller's settings, leaving out what hashes to what the device says it holds: on
// 2G every byte of a no-op sync counts, and the vocabulary would be most of them.
absl::StatusOr<v1::GetSettingsResponse> SettingsFor(Core& core, const Session& session,
                                                    const v1::GetSettingsRequest& request) {
  absl::StatusOr<v1::GetSettingsResponse> settings = core.GetSettings(session);
  if (!settings.ok()) return settings;
  if (!request.vocabulary_hash().empty() &&
      SettingsHashNames(
          request.vocabulary_hash(),
          crypto::Hash256(kVocabularyHashContext, settings->vocabulary().SerializeAsString()))) {
    settings->clear_vocabulary();
    settings->set_vocabulary_unchanged(true);
  }
  if (!request.keys_hash().empty()) {
    v1::GetSettingsResponse keys;
    *keys.mutable_project_keys() = settings->project_keys();
    keys.set_bundle_public_key(settings->bundle_public_key());
    if (SettingsHashNames(request.keys_hash(),
                          crypto::Hash256(kSettingsKeysHashContext, keys.SerializeAsString()))) {
      settings->clear_project_keys();
      settings->clear_bundle_public_key();
      settings->set_keys_unchanged(true);
    }
  }
  return settings;
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

grpc::Status EnrollmentService::Authenticate(grpc::ServerContext* ctx,
                                             const v1::AuthenticateRequest* request,
                                             v1::AuthenticateResponse* response) {
  std::string next_nonce;
  std::string token;
  absl::StatusOr<Session> session;
  if (request->no_session()) {
    // The same checks and nonce handling, but no token is minted: nothing this answer
    // carries can authorise a call.
    session = core_->sessions().AuthenticateWithoutSession(request->device_id(), request->nonce(),
                                                           request->signature(), &next_nonce);
  } else {
    absl::StatusOr<std::string> issued = core_->sessions().Authenticate(
        request->device_id(), request->nonce(), request->signature(), &next_nonce);
    if (issued.ok()) {
      token = std::move(*issued);
      session = core_->sessions().Verify(token);
    } else {
      session = issued.status();
    }
  }
  if (!session.ok()) {
    // PERMISSION_DENIED comes only after the device's own signature checked (see
    // SessionAuthority::Authenticate), so the wipe order goes to that device alone.
    if (session.status().code() == absl::StatusCode::kPermissionDenied) {
      absl::StatusOr<std::optional<std::string>> order =
          core_->registry().WipeOrder(request->device_id());
      if (order.ok() && order->has_value()) {
        ctx->AddTrailingMetadata(kWipeOrderMetadata, **order);
      }
    }
    return ToGrpcStatus(session.status());
  }
  if (request->has_settings()) {
    absl::StatusOr<v1::GetSettingsResponse> settings =
        SettingsFor(*core_, *session, request->settings());
    if (!settings.ok()) return ToGrpcStatus(settings.status());
    *response->mutable_settings() = std::move(*settings);
  }
  if (!token.empty()) {
    response->set_token(std::move(token));
    response->set_expires_in_seconds(SessionAuthority::kSessionTtlSeconds);
  }
  response->set_next_nonce(std::move(next_nonce));
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

grpc::Status AdminService::RotateProjectKey(grpc::ServerContext* ctx,
                                            const v1::RotateProjectKeyRequest* request,
                                            v1::RotateProjectKeyResponse* response) {
  return Authenticated(ctx, core_, response, [&](const Session& s) {
    return core_->admin().RotateProjectKey(s, *request);
  });
}

grpc::Status AdminService::ListGrants(grpc::ServerContext* ctx,
                                      const v1::ListGrantsRequest* request,
                                      v1::ListGrantsResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->admin().ListGrants(s, *request); });
}

grpc::Status AdminService::RemoveGrant(grpc::ServerContext* ctx,
                                       const v1::RemoveGrantRequest* request,
                                       v1::RemoveGrantResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->admin().RemoveGrant(s, *request); });
}

grpc::Status AdminService::RevokeDevice(grpc::ServerContext* ctx,
                                        const v1::RevokeDeviceRequest* request,
                                        v1::RevokeDeviceResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->admin().RevokeDevice(s, *request); });
}

grpc::Status AdminService::GetAuditLog(grpc::ServerContext* ctx,
                                       const v1::GetAuditLogRequest* request,
                                       v1::GetAuditLogResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->admin().GetAuditLog(s, *request); });
}

grpc::Status SyncService::GetSettings(grpc::ServerContext* ctx,
                                      const v1::GetSettingsRequest* request,
                                      v1::GetSettingsResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return SettingsFor(*core_, s, *request); });
}

grpc::Status SyncService::Upload(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::UploadResponse, v1::UploadRequest>* stream) {
  v1::UploadRequest request;
  while (stream->Read(&request)) {
    // The session is checked per batch, so a revocation cuts a long upload short.
    absl::StatusOr<Session> session = SessionFromContext(*ctx, core_->sessions());
    if (!session.ok()) return ToGrpcStatus(session.status());
    if (request.records_size() > 0 && request.commitments_size() > 0) {
      return ToGrpcStatus(
          absl::InvalidArgumentError("a batch carries records or commitments, not both"));
    }
    std::string batch_signature;
    absl::StatusOr<std::vector<v1::RecordResult>> results =
        request.commitments_size() > 0
            ? core_->ingest().CommitBatch(*session, request.commitments())
            : core_->ingest().UploadBatch(*session, request.records(), &batch_signature);
    if (!results.ok()) return ToGrpcStatus(results.status());
    v1::UploadResponse response =
        CompactUploadResponse(request.batch_id(), std::move(*results), batch_signature,
                              request.positional_results() && request.records_size() > 0);
    if (!stream->Write(response)) break;  // the client went away; its retry dedups
  }
  return grpc::Status::OK;
}

grpc::Status SyncService::QueryAttachments(grpc::ServerContext* ctx,
                                           const v1::QueryAttachmentsRequest* request,
                                           v1::QueryAttachmentsResponse* response) {
  return Authenticated(ctx, core_, response,
                       [&](const Session& s) { return core_->attachments().Query(s, *request); });
}

grpc::Status SyncService::UploadAttachment(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::BlobStatus, v1::AttachmentChunk>* stream) {
  v1::AttachmentChunk chunk;
  while (stream->Read(&chunk)) {
    // Checked per slice, so a revocation cuts a long upload short.
    absl::StatusOr<Session> session = SessionFromContext(*ctx, core_->sessions());
    if (!session.ok()) return ToGrpcStatus(session.status());
    absl::StatusOr<v1::BlobStatus> status = core_->attachments().UploadChunk(*session, chunk);
    if (!status.ok()) return ToGrpcStatus(status.status());
    if (!stream->Write(*status)) break;  // the client went away; it resumes from Query
  }
  return grpc::Status::OK;
}

grpc::Status SyncService::FetchAttachment(grpc::ServerContext* ctx,
                                          const v1::FetchAttachmentRequest* request,
                                          grpc::ServerWriter<v1::AttachmentChunk>* writer) {
  absl::StatusOr<Session> session = SessionFromContext(*ctx, core_->sessions());
  if (!session.ok()) return ToGrpcStatus(session.status());
  return ToGrpcStatus(core_->attachments().Fetch(
      *session, *request, [&](const v1::AttachmentChunk& chunk) { return writer->Write(chunk); }));
}

grpc::Status SyncService::Relay(grpc::ServerContext* ctx,
                                grpc::ServerReader<v1::RelayRequest>* reader,
                                v1::RelayResponse* response) {
  absl::StatusOr<Session> session = SessionFromContext(*ctx, core_->sessions());
  if (!session.ok()) return ToGrpcStatus(session.status());
  std::string file;
  v1::RelayRequest piece;
  while (reader->Read(&piece)) {
    if (file.size() + piece.data().size() > kMaxBundleBytes) {
      return ToGrpcStatus(absl::ResourceExhaustedError("bundle is over the size limit"));
    }
    file += piece.data();
  }
  absl::StatusOr<BundleImportReport> report = ImportBundle(*core_, file);
  if (!report.ok()) return ToGrpcStatus(report.status());
  response->set_records(static_cast<uint32_t>(report->records));
  response->set_duplicates(static_cast<uint32_t>(report->duplicates));
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

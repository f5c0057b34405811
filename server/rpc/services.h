#ifndef TEMOIN_SERVER_RPC_SERVICES_H_
#define TEMOIN_SERVER_RPC_SERVICES_H_

#include "server/rpc/call_env.h"
#include "temoin/v1/admin.grpc.pb.h"
#include "temoin/v1/enrollment.grpc.pb.h"
#include "temoin/v1/review.grpc.pb.h"
#include "temoin/v1/sync.grpc.pb.h"

// Thin adapters on gRPC's callback API: each handler admits the call (per-device or
// per-source caps), takes the session from the call's token, runs the core on the
// worker pool and converts the status. No call holds a thread while it waits for the
// network, so idle and slow streams cost memory only (issue 14). No business logic
// lives here.
namespace temoin::server {

class EnrollmentService final : public v1::Enrollment::CallbackService {
 public:
  explicit EnrollmentService(CallEnv* env) : env_(env) {}  // Not owned.
  grpc::ServerUnaryReactor* Enroll(grpc::CallbackServerContext*, const v1::EnrollRequest*,
                                   v1::EnrollResponse*) override;
  grpc::ServerUnaryReactor* Challenge(grpc::CallbackServerContext*, const v1::ChallengeRequest*,
                                      v1::ChallengeResponse*) override;
  grpc::ServerUnaryReactor* Authenticate(grpc::CallbackServerContext*,
                                         const v1::AuthenticateRequest*,
                                         v1::AuthenticateResponse*) override;

 private:
  CallEnv* const env_;
};

class AdminService final : public v1::Admin::CallbackService {
 public:
  explicit AdminService(CallEnv* env) : env_(env) {}
  grpc::ServerUnaryReactor* CreateProject(grpc::CallbackServerContext*,
                                          const v1::CreateProjectRequest*,
                                          v1::CreateProjectResponse*) override;
  grpc::ServerUnaryReactor* CreateInvite(grpc::CallbackServerContext*,
                                         const v1::CreateInviteRequest*,
                                         v1::CreateInviteResponse*) override;
  grpc::ServerUnaryReactor* ListDevices(grpc::CallbackServerContext*, const v1::ListDevicesRequest*,
                                        v1::ListDevicesResponse*) override;
  grpc::ServerUnaryReactor* PutGrant(grpc::CallbackServerContext*, const v1::PutGrantRequest*,
                                     v1::PutGrantResponse*) override;
  grpc::ServerUnaryReactor* GetProjectSecrets(grpc::CallbackServerContext*,
                                              const v1::GetProjectSecretsRequest*,
                                              v1::GetProjectSecretsResponse*) override;
  grpc::ServerUnaryReactor* RotateProjectKey(grpc::CallbackServerContext*,
                                             const v1::RotateProjectKeyRequest*,
                                             v1::RotateProjectKeyResponse*) override;
  grpc::ServerUnaryReactor* ListGrants(grpc::CallbackServerContext*, const v1::ListGrantsRequest*,
                                       v1::ListGrantsResponse*) override;
  grpc::ServerUnaryReactor* RemoveGrant(grpc::CallbackServerContext*, const v1::RemoveGrantRequest*,
                                        v1::RemoveGrantResponse*) override;
  grpc::ServerUnaryReactor* RevokeDevice(grpc::CallbackServerContext*,
                                         const v1::RevokeDeviceRequest*,
                                         v1::RevokeDeviceResponse*) override;
  grpc::ServerUnaryReactor* GetAuditLog(grpc::CallbackServerContext*, const v1::GetAuditLogRequest*,
                                        v1::GetAuditLogResponse*) override;
  grpc::ServerUnaryReactor* AnnounceTlsKey(grpc::CallbackServerContext*,
                                           const v1::AnnounceTlsKeyRequest*,
                                           v1::AnnounceTlsKeyResponse*) override;
  grpc::ServerUnaryReactor* CertifyServerKeys(grpc::CallbackServerContext*,
                                              const v1::CertifyServerKeysRequest*,
                                              v1::CertifyServerKeysResponse*) override;

 private:
  CallEnv* const env_;
};

// The streams that devices send are registered raw (bytes, parsed by the reactor), so
// that garbage ends the stream with INVALID_ARGUMENT rather than passing for the
// device closing its side.
using SyncServiceBase = v1::Sync::WithCallbackMethod_GetSettings<
    v1::Sync::WithRawCallbackMethod_Upload<v1::Sync::WithCallbackMethod_QueryAttachments<
        v1::Sync::WithRawCallbackMethod_UploadAttachment<
            v1::Sync::WithCallbackMethod_FetchAttachment<v1::Sync::WithRawCallbackMethod_Relay<
                v1::Sync::WithCallbackMethod_GetLogProofs<v1::Sync::Service>>>>>>>;

class SyncService final : public SyncServiceBase {
 public:
  explicit SyncService(CallEnv* env) : env_(env) {}
  grpc::ServerUnaryReactor* GetSettings(grpc::CallbackServerContext*, const v1::GetSettingsRequest*,
                                        v1::GetSettingsResponse*) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Upload(
      grpc::CallbackServerContext*) override;
  grpc::ServerUnaryReactor* QueryAttachments(grpc::CallbackServerContext*,
                                             const v1::QueryAttachmentsRequest*,
                                             v1::QueryAttachmentsResponse*) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* UploadAttachment(
      grpc::CallbackServerContext*) override;
  grpc::ServerWriteReactor<v1::AttachmentChunk>* FetchAttachment(
      grpc::CallbackServerContext*, const v1::FetchAttachmentRequest*) override;
  grpc::ServerReadReactor<grpc::ByteBuffer>* Relay(grpc::CallbackServerContext*,
                                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetLogProofs(grpc::CallbackServerContext*,
                                         const v1::GetLogProofsRequest*,
                                         v1::GetLogProofsResponse*) override;

 private:
  CallEnv* const env_;
};

class ReviewService final : public v1::Review::CallbackService {
 public:
  explicit ReviewService(CallEnv* env) : env_(env) {}
  grpc::ServerUnaryReactor* ListRecords(grpc::CallbackServerContext*, const v1::ListRecordsRequest*,
                                        v1::ListRecordsResponse*) override;
  grpc::ServerWriteReactor<v1::FetchedRecord>* FetchRecords(
      grpc::CallbackServerContext*, const v1::FetchRecordsRequest*) override;
  grpc::ServerUnaryReactor* GetGrants(grpc::CallbackServerContext*, const v1::GetGrantsRequest*,
                                      v1::GetGrantsResponse*) override;

 private:
  CallEnv* const env_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_SERVICES_H_

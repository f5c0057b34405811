#ifndef TEMOIN_SERVER_RPC_SERVICES_H_
#define TEMOIN_SERVER_RPC_SERVICES_H_

#include "server/core/core.h"
#include "temoin/v1/admin.grpc.pb.h"
#include "temoin/v1/enrollment.grpc.pb.h"
#include "temoin/v1/review.grpc.pb.h"
#include "temoin/v1/sync.grpc.pb.h"

// Thin adapters: each handler takes the session from the auth context, calls the core,
// and converts the status. No business logic lives here.
namespace temoin::server {

class EnrollmentService final : public v1::Enrollment::Service {
 public:
  explicit EnrollmentService(Core* core) : core_(core) {}  // Not owned.
  grpc::Status Enroll(grpc::ServerContext*, const v1::EnrollRequest*, v1::EnrollResponse*) override;
  grpc::Status Challenge(grpc::ServerContext*, const v1::ChallengeRequest*,
                         v1::ChallengeResponse*) override;
  grpc::Status Authenticate(grpc::ServerContext*, const v1::AuthenticateRequest*,
                            v1::AuthenticateResponse*) override;

 private:
  Core* const core_;
};

class AdminService final : public v1::Admin::Service {
 public:
  explicit AdminService(Core* core) : core_(core) {}
  grpc::Status CreateProject(grpc::ServerContext*, const v1::CreateProjectRequest*,
                             v1::CreateProjectResponse*) override;
  grpc::Status CreateInvite(grpc::ServerContext*, const v1::CreateInviteRequest*,
                            v1::CreateInviteResponse*) override;
  grpc::Status ListDevices(grpc::ServerContext*, const v1::ListDevicesRequest*,
                           v1::ListDevicesResponse*) override;
  grpc::Status PutGrant(grpc::ServerContext*, const v1::PutGrantRequest*,
                        v1::PutGrantResponse*) override;
  grpc::Status GetProjectSecrets(grpc::ServerContext*, const v1::GetProjectSecretsRequest*,
                                 v1::GetProjectSecretsResponse*) override;
  grpc::Status RotateProjectKey(grpc::ServerContext*, const v1::RotateProjectKeyRequest*,
                                v1::RotateProjectKeyResponse*) override;
  grpc::Status ListGrants(grpc::ServerContext*, const v1::ListGrantsRequest*,
                          v1::ListGrantsResponse*) override;
  grpc::Status RemoveGrant(grpc::ServerContext*, const v1::RemoveGrantRequest*,
                           v1::RemoveGrantResponse*) override;
  grpc::Status RevokeDevice(grpc::ServerContext*, const v1::RevokeDeviceRequest*,
                            v1::RevokeDeviceResponse*) override;
  grpc::Status GetAuditLog(grpc::ServerContext*, const v1::GetAuditLogRequest*,
                           v1::GetAuditLogResponse*) override;

 private:
  Core* const core_;
};

class SyncService final : public v1::Sync::Service {
 public:
  explicit SyncService(Core* core) : core_(core) {}
  grpc::Status GetSettings(grpc::ServerContext*, const v1::GetSettingsRequest*,
                           v1::GetSettingsResponse*) override;
  grpc::Status Upload(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::UploadResponse, v1::UploadRequest>* stream) override;
  grpc::Status QueryAttachments(grpc::ServerContext*, const v1::QueryAttachmentsRequest*,
                                v1::QueryAttachmentsResponse*) override;
  grpc::Status UploadAttachment(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::BlobStatus, v1::AttachmentChunk>* stream) override;
  grpc::Status FetchAttachment(grpc::ServerContext*, const v1::FetchAttachmentRequest*,
                               grpc::ServerWriter<v1::AttachmentChunk>*) override;
  grpc::Status Relay(grpc::ServerContext*, grpc::ServerReader<v1::RelayRequest>*,
                     v1::RelayResponse*) override;

 private:
  Core* const core_;
};

class ReviewService final : public v1::Review::Service {
 public:
  explicit ReviewService(Core* core) : core_(core) {}
  grpc::Status ListRecords(grpc::ServerContext*, const v1::ListRecordsRequest*,
                           v1::ListRecordsResponse*) override;
  grpc::Status FetchRecords(grpc::ServerContext*, const v1::FetchRecordsRequest*,
                            grpc::ServerWriter<v1::FetchedRecord>*) override;
  grpc::Status GetGrants(grpc::ServerContext*, const v1::GetGrantsRequest*,
                         v1::GetGrantsResponse*) override;

 private:
  Core* const core_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_SERVICES_H_

#ifndef TEMOIN_SERVER_CORE_ADMIN_OPS_H_
#define TEMOIN_SERVER_CORE_ADMIN_OPS_H_

#include <functional>
#include <mutex>

#include "absl/status/statusor.h"
#include "server/core/audit_log.h"
#include "server/core/enrollment.h"
#include "server/core/registry.h"
#include "server/core/session.h"
#include "temoin/v1/admin.pb.h"

namespace temoin::server {

// What administrators do: projects, invites, the device list, grants. Every method
// refuses a caller that is not an admin with kPermissionDenied. Requests untrusted.
// Thread-safe.
class AdminOps {
 public:
  // None owned; all must outlive this.
  AdminOps(Registry* registry, Enrollment* enrollment, AuditLog* audit);

  // Called with the device id after a revocation is durable (Core releases the device's
  // partial uploads there). Its failure does not undo the revocation.
  void set_on_revoke(std::function<absl::Status(absl::string_view device_id)> on_revoke) {
    on_revoke_ = std::move(on_revoke);
  }

  // The project key must be signed by the organisation key, epoch 1, with a fresh
  // 16-byte id and an unused name. kAlreadyExists for a taken name.
  absl::StatusOr<v1::CreateProjectResponse> CreateProject(const Session& session,
                                                          const v1::CreateProjectRequest& req);
  absl::StatusOr<v1::CreateInviteResponse> CreateInvite(const Session& session,
                                                        const v1::CreateInviteRequest& req);
  absl::StatusOr<v1::ListDevicesResponse> ListDevices(const Session& session);
  // Stores the epoch secrets wrapped to a reviewer's key. The server cannot open them.
  // kNotFound for an unknown project or reviewer; kFailedPrecondition when the device
  // is not an active reviewer.
  absl::StatusOr<v1::PutGrantResponse> PutGrant(const Session& session,
                                                const v1::PutGrantRequest& req);
  absl::StatusOr<v1::GetProjectSecretsResponse> GetProjectSecrets(
      const Session& session, const v1::GetProjectSecretsRequest& req);

  // (admin_keys.cc) A new epoch: org-signed key for epoch current+1 of the same project,
  // with every current grant re-wrapped (the set of reviewers must be exactly the
  // current grantees, else kFailedPrecondition "grants changed during rotation; run
  // rotate-key again"). Key, admin secret, grants and audit entry in one commit.
  absl::StatusOr<v1::RotateProjectKeyResponse> RotateProjectKey(
      const Session& session, const v1::RotateProjectKeyRequest& req);
  // Reviewers granted a project, with their keys (the admin checks them against the id).
  absl::StatusOr<v1::ListGrantsResponse> ListGrants(const Session& session,
                                                    const v1::ListGrantsRequest& req);
  // Removes access at once. kNotFound when there is no such grant.
  absl::StatusOr<v1::RemoveGrantResponse> RemoveGrant(const Session& session,
                                                      const v1::RemoveGrantRequest& req);
  // Marks the device revoked (its sessions fail on their next call), drops its grants
  // and stores its wipe order, which must be signed by the organisation key and name
  // this device (kUnauthenticated otherwise). kFailedPrecondition for the caller itself.
  absl::StatusOr<v1::RevokeDeviceResponse> RevokeDevice(const Session& session,
                                                        const v1::RevokeDeviceRequest& req);
  absl::StatusOr<v1::GetAuditLogResponse> GetAuditLog(const Session& session,
                                                      const v1::GetAuditLogRequest& req);
  // Stores the announcement of the server's next TLS key (replacing any earlier one),
  // which must be signed by the organisation key (kUnauthenticated otherwise) and name
  // a 32-byte pin. The server does not check that it holds that key: a wrong pin only
  // makes devices accept a key nobody serves, and the admin sees the pin it signed.
  absl::StatusOr<v1::AnnounceTlsKeyResponse> AnnounceTlsKey(const Session& session,
                                                            const v1::AnnounceTlsKeyRequest& req);

 private:
  Registry* const registry_;
  Enrollment* const enrollment_;
  AuditLog* const audit_;
  std::mutex mu_;  // serialises name checks against concurrent creates
  std::function<absl::Status(absl::string_view)> on_revoke_;
};

// kPermissionDenied "this needs the <role> role" unless the session has `role`.
absl::Status RequireRole(const Session& session, v1::Role role);

// A grant's epoch secret as sent by an admin: kWrappedEpochSecretBytes long.
inline constexpr size_t kWrappedEpochSecretBytes = 48 + 32 + 16 + 4;
inline constexpr absl::string_view kWipeOrderContext = "temoin/wipe-order/v1";
inline constexpr absl::string_view kTlsAnnouncementContext = "temoin/tls-next/v1";

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_ADMIN_OPS_H_

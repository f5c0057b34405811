#ifndef TEMOIN_SERVER_CORE_ADMIN_OPS_H_
#define TEMOIN_SERVER_CORE_ADMIN_OPS_H_

#include <mutex>

#include "absl/status/statusor.h"
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
  // Neither owned; both must outlive this.
  AdminOps(Registry* registry, Enrollment* enrollment);

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

 private:
  Registry* const registry_;
  Enrollment* const enrollment_;
  std::mutex mu_;  // serialises name checks against concurrent creates
};

// kPermissionDenied "this needs the <role> role" unless the session has `role`.
absl::Status RequireRole(const Session& session, v1::Role role);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_ADMIN_OPS_H_

#ifndef TEMOIN_SERVER_CORE_ENROLLMENT_H_
#define TEMOIN_SERVER_CORE_ENROLLMENT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "server/core/audit_log.h"
#include "server/core/registry.h"
#include "temoin/v1/admin.pb.h"
#include "temoin/v1/enrollment.pb.h"
#include "temoin/v1/identity.pb.h"

namespace temoin::server {

// One-time enrolment codes: issuing them (bootstrap and admin invites) and redeeming
// them. Thread-safe: redemption holds the audit chain's store lock, so that a code
// works exactly once even with several front-ends on one store.
class Enrollment {
 public:
  static constexpr int64_t kDefaultCodeTtlSeconds = 24 * 3600;
  static constexpr int64_t kMaxCodeTtlSeconds = 30 * 24 * 3600;

  // None owned; all must outlive this.
  Enrollment(Registry* registry, const Clock* clock, const std::string* server_signing_key,
             const v1::Vocabulary* vocabulary, AuditLog* audit);

  // Stores a new one-time token for `role` and `project` (which must exist for monitors
  // and reviewers, and be empty for admins). `bootstrap` marks the first admin's code,
  // whose redeemer sets the organisation key. ttl_seconds 0 takes the default.
  // kInvalidArgument / kNotFound for a bad role, project or ttl. `actor` (the issuing
  // admin's device id, empty for the bootstrap code) goes to the audit log.
  absl::StatusOr<v1::CreateInviteResponse> CreateInvite(v1::Role role, absl::string_view project,
                                                        int64_t ttl_seconds, bool bootstrap,
                                                        absl::string_view actor = "");

  // Redeems a code. `request` untrusted. Distinct, clear refusals:
  // kUnauthenticated "enrolment code is not valid" (unknown token or bad proof),
  // kFailedPrecondition "enrolment code has already been used",
  // kFailedPrecondition "enrolment code has expired; ask for a new one",
  // kInvalidArgument for malformed keys, an organisation key that is not the server's,
  //   the first admin's code without one, or a device certificate that does not verify
  //   or does not match the enrolment,
  // kFailedPrecondition "organisation key is already set" (a second bootstrap),
  // kAlreadyExists for keys already enrolled, kNotFound when the code's project is gone.
  // A refused code stays unused.
  absl::StatusOr<v1::EnrollResponse> Enroll(const v1::EnrollRequest& request);

 private:
  // What a redeemed code made: the device, its project, the server's configuration.
  struct Enrolled {
    v1::ServerConfig config;
    v1::StoredDevice device;
    std::optional<v1::StoredProject> project;
  };
  // Enroll's steps: the request alone, then under the audit chain's lock the code
  // redeemed (known, unused, unexpired), the organisation key settled, the device made, and
  // the answer.
  static absl::Status CheckRequest(const v1::EnrollRequest& request);
  absl::Status Redeem(const v1::EnrollRequest& request, WriteBatch& batch,
                      std::vector<AuditEvent>& events, Enrolled& enrolled);
  // The invite as read: it exists, is unused and has not expired at `now`.
  static absl::StatusOr<v1::StoredInvite> UsableInvite(std::optional<v1::StoredInvite> invite,
                                                       int64_t now);
  static absl::Status SettleOrgKey(const v1::EnrollRequest& request, const v1::StoredInvite& invite,
                                   v1::ServerConfig& config, WriteBatch& batch);
  // The device row, all but its project_id (Redeem sets it from the project's row).
  absl::StatusOr<v1::StoredDevice> NewDevice(const v1::EnrollRequest& request,
                                             const v1::StoredInvite& invite, int64_t now);
  v1::EnrollResponse Response(const Enrolled& enrolled) const;

  Registry* const registry_;
  const Clock* const clock_;
  const std::string* const server_signing_key_;
  const v1::Vocabulary* const vocabulary_;
  AuditLog* const audit_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_ENROLLMENT_H_

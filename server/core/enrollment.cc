#include "server/core/enrollment.h"

#include "common/status_macros.h"
#include "crypto/auth.h"
#include "crypto/device_certificate.h"
#include "crypto/envelope.h"
#include "crypto/keys.h"

namespace temoin::server {
namespace {

// The certificate is for reviewers, who check it themselves; the server checks it too
// only so that a faulty client learns at once, not when its records show as unverified.
absl::Status CheckCertificate(const v1::EnrollRequest& request, const v1::StoredInvite& invite,
                              absl::string_view org_public_key) {
  absl::StatusOr<crypto::CertifiedDevice> certified =
      crypto::VerifyDeviceCertificate(request.certificate(), org_public_key);
  if (!certified.ok()) {
    return absl::InvalidArgumentError("device certificate does not verify");
  }
  v1::DeviceCertificateBody body;
  v1::InviteAuthorisationBody auth;
  if (!body.ParseFromString(request.certificate().body()) ||
      !auth.ParseFromString(body.authorisation().body()) ||
      certified->signing_public_key != request.signing_public_key() ||
      certified->box_public_key != request.box_public_key() || certified->role != invite.role() ||
      certified->project != invite.project() ||
      auth.token_hash() != crypto::InviteTokenHash(request.token())) {
    return absl::InvalidArgumentError("device certificate does not match this enrolment");
  }
  return absl::OkStatus();
}

}  // namespace

Enrollment::Enrollment(Registry* registry, const Clock* clock,
                       const std::string* server_signing_key, const v1::Vocabulary* vocabulary,
                       AuditLog* audit)
    : registry_(registry),
      clock_(clock),
      server_signing_key_(server_signing_key),
      vocabulary_(vocabulary),
      audit_(audit) {}

absl::StatusOr<v1::CreateInviteResponse> Enrollment::CreateInvite(v1::Role role,
                                                                  absl::string_view project,
                                                                  int64_t ttl_seconds,
                                                                  bool bootstrap,
                                                                  absl::string_view actor) {
  if (ttl_seconds == 0) ttl_seconds = kDefaultCodeTtlSeconds;
  if (ttl_seconds < 0 || ttl_seconds > kMaxCodeTtlSeconds) {
    return absl::InvalidArgumentError("code lifetime must be between 1 second and 30 days");
  }
  v1::StoredInvite invite;
  switch (role) {
    case v1::ROLE_ADMIN:
      if (!project.empty()) {
        return absl::InvalidArgumentError("an admin code names no project");
      }
      break;
    case v1::ROLE_MONITOR:
    case v1::ROLE_REVIEWER: {
      TEMOIN_RETURN_IF_ERROR(ValidateProjectName(project));
      TEMOIN_ASSIGN_OR_RETURN(auto stored, registry_->Project(project));
      if (!stored.has_value()) return absl::NotFoundError("project does not exist");
      break;
    }
    default:
      return absl::InvalidArgumentError("role must be admin, reviewer or monitor");
  }
  invite.set_role(role);
  invite.set_project(std::string(project));
  invite.set_expires_at(clock_->NowSeconds() + ttl_seconds);
  invite.set_bootstrap(bootstrap);
  std::string token = crypto::RandomBytes(crypto::kEnrollmentTokenBytes);
  WriteBatch batch;
  batch.Put(keys::Invite(token), invite.SerializeAsString());
  // The object is a hash of the token, never the token: the log must not enrol anyone.
  TEMOIN_RETURN_IF_ERROR(audit_->CommitWith(
      std::move(batch),
      {{std::string(actor), "invite.create",
        crypto::Hash256("temoin/invite-token/v1", token).substr(0, 16), std::string(project)}}));
  v1::CreateInviteResponse response;
  response.set_token(token);
  response.set_expires_at(invite.expires_at());
  return response;
}

// The request as such, before any stored state is read: sizes, and the proof that the
// enrolling party holds the signing key it registers. A bad code or proof reads the same.
absl::Status Enrollment::CheckRequest(const v1::EnrollRequest& request) {
  if (request.token().size() != crypto::kEnrollmentTokenBytes) {
    return absl::UnauthenticatedError("enrolment code is not valid");
  }
  if (request.signing_public_key().size() != crypto::kSigningPublicKeyBytes ||
      request.box_public_key().size() != crypto::kBoxPublicKeyBytes) {
    return absl::InvalidArgumentError("device public keys have wrong length");
  }
  if (!request.org_public_key().empty() &&
      request.org_public_key().size() != crypto::kSigningPublicKeyBytes) {
    return absl::InvalidArgumentError("organisation key has wrong length");
  }
  if (!crypto::VerifySignature(
           request.signing_public_key(), crypto::kEnrollContext,
           crypto::EnrollProofMessage(request.token(), request.signing_public_key(),
                                      request.box_public_key(), request.org_public_key()),
           request.proof())
           .ok()) {
    return absl::UnauthenticatedError("enrolment code is not valid");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::EnrollResponse> Enrollment::Enroll(const v1::EnrollRequest& request) {
  TEMOIN_RETURN_IF_ERROR(CheckRequest(request));
  // Checked and consumed under the audit chain's lock (Store::CommitLocked): of two
  // redemptions of one code, on any front-ends, exactly one succeeds.
  Enrolled enrolled;
  TEMOIN_RETURN_IF_ERROR(audit_->CommitChecked(
      [&](WriteBatch& batch, std::vector<AuditEvent>& events) -> absl::Status {
        enrolled = Enrolled();
        return Redeem(request, batch, events, enrolled);
      }));
  return Response(enrolled);
}

absl::Status Enrollment::Redeem(const v1::EnrollRequest& request, WriteBatch& batch,
                                std::vector<AuditEvent>& events, Enrolled& enrolled) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredInvite> found,
                          registry_->Invite(request.token()));
  const int64_t now = clock_->NowSeconds();  // after the read: the expiry is checked against it
  TEMOIN_ASSIGN_OR_RETURN(v1::StoredInvite invite, UsableInvite(std::move(found), now));
  TEMOIN_ASSIGN_OR_RETURN(enrolled.config, registry_->Config());
  TEMOIN_RETURN_IF_ERROR(SettleOrgKey(request, invite, enrolled.config, batch));
  if (request.has_certificate()) {
    TEMOIN_RETURN_IF_ERROR(CheckCertificate(request, invite, enrolled.config.org_public_key()));
  }
  TEMOIN_ASSIGN_OR_RETURN(enrolled.device, NewDevice(request, invite, now));
  if (!invite.project().empty()) {
    TEMOIN_ASSIGN_OR_RETURN(enrolled.project, registry_->Project(invite.project()));
    if (!enrolled.project.has_value()) return absl::NotFoundError("project does not exist");
    enrolled.device.set_project_id(enrolled.project->project_id());
  }
  invite.set_used(true);
  const v1::StoredDevice& device = enrolled.device;
  batch.Put(keys::Invite(request.token()), invite.SerializeAsString());
  batch.Put(keys::Device(device.device_id()), device.SerializeAsString());
  events.push_back({device.device_id(), "device.enroll", device.device_id(), device.project()});
  return absl::OkStatus();
}

absl::StatusOr<v1::StoredInvite> Enrollment::UsableInvite(std::optional<v1::StoredInvite> invite,
                                                          int64_t now) {
  if (!invite.has_value()) return absl::UnauthenticatedError("enrolment code is not valid");
  if (invite->used()) return absl::FailedPreconditionError("enrolment code has already been used");
  if (invite->expires_at() < now) {
    return absl::FailedPreconditionError("enrolment code has expired; ask for a new one");
  }
  return *std::move(invite);
}

// The first admin's code (bootstrap) brings the organisation key and sets it, once; any
// other enrolment that names a key must name the server's.
absl::Status Enrollment::SettleOrgKey(const v1::EnrollRequest& request,
                                      const v1::StoredInvite& invite, v1::ServerConfig& config,
                                      WriteBatch& batch) {
  if (invite.bootstrap()) {
    if (request.org_public_key().empty()) {
      return absl::InvalidArgumentError("the first admin must bring the organisation key");
    }
    if (!config.org_public_key().empty()) {
      return absl::FailedPreconditionError("organisation key is already set");
    }
    config.set_org_public_key(request.org_public_key());
    batch.Put(keys::Config(), config.SerializeAsString());
  } else if (!request.org_public_key().empty() &&
             request.org_public_key() != config.org_public_key()) {
    return absl::InvalidArgumentError("organisation key does not match this server's");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::StoredDevice> Enrollment::NewDevice(const v1::EnrollRequest& request,
                                                       const v1::StoredInvite& invite,
                                                       int64_t now) {
  v1::StoredDevice device;
  device.set_device_id(
      crypto::DeviceIdFromKeys(request.signing_public_key(), request.box_public_key()));
  TEMOIN_ASSIGN_OR_RETURN(auto same_keys, registry_->Device(device.device_id()));
  if (same_keys.has_value()) {
    return absl::AlreadyExistsError("a device with these keys is already enrolled");
  }
  device.set_role(invite.role());
  device.set_project(invite.project());
  device.set_signing_public_key(request.signing_public_key());
  device.set_box_public_key(request.box_public_key());
  device.set_enrolled_at(now - now % 3600);  // to the hour: no finer timing kept
  if (request.has_certificate()) *device.mutable_certificate() = request.certificate();
  return device;
}

v1::EnrollResponse Enrollment::Response(const Enrolled& enrolled) const {
  const v1::StoredDevice& device = enrolled.device;
  v1::EnrollResponse response;
  response.set_device_id(device.device_id());
  response.set_role(device.role());
  response.set_project(device.project());
  response.set_project_id(device.project_id());
  response.set_server_signing_key(*server_signing_key_);
  response.set_org_public_key(enrolled.config.org_public_key());
  if (enrolled.project.has_value() && device.role() == v1::ROLE_MONITOR) {
    *response.mutable_project_keys() = enrolled.project->keys();
  }
  *response.mutable_vocabulary() = *vocabulary_;
  return response;
}

}  // namespace temoin::server

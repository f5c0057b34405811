#include "client/sync/admin_client.h"

#include "absl/strings/str_cat.h"
#include "client/core/device_state.h"
#include "client/core/grant_book.h"
#include "client/sync/connection.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/enrollment_code.h"
#include "common/status_macros.h"
#include "crypto/auth.h"
#include "crypto/device_certificate.h"
#include "crypto/envelope.h"
#include "crypto/project_keys.h"

namespace temoin::client {
absl::StatusOr<AdminSession> SignInAsAdmin(Vault& vault) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  if (profile.role() != v1::ROLE_ADMIN || profile.org_secret_key().empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("this needs an admin device holding the organisation key; this device is a ",
                     RoleName(profile.role())));
  }
  TEMOIN_ASSIGN_OR_RETURN(
      std::unique_ptr<Connection> connection,
      Connection::Create(profile.server_address(), profile.tls_spki_sha256(),
                         /*bulk_downloads=*/false, profile.next_tls_spki_sha256()));
  TEMOIN_RETURN_IF_ERROR(SignInDevice(*connection, vault, profile));
  return AdminSession{std::move(profile), std::move(connection)};
}

absl::StatusOr<std::string> CreateProject(Vault& vault, const std::string& name) {
  TEMOIN_ASSIGN_OR_RETURN(AdminSession session, SignInAsAdmin(vault));
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey org_key,
                          crypto::SigningKey::FromSecretKey(session.profile.org_secret_key()));
  TEMOIN_ASSIGN_OR_RETURN(crypto::BoxKeyPair own_box, DeviceBoxKey(session.profile));
  crypto::BoxKeyPair epoch_key = crypto::BoxKeyPair::Generate();
  v1::ProjectKeyBody body;
  body.set_project_id(crypto::RandomBytes(crypto::kProjectIdBytes));
  body.set_project_name(name);
  body.set_epoch(1);
  body.set_public_key(epoch_key.public_key());
  v1::CreateProjectRequest request;
  *request.mutable_key() = crypto::SignProjectKey(body, org_key);
  TEMOIN_ASSIGN_OR_RETURN(std::string wrapped, crypto::WrapEpochSecret(epoch_key, body.project_id(),
                                                                       1, own_box.public_key()));
  request.set_admin_wrapped_secret(wrapped);

  // Keep the secret locally before the server learns of the project, so that a crash in
  // between cannot leave a project nobody can grant.
  v1::ProjectKeys keys;
  *keys.add_epochs() = request.key();
  v1::EpochKeySecret* secret = keys.add_secrets();
  secret->set_epoch(1);
  secret->set_secret_key(std::string(epoch_key.secret_key().ExposeSecret()));
  VaultBatch batch;
  batch.Put(kProjectNs, name, keys.SerializeAsString());
  crypto::WipeString(*secret->mutable_secret_key());
  TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));

  v1::CreateProjectResponse response;
  TEMOIN_RETURN_IF_ERROR(FromGrpc(session.connection->admin().CreateProject(
                                      session.connection->NewContext().get(), request, &response),
                                  session.connection->address()));
  return response.project_id();
}

namespace {

// The project's id as the organisation signed it (empty for admins, who have none).
absl::StatusOr<std::string> SignedProjectId(Vault& vault, const v1::Profile& profile, v1::Role role,
                                            const std::string& project) {
  if (role == v1::ROLE_ADMIN) return std::string();
  TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeys keys, LoadProjectKeys(vault, project));
  for (const v1::SignedProjectKey& signed_key : keys.epochs()) {
    absl::StatusOr<v1::ProjectKeyBody> body =
        crypto::VerifyProjectKey(signed_key, profile.org_public_key());
    if (body.ok() && body->project_name() == project) return body->project_id();
  }
  return absl::FailedPreconditionError(
      "this device holds no signed key of that project; cannot authorise the invite");
}

// The organisation's pre-authorisation of one invite, with a fresh invite key whose
// secret goes only into the code: the enrolling device signs its certificate with it.
absl::Status AuthoriseInvite(Vault& vault, const v1::Profile& profile, v1::EnrollmentCode& code) {
  TEMOIN_ASSIGN_OR_RETURN(std::string project_id,
                          SignedProjectId(vault, profile, code.role(), code.project()));
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey org_key,
                          crypto::SigningKey::FromSecretKey(profile.org_secret_key()));
  crypto::SigningKey invite_key = crypto::SigningKey::Generate();
  v1::InviteAuthorisationBody body;
  body.set_role(code.role());
  body.set_project(code.project());
  body.set_project_id(project_id);
  body.set_expires_at(code.expires_at());
  body.set_invite_public_key(invite_key.public_key());
  body.set_token_hash(crypto::InviteTokenHash(code.token()));
  *code.mutable_authorisation() = crypto::SignInviteAuthorisation(body, org_key);
  code.set_invite_secret_key(std::string(invite_key.secret_key().ExposeSecret()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Role> RoleFromName(absl::string_view name) {
  if (name == "monitor") return v1::ROLE_MONITOR;
  if (name == "reviewer") return v1::ROLE_REVIEWER;
  if (name == "admin") return v1::ROLE_ADMIN;
  return absl::InvalidArgumentError("role must be monitor, reviewer or admin");
}

absl::StatusOr<std::string> IssueInvite(Vault& vault, absl::string_view role_name,
                                        const std::string& project, double ttl_hours) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Role role, RoleFromName(role_name));
  // !(a && b) rather than (a || b): NaN fails both comparisons and is refused too.
  if (!(ttl_hours > 0 && ttl_hours <= 30 * 24)) {
    return absl::InvalidArgumentError(
        "the invite's lifetime must be more than 0 and at most "
        "720 hours");
  }
  return CreateInviteCode(vault, role, project, static_cast<int64_t>(ttl_hours * 3600));
}

absl::StatusOr<std::string> CreateInviteCode(Vault& vault, v1::Role role,
                                             const std::string& project, int64_t ttl_seconds) {
  TEMOIN_ASSIGN_OR_RETURN(AdminSession session, SignInAsAdmin(vault));
  v1::CreateInviteRequest request;
  request.set_role(role);
  request.set_project(project);
  request.set_ttl_seconds(ttl_seconds);
  v1::CreateInviteResponse response;
  TEMOIN_RETURN_IF_ERROR(FromGrpc(session.connection->admin().CreateInvite(
                                      session.connection->NewContext().get(), request, &response),
                                  session.connection->address()));
  v1::EnrollmentCode code;
  code.set_format_version(1);
  code.set_server_address(session.profile.server_address());
  code.set_tls_spki_sha256(session.profile.tls_spki_sha256());
  code.set_org_public_key(session.profile.org_public_key());
  code.set_role(role);
  code.set_project(project);
  code.set_token(response.token());
  code.set_expires_at(response.expires_at());
  TEMOIN_RETURN_IF_ERROR(AuthoriseInvite(vault, session.profile, code));
  std::string text = EncodeEnrollmentCode(code);
  crypto::WipeString(*code.mutable_invite_secret_key());
  return text;
}

absl::StatusOr<std::vector<v1::DeviceInfo>> ListDevices(Vault& vault) {
  TEMOIN_ASSIGN_OR_RETURN(AdminSession session, SignInAsAdmin(vault));
  v1::ListDevicesResponse response;
  TEMOIN_RETURN_IF_ERROR(
      FromGrpc(session.connection->admin().ListDevices(session.connection->NewContext().get(),
                                                       v1::ListDevicesRequest(), &response),
               session.connection->address()));
  return std::vector<v1::DeviceInfo>(response.devices().begin(), response.devices().end());
}

absl::Status GrantProject(Vault& vault, const std::string& project,
                          const std::string& reviewer_hex) {
  TEMOIN_ASSIGN_OR_RETURN(std::string reviewer_id, FromHex(reviewer_hex, "reviewer device id"));
  if (reviewer_id.size() != crypto::kDeviceIdBytes) {
    return absl::InvalidArgumentError("reviewer device id must be 32 hex characters");
  }
  TEMOIN_ASSIGN_OR_RETURN(AdminSession session, SignInAsAdmin(vault));
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::DeviceInfo> devices, ListDevices(vault));
  const v1::DeviceInfo* reviewer = nullptr;
  for (const v1::DeviceInfo& device : devices) {
    if (device.device_id() == reviewer_id) reviewer = &device;
  }
  if (reviewer == nullptr) return absl::NotFoundError("no such device on the server");
  // Keys come from the device's certificate (organisation -> invite -> device), never
  // from the server's listing: a device the server made itself has no such chain.
  TEMOIN_ASSIGN_OR_RETURN(crypto::CertifiedDevice certified,
                          CertifiedReviewer(session.profile, *reviewer));
  TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeys keys, LoadProjectKeys(vault, project));
  v1::PutGrantRequest request;
  request.set_project(project);
  request.set_reviewer_device_id(reviewer_id);
  std::string project_id;
  for (const v1::SignedProjectKey& signed_key : keys.epochs()) {
    TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeyBody body,
                            crypto::VerifyProjectKey(signed_key, session.profile.org_public_key()));
    project_id = body.project_id();
    for (const v1::EpochKeySecret& secret : keys.secrets()) {
      if (secret.epoch() != body.epoch()) continue;
      TEMOIN_ASSIGN_OR_RETURN(crypto::BoxKeyPair epoch_key,
                              crypto::BoxKeyPair::FromSecretKey(secret.secret_key()));
      TEMOIN_ASSIGN_OR_RETURN(std::string sealed,
                              crypto::WrapEpochSecret(epoch_key, body.project_id(), body.epoch(),
                                                      certified.box_public_key));
      v1::EpochSecret* out = request.add_secrets();
      out->set_epoch(body.epoch());
      out->set_sealed(sealed);
    }
  }
  if (request.secrets().empty()) {
    return absl::FailedPreconditionError("this device holds no secret of that project");
  }
  v1::PutGrantResponse response;
  TEMOIN_RETURN_IF_ERROR(FromGrpc(session.connection->admin().PutGrant(
                                      session.connection->NewContext().get(), request, &response),
                                  session.connection->address()));
  // The book is what later rotations wrap to: written once the server holds the grant.
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey org_key,
                          crypto::SigningKey::FromSecretKey(session.profile.org_secret_key()));
  return RecordGrant(vault, org_key, project, project_id, certified,
                     SystemClock::Get().NowSeconds());
}

absl::StatusOr<crypto::CertifiedDevice> CertifiedReviewer(const v1::Profile& profile,
                                                          const v1::DeviceInfo& device) {
  const std::string id_hex = ToHex(device.device_id());
  if (!device.has_certificate()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device ", id_hex,
        " has no certificate (enrolled before certificates, or made by the server); not "
        "granting: enrol it again with a new invite"));
  }
  absl::StatusOr<crypto::CertifiedDevice> certified =
      crypto::VerifyDeviceCertificate(device.certificate(), profile.org_public_key());
  if (!certified.ok() || certified->device_id != device.device_id()) {
    return absl::UnauthenticatedError(
        absl::StrCat("the certificate the server lists for device ", id_hex,
                     " does not verify against the organisation key; not granting"));
  }
  if (certified->role != v1::ROLE_REVIEWER) {
    return absl::FailedPreconditionError(
        absl::StrCat("device ", id_hex, " is not certified as a reviewer"));
  }
  return *certified;
}

absl::Status AnnounceNextTlsKey(Vault& vault, const std::string& pin_hex) {
  TEMOIN_ASSIGN_OR_RETURN(std::string pin, FromHex(pin_hex, "TLS pin"));
  if (pin.size() != 32) return absl::InvalidArgumentError("a TLS pin is 64 hex characters");
  TEMOIN_ASSIGN_OR_RETURN(AdminSession session, SignInAsAdmin(vault));
  if (pin == session.profile.tls_spki_sha256()) {
    return absl::InvalidArgumentError("that is the key the server serves now, not its next one");
  }
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey org_key,
                          crypto::SigningKey::FromSecretKey(session.profile.org_secret_key()));
  v1::TlsKeyAnnouncementBody body;
  body.set_next_spki_sha256(pin);
  body.set_issued_at(SystemClock::Get().NowSeconds() / 60 * 60);
  v1::AnnounceTlsKeyRequest request;
  request.mutable_announcement()->set_body(body.SerializeAsString());
  request.mutable_announcement()->set_org_signature(
      org_key.Sign(kTlsAnnouncementContext, request.announcement().body()));
  v1::AnnounceTlsKeyResponse response;
  TEMOIN_RETURN_IF_ERROR(FromGrpc(session.connection->admin().AnnounceTlsKey(
                                      session.connection->NewContext().get(), request, &response),
                                  session.connection->address()));
  return StoreTlsKeyAnnouncement(vault, request.announcement());
}

}  // namespace temoin::client

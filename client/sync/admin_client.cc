#include "client/sync/admin_client.h"

#include "absl/strings/str_cat.h"
#include "client/core/device_state.h"
#include "client/sync/connection.h"
#include "common/encoding.h"
#include "common/enrollment_code.h"
#include "common/status_macros.h"
#include "crypto/auth.h"
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
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          Connection::Create(profile.server_address(), profile.tls_spki_sha256()));
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
  return EncodeEnrollmentCode(code);
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
  if (crypto::DeviceIdFromKeys(reviewer->signing_public_key(), reviewer->box_public_key()) !=
      reviewer_id) {
    return absl::UnauthenticatedError(
        "the server lists keys for this device that do not match its id; not granting");
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeys keys, LoadProjectKeys(vault, project));
  v1::PutGrantRequest request;
  request.set_project(project);
  request.set_reviewer_device_id(reviewer_id);
  for (const v1::SignedProjectKey& signed_key : keys.epochs()) {
    TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeyBody body,
                            crypto::VerifyProjectKey(signed_key, session.profile.org_public_key()));
    for (const v1::EpochKeySecret& secret : keys.secrets()) {
      if (secret.epoch() != body.epoch()) continue;
      TEMOIN_ASSIGN_OR_RETURN(crypto::BoxKeyPair epoch_key,
                              crypto::BoxKeyPair::FromSecretKey(secret.secret_key()));
      TEMOIN_ASSIGN_OR_RETURN(std::string sealed,
                              crypto::WrapEpochSecret(epoch_key, body.project_id(), body.epoch(),
                                                      reviewer->box_public_key()));
      v1::EpochSecret* out = request.add_secrets();
      out->set_epoch(body.epoch());
      out->set_sealed(sealed);
    }
  }
  if (request.secrets().empty()) {
    return absl::FailedPreconditionError("this device holds no secret of that project");
  }
  v1::PutGrantResponse response;
  return FromGrpc(session.connection->admin().PutGrant(session.connection->NewContext().get(),
                                                       request, &response),
                  session.connection->address());
}

}  // namespace temoin::client

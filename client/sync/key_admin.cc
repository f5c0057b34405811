// Key epochs, ungrant and revocation, from the admin's device. The organisation key
// and every epoch secret stay on this device; the server only stores signed keys and
// wraps it cannot open.
#include "absl/strings/str_cat.h"
#include "client/core/device_state.h"
#include "client/core/wipe_order.h"
#include "client/sync/admin_client.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/auth.h"
#include "crypto/envelope.h"
#include "crypto/project_keys.h"

namespace temoin::client {
namespace {

absl::StatusOr<std::string> ParseDeviceId(const std::string& hex, const char* field) {
  TEMOIN_ASSIGN_OR_RETURN(std::string id, FromHex(hex, field));
  if (id.size() != crypto::kDeviceIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be 32 hex characters"));
  }
  return id;
}

// Every epoch secret this device holds for the project, wrapped to `box_public_key`.
absl::StatusOr<v1::PutGrantRequest> WrapAllEpochs(const v1::ProjectKeys& keys,
                                                  absl::string_view org_public_key,
                                                  const std::string& project,
                                                  const std::string& reviewer_id,
                                                  absl::string_view box_public_key) {
  v1::PutGrantRequest grant;
  grant.set_project(project);
  grant.set_reviewer_device_id(reviewer_id);
  for (const v1::SignedProjectKey& signed_key : keys.epochs()) {
    TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeyBody body,
                            crypto::VerifyProjectKey(signed_key, org_public_key));
    for (const v1::EpochKeySecret& secret : keys.secrets()) {
      if (secret.epoch() != body.epoch()) continue;
      TEMOIN_ASSIGN_OR_RETURN(crypto::BoxKeyPair epoch_key,
                              crypto::BoxKeyPair::FromSecretKey(secret.secret_key()));
      TEMOIN_ASSIGN_OR_RETURN(
          std::string sealed,
          crypto::WrapEpochSecret(epoch_key, body.project_id(), body.epoch(), box_public_key));
      v1::EpochSecret* out = grant.add_secrets();
      out->set_epoch(body.epoch());
      out->set_sealed(sealed);
    }
  }
  return grant;
}

absl::StatusOr<uint32_t> Rotate(Vault& vault, AdminSession& session, const std::string& project) {
  TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeys keys, LoadProjectKeys(vault, project));
  const std::string& org_pk = session.profile.org_public_key();
  v1::ProjectKeyBody newest;
  for (const v1::SignedProjectKey& signed_key : keys.epochs()) {
    TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeyBody body, crypto::VerifyProjectKey(signed_key, org_pk));
    if (body.epoch() > newest.epoch()) newest = body;
  }
  if (newest.epoch() == 0)
    return absl::FailedPreconditionError("this device holds no key of that project");
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey org_key,
                          crypto::SigningKey::FromSecretKey(session.profile.org_secret_key()));
  TEMOIN_ASSIGN_OR_RETURN(crypto::BoxKeyPair own_box, DeviceBoxKey(session.profile));
  v1::ListGrantsRequest list_request;
  list_request.set_project(project);
  v1::ListGrantsResponse grants;
  TEMOIN_RETURN_IF_ERROR(
      FromGrpc(session.connection->admin().ListGrants(session.connection->NewContext().get(),
                                                      list_request, &grants),
               session.connection->address()));

  crypto::BoxKeyPair epoch_key = crypto::BoxKeyPair::Generate();
  v1::ProjectKeyBody body = newest;
  body.set_epoch(newest.epoch() + 1);
  body.set_public_key(epoch_key.public_key());
  v1::RotateProjectKeyRequest request;
  *request.mutable_key() = crypto::SignProjectKey(body, org_key);
  TEMOIN_ASSIGN_OR_RETURN(
      std::string wrapped,
      crypto::WrapEpochSecret(epoch_key, body.project_id(), body.epoch(), own_box.public_key()));
  request.set_admin_wrapped_secret(wrapped);

  *keys.add_epochs() = request.key();
  v1::EpochKeySecret* secret = keys.add_secrets();
  secret->set_epoch(body.epoch());
  secret->set_secret_key(std::string(epoch_key.secret_key().ExposeSecret()));

  for (const v1::GrantInfo& grantee : grants.grants()) {
    if (crypto::DeviceIdFromKeys(grantee.signing_public_key(), grantee.box_public_key()) !=
        grantee.reviewer_device_id()) {
      crypto::WipeString(*secret->mutable_secret_key());
      return absl::UnauthenticatedError(
          "the server lists keys for a granted reviewer that do not match its id; not rotating");
    }
    TEMOIN_ASSIGN_OR_RETURN(*request.add_grants(),
                            WrapAllEpochs(keys, org_pk, project, grantee.reviewer_device_id(),
                                          grantee.box_public_key()));
  }
  // Stored locally only once the server took the epoch, so a refused rotation leaves
  // no orphan epoch behind; should this commit fail, the server still holds the new
  // secret sealed to this device's own key (GetProjectSecrets).
  v1::RotateProjectKeyResponse response;
  absl::Status sent = FromGrpc(session.connection->admin().RotateProjectKey(
                                   session.connection->NewContext().get(), request, &response),
                               session.connection->address());
  VaultBatch batch;
  if (sent.ok()) batch.Put(kProjectNs, project, keys.SerializeAsString());
  crypto::WipeString(*secret->mutable_secret_key());
  TEMOIN_RETURN_IF_ERROR(sent);
  TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
  return response.epoch();
}

}  // namespace

absl::StatusOr<uint32_t> RotateProjectKey(Vault& vault, const std::string& project) {
  TEMOIN_ASSIGN_OR_RETURN(AdminSession session, SignInAsAdmin(vault));
  return Rotate(vault, session, project);
}

absl::StatusOr<uint32_t> UngrantProject(Vault& vault, const std::string& project,
                                        const std::string& reviewer_hex) {
  TEMOIN_ASSIGN_OR_RETURN(std::string reviewer_id,
                          ParseDeviceId(reviewer_hex, "reviewer device id"));
  TEMOIN_ASSIGN_OR_RETURN(AdminSession session, SignInAsAdmin(vault));
  v1::RemoveGrantRequest request;
  request.set_project(project);
  request.set_reviewer_device_id(reviewer_id);
  v1::RemoveGrantResponse response;
  TEMOIN_RETURN_IF_ERROR(FromGrpc(session.connection->admin().RemoveGrant(
                                      session.connection->NewContext().get(), request, &response),
                                  session.connection->address()));
  return Rotate(vault, session, project);
}

absl::StatusOr<std::vector<std::string>> RevokeDevice(Vault& vault, const std::string& device_hex) {
  TEMOIN_ASSIGN_OR_RETURN(std::string device_id, ParseDeviceId(device_hex, "device id"));
  TEMOIN_ASSIGN_OR_RETURN(AdminSession session, SignInAsAdmin(vault));
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey org_key,
                          crypto::SigningKey::FromSecretKey(session.profile.org_secret_key()));
  v1::RevokeDeviceRequest request;
  request.set_device_id(device_id);
  *request.mutable_wipe_order() =
      SignWipeOrder(org_key, device_id, SystemClock::Get().NowSeconds());
  v1::RevokeDeviceResponse response;
  TEMOIN_RETURN_IF_ERROR(FromGrpc(session.connection->admin().RevokeDevice(
                                      session.connection->NewContext().get(), request, &response),
                                  session.connection->address()));
  // A revoked reviewer held epoch secrets: rotate so that what is sealed next is closed
  // to it.
  std::vector<std::string> rotated;
  for (const std::string& project : response.ungranted_projects()) {
    TEMOIN_RETURN_IF_ERROR(Rotate(vault, session, project).status());
    rotated.push_back(project);
  }
  return rotated;
}

}  // namespace temoin::client

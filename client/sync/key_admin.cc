// Key epochs, ungrant and revocation, from the admin's device. The organisation key
// and every epoch secret stay on this device; the server only stores signed keys and
// wraps it cannot open.
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/core/device_state.h"
#include "client/core/grant_book.h"
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

std::string HexList(const std::set<std::string>& ids) {
  return absl::StrJoin(
      ids, ", ", [](std::string* out, const std::string& id) { absl::StrAppend(out, ToHex(id)); });
}

// The server's grantees must be exactly the book's: an extra one would be handed every
// epoch secret (a device the server made, or a reviewer ungranted here), a missing one
// means the server dropped a grant this admin made. Either way nothing is sent.
absl::Status CheckServerGrantsMatchBook(const std::string& project,
                                        const v1::ListGrantsResponse& server,
                                        const std::vector<v1::GrantRecordBody>& book) {
  std::set<std::string> listed, recorded, extra, missing;
  for (const v1::GrantInfo& grantee : server.grants()) listed.insert(grantee.reviewer_device_id());
  for (const v1::GrantRecordBody& grant : book) recorded.insert(grant.reviewer_device_id());
  for (const std::string& id : listed) {
    if (!recorded.contains(id)) extra.insert(id);
  }
  for (const std::string& id : recorded) {
    if (!listed.contains(id)) missing.insert(id);
  }
  if (extra.empty() && missing.empty()) return absl::OkStatus();
  std::string message = absl::StrCat("the server's grants of project ", project,
                                     " differ from this admin's own records:");
  if (!extra.empty()) {
    absl::StrAppend(&message, " it lists device(s) ", HexList(extra),
                    " that this device never granted (or ungranted);");
  }
  if (!missing.empty()) {
    absl::StrAppend(&message, " it leaves out device(s) ", HexList(missing),
                    " that this device granted;");
  }
  absl::StrAppend(&message,
                  " not rotating: no key was sent (the server may be compromised; a grant "
                  "made from another admin device is confirmed by running `temoin grant` here)");
  return absl::FailedPreconditionError(message);
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
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::GrantRecordBody> book, GrantsOf(vault, org_pk, project));
  TEMOIN_RETURN_IF_ERROR(CheckServerGrantsMatchBook(project, grants, book));

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

  // Wrapped only to the grant book's reviewers, with the keys their certificates gave
  // when granted: the server's list is only compared, never used.
  for (const v1::GrantRecordBody& grantee : book) {
    absl::StatusOr<v1::PutGrantRequest> wrapped = WrapAllEpochs(
        keys, org_pk, project, grantee.reviewer_device_id(), grantee.box_public_key());
    if (!wrapped.ok()) {
      crypto::WipeString(*secret->mutable_secret_key());
      return wrapped.status();
    }
    *request.add_grants() = std::move(*wrapped);
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
  TEMOIN_RETURN_IF_ERROR(ForgetGrant(vault, project, reviewer_id));
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
  // to it. Which projects is this device's own call (its grant book); the server's list
  // only adds to it, and a project it left out is named once everything is rotated.
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> booked,
                          ProjectsGrantedTo(vault, session.profile.org_public_key(), device_id));
  std::set<std::string> to_rotate(booked.begin(), booked.end());
  std::set<std::string> named_by_server(response.ungranted_projects().begin(),
                                        response.ungranted_projects().end());
  std::set<std::string> left_out;
  for (const std::string& project : booked) {
    if (!named_by_server.contains(project)) left_out.insert(project);
  }
  to_rotate.insert(named_by_server.begin(), named_by_server.end());
  std::vector<std::string> rotated;
  for (const std::string& project : to_rotate) {
    TEMOIN_RETURN_IF_ERROR(ForgetGrant(vault, project, device_id));
    TEMOIN_RETURN_IF_ERROR(Rotate(vault, session, project).status());
    rotated.push_back(project);
  }
  if (!left_out.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the server did not name project(s) ", absl::StrJoin(left_out, ", "),
                     " among those the revoked device was granted; rotated them anyway from this "
                     "device's own records (rotated: ",
                     absl::StrJoin(rotated, ", "), "); the server may be compromised"));
  }
  return rotated;
}

}  // namespace temoin::client

#include "client/sync/enroll.h"

#include <filesystem>

#include "client/core/device_state.h"
#include "client/sync/connection.h"
#include "common/enrollment_code.h"
#include "common/status_macros.h"
#include "crypto/auth.h"
#include "crypto/device_certificate.h"

namespace temoin::client {
namespace {

// The device's certificate: its keys under the organisation's authorisation of this
// invite, signed with the invite key from the code (the first admin, who makes the
// organisation key here, authorises itself with it). Codes from before certificates
// carry no authorisation: nullopt, and reviewers will show this device's records as
// unverified. kUnauthenticated when the code's authorisation is not the organisation's.
absl::StatusOr<std::optional<v1::DeviceCertificate>> CertifyEnrolment(
    const v1::EnrollmentCode& code, const std::optional<crypto::SigningKey>& bootstrap_org_key,
    const crypto::SigningKey& device_key, const crypto::BoxKeyPair& box_key) {
  if (bootstrap_org_key.has_value()) {
    v1::InviteAuthorisationBody body;
    body.set_role(v1::ROLE_ADMIN);
    body.set_expires_at(code.expires_at());
    body.set_invite_public_key(bootstrap_org_key->public_key());
    body.set_token_hash(crypto::InviteTokenHash(code.token()));
    return crypto::IssueDeviceCertificate(crypto::SignInviteAuthorisation(body, *bootstrap_org_key),
                                          *bootstrap_org_key, device_key, box_key.public_key());
  }
  if (!code.has_authorisation()) return std::nullopt;
  absl::StatusOr<v1::InviteAuthorisationBody> body =
      crypto::VerifyInviteAuthorisation(code.authorisation(), code.org_public_key());
  if (!body.ok() || body->role() != code.role() || body->project() != code.project() ||
      body->token_hash() != crypto::InviteTokenHash(code.token())) {
    return absl::UnauthenticatedError(
        "enrolment code is not valid: its organisation authorisation does not match it");
  }
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey invite_key,
                          crypto::SigningKey::FromSecretKey(code.invite_secret_key()));
  if (invite_key.public_key() != body->invite_public_key()) {
    return absl::UnauthenticatedError(
        "enrolment code is not valid: its invite key does not match its authorisation");
  }
  return crypto::IssueDeviceCertificate(code.authorisation(), invite_key, device_key,
                                        box_key.public_key());
}

}  // namespace

absl::StatusOr<std::string> EnrollDevice(const std::string& home, absl::string_view code_text,
                                         absl::string_view passphrase,
                                         const VaultOptions& vault_options) {
  TEMOIN_ASSIGN_OR_RETURN(v1::EnrollmentCode code, DecodeEnrollmentCode(code_text));
  const bool bootstrap = code.role() == v1::ROLE_ADMIN && code.org_public_key().empty();

  // The vault first: a bad passphrase or a full disk must not burn the one-time code.
  std::unique_ptr<Vault> vault;
  bool created_here = false;
  if (VaultExists(home)) {
    TEMOIN_ASSIGN_OR_RETURN(vault, Vault::Open(home, passphrase));
    if (LoadProfile(*vault).ok()) {
      return absl::AlreadyExistsError("this home is already enrolled; use another --home");
    }
  } else {
    TEMOIN_ASSIGN_OR_RETURN(vault, Vault::Create(home, passphrase, vault_options));
    created_here = true;
  }
  // A vault made here holds nothing yet: if the server refuses, leave the home as it was.
  auto remove_new_vault = [&](absl::Status status) {
    if (created_here) {
      vault.reset();
      std::error_code ignored;
      std::filesystem::remove(home + "/vault.key", ignored);
      std::filesystem::remove_all(home + "/store", ignored);
    }
    return status;
  };

  crypto::SigningKey device_key = crypto::SigningKey::Generate();
  crypto::BoxKeyPair box_key = crypto::BoxKeyPair::Generate();
  std::optional<crypto::SigningKey> org_key;
  if (bootstrap) org_key = crypto::SigningKey::Generate();  // made here, never on the server

  v1::EnrollRequest request;
  request.set_token(code.token());
  request.set_signing_public_key(device_key.public_key());
  request.set_box_public_key(box_key.public_key());
  if (org_key.has_value()) request.set_org_public_key(org_key->public_key());
  request.set_proof(device_key.Sign(
      crypto::kEnrollContext,
      crypto::EnrollProofMessage(request.token(), request.signing_public_key(),
                                 request.box_public_key(), request.org_public_key())));

  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::DeviceCertificate> certificate,
                          CertifyEnrolment(code, org_key, device_key, box_key));
  if (certificate.has_value()) *request.mutable_certificate() = *certificate;

  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          Connection::Create(code.server_address(), code.tls_spki_sha256()));
  v1::EnrollResponse response;
  if (absl::Status s = FromGrpc(
          connection->enrollment().Enroll(connection->NewContext().get(), request, &response),
          connection->address());
      !s.ok()) {
    return remove_new_vault(s);
  }
  // Trust what the code said over what the server says: the org key comes from the
  // code (or was made here), never from the response.
  std::string org_public_key = bootstrap ? org_key->public_key() : code.org_public_key();
  if (response.device_id() !=
      crypto::DeviceIdFromKeys(device_key.public_key(), box_key.public_key())) {
    return absl::UnauthenticatedError("server answered with a device id for other keys");
  }

  v1::Profile profile;
  profile.set_device_id(response.device_id());
  profile.set_role(response.role());
  profile.set_project_id(response.project_id());
  profile.set_project(response.project());
  profile.set_server_address(code.server_address());
  profile.set_tls_spki_sha256(code.tls_spki_sha256());
  profile.set_org_public_key(org_public_key);
  profile.set_server_signing_key(response.server_signing_key());
  profile.set_signing_secret_key(std::string(device_key.secret_key().ExposeSecret()));
  profile.set_box_secret_key(std::string(box_key.secret_key().ExposeSecret()));
  profile.set_box_public_key(box_key.public_key());
  if (org_key.has_value()) {
    profile.set_org_secret_key(std::string(org_key->secret_key().ExposeSecret()));
  }
  profile.set_next_seq(1);
  VaultBatch batch;
  PutProfile(batch, profile);
  batch.Put(kSettingsNs, "vocabulary", response.vocabulary().SerializeAsString());
  crypto::WipeString(*profile.mutable_signing_secret_key());
  crypto::WipeString(*profile.mutable_box_secret_key());
  crypto::WipeString(*profile.mutable_org_secret_key());
  TEMOIN_RETURN_IF_ERROR(vault->Commit(batch));
  for (const v1::SignedProjectKey& key : response.project_keys()) {
    TEMOIN_RETURN_IF_ERROR(StoreSignedProjectKey(*vault, key, org_public_key).status());
  }
  return response.device_id();
}

}  // namespace temoin::client

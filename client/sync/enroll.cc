#include "client/sync/enroll.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "client/core/device_state.h"
#include "client/sync/connection.h"
#include "client/vault/cover_file.h"
#include "common/encoding.h"
#include "common/enrollment_code.h"
#include "common/file_util.h"
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

// The keys a device makes for itself at enrolment, and for the first admin the
// organisation key, which EnrollDevice makes (on the device, never on the server).
struct EnrolmentKeys {
  crypto::SigningKey device = crypto::SigningKey::Generate();
  crypto::BoxKeyPair box = crypto::BoxKeyPair::Generate();
  std::optional<crypto::SigningKey> org;
};

// The request for `code`: the device's public keys, the proof that it holds the signing
// one, and its certificate when the code carries the organisation's authorisation.
absl::StatusOr<v1::EnrollRequest> EnrollRequestFor(const v1::EnrollmentCode& code,
                                                   const EnrolmentKeys& keys) {
  v1::EnrollRequest request;
  request.set_token(code.token());
  request.set_signing_public_key(keys.device.public_key());
  request.set_box_public_key(keys.box.public_key());
  if (keys.org.has_value()) request.set_org_public_key(keys.org->public_key());
  request.set_proof(keys.device.Sign(
      crypto::kEnrollContext,
      crypto::EnrollProofMessage(request.token(), request.signing_public_key(),
                                 request.box_public_key(), request.org_public_key())));
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::DeviceCertificate> certificate,
                          CertifyEnrolment(code, keys.org, keys.device, keys.box));
  if (certificate.has_value()) *request.mutable_certificate() = *certificate;
  return request;
}

// The home's vault, opened or made before the code is spent: a bad passphrase or a full
// disk must not burn the one-time code. kAlreadyExists when the home is enrolled.
struct HomeVault {
  std::unique_ptr<Vault> vault;
  bool created_here = false;
};
absl::StatusOr<HomeVault> UnenrolledVault(const std::string& home, absl::string_view passphrase,
                                          const VaultOptions& vault_options) {
  HomeVault home_vault;
  if (!VaultExists(home)) {
    TEMOIN_ASSIGN_OR_RETURN(home_vault.vault, Vault::Create(home, passphrase, vault_options));
    home_vault.created_here = true;
    return home_vault;
  }
  TEMOIN_ASSIGN_OR_RETURN(home_vault.vault, Vault::Open(home, passphrase));
  if (LoadProfile(*home_vault.vault).ok()) {
    return absl::AlreadyExistsError("this home is already enrolled; use another --home");
  }
  return home_vault;
}

// A vault made here holds nothing yet: when the server refuses, it goes (key, store and
// cover file), so that the home can be enrolled afresh; a vault that was there before
// stays. Returns `status`.
absl::Status RemoveNewVault(HomeVault& home_vault, const std::string& home, absl::Status status) {
  if (home_vault.created_here) {
    home_vault.vault.reset();
    // The key first, overwritten before it goes: the store may hold a profile's secret
    // keys (a failed save), unreadable without it.
    ShredFile(home + "/vault.key").IgnoreError();
    std::error_code ignored;
    std::filesystem::remove(home + "/vault.key", ignored);
    std::filesystem::remove_all(home + "/store", ignored);
    std::filesystem::remove(CoverFilePath(home), ignored);
  }
  return status;
}

// What to do once the server has enrolled keys this device then dropped (it refused
// the answer, or could not save it): the code is spent.
std::string SpentCodeAdvice(const std::string& device_id) {
  return absl::StrCat("; the server took the enrolment code for device ", ToHex(device_id),
                      ", which this home no longer holds: enrol with a new code, and ask an "
                      "administrator to revoke that device");
}

// The profile (secret keys included: the vault is their only home), the vocabulary and
// the project's keys, checked against the organisation key, in the vault.
absl::Status SaveEnrolment(Vault& vault, const v1::EnrollmentCode& code,
                           const v1::EnrollResponse& response, const EnrolmentKeys& keys,
                           const std::string& org_public_key) {
  v1::Profile profile;
  profile.set_device_id(response.device_id());
  profile.set_role(response.role());
  profile.set_project_id(response.project_id());
  profile.set_project(response.project());
  profile.set_server_address(code.server_address());
  profile.set_tls_spki_sha256(code.tls_spki_sha256());
  profile.set_org_public_key(org_public_key);
  profile.set_server_signing_key(response.server_signing_key());
  profile.set_signing_secret_key(std::string(keys.device.secret_key().ExposeSecret()));
  profile.set_box_secret_key(std::string(keys.box.secret_key().ExposeSecret()));
  profile.set_box_public_key(keys.box.public_key());
  if (keys.org.has_value()) {
    profile.set_org_secret_key(std::string(keys.org->secret_key().ExposeSecret()));
  }
  profile.set_next_seq(1);
  VaultBatch batch;
  PutProfile(batch, profile);
  batch.Put(kSettingsNs, "vocabulary", response.vocabulary().SerializeAsString());
  crypto::WipeString(*profile.mutable_signing_secret_key());
  crypto::WipeString(*profile.mutable_box_secret_key());
  crypto::WipeString(*profile.mutable_org_secret_key());
  TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
  for (const v1::SignedProjectKey& key : response.project_keys()) {
    TEMOIN_RETURN_IF_ERROR(StoreSignedProjectKey(vault, key, org_public_key).status());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> EnrollDevice(const std::string& home, absl::string_view code_text,
                                         absl::string_view passphrase,
                                         const VaultOptions& vault_options) {
  TEMOIN_ASSIGN_OR_RETURN(v1::EnrollmentCode code, DecodeEnrollmentCode(code_text));
  const bool bootstrap = code.role() == v1::ROLE_ADMIN && code.org_public_key().empty();
  TEMOIN_ASSIGN_OR_RETURN(HomeVault home_vault, UnenrolledVault(home, passphrase, vault_options));

  EnrolmentKeys keys;
  if (bootstrap) keys.org = crypto::SigningKey::Generate();
  TEMOIN_ASSIGN_OR_RETURN(v1::EnrollRequest request, EnrollRequestFor(code, keys));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          Connection::Create(code.server_address(), code.tls_spki_sha256()));
  v1::EnrollResponse response;
  if (absl::Status s = FromGrpc(
          connection->enrollment().Enroll(connection->NewContext().get(), request, &response),
          connection->address());
      !s.ok()) {
    return RemoveNewVault(home_vault, home, s);
  }
  const std::string device_id =
      crypto::DeviceIdFromKeys(keys.device.public_key(), keys.box.public_key());
  if (response.device_id() != device_id) {
    return RemoveNewVault(
        home_vault, home,
        absl::UnauthenticatedError(absl::StrCat("server answered with a device id for other keys",
                                                SpentCodeAdvice(device_id))));
  }
  // Trust what the code said over what the server says: the org key comes from the
  // code (or was made here), never from the response.
  const std::string org_public_key = bootstrap ? keys.org->public_key() : code.org_public_key();
  if (absl::Status s = SaveEnrolment(*home_vault.vault, code, response, keys, org_public_key);
      !s.ok()) {
    return RemoveNewVault(
        home_vault, home,
        absl::Status(s.code(), absl::StrCat(s.message(), SpentCodeAdvice(device_id))));
  }
  return response.device_id();
}

}  // namespace temoin::client

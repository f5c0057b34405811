#include "client/core/device_state.h"

#include <algorithm>

#include "common/status_macros.h"
#include "crypto/keys.h"
#include "crypto/project_keys.h"

namespace temoin::client {
namespace {

constexpr char kSignInNonceName[] = "signin_nonce";

template <typename Message>
absl::StatusOr<std::optional<Message>> GetMessage(Vault& vault, absl::string_view ns,
                                                  absl::string_view name) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> bytes, vault.Get(ns, name));
  if (!bytes.has_value()) return std::nullopt;
  Message message;
  bool ok = message.ParseFromString(*bytes);
  crypto::WipeString(*bytes);
  if (!ok) return absl::DataLossError("vault value does not parse");
  return message;
}

}  // namespace

absl::StatusOr<v1::Profile> LoadProfile(Vault& vault) {
  TEMOIN_ASSIGN_OR_RETURN(auto profile, GetMessage<v1::Profile>(vault, kProfileNs, "self"));
  if (!profile.has_value() || profile->device_id().empty()) {
    return absl::FailedPreconditionError("this device is not enrolled; run temoin enroll CODE");
  }
  return std::move(*profile);
}

void PutProfile(VaultBatch& batch, const v1::Profile& profile) {
  std::string bytes = profile.SerializeAsString();
  batch.Put(kProfileNs, "self", bytes);
  crypto::WipeString(bytes);
}

absl::StatusOr<v1::Vocabulary> LoadVocabulary(Vault& vault) {
  TEMOIN_ASSIGN_OR_RETURN(auto vocabulary,
                          GetMessage<v1::Vocabulary>(vault, kSettingsNs, "vocabulary"));
  if (!vocabulary.has_value()) {
    return absl::FailedPreconditionError("no vocabulary on this device; run temoin sync");
  }
  return std::move(*vocabulary);
}

absl::StatusOr<v1::ProjectKeys> LoadProjectKeys(Vault& vault, absl::string_view project) {
  TEMOIN_ASSIGN_OR_RETURN(auto keys, GetMessage<v1::ProjectKeys>(vault, kProjectNs, project));
  if (!keys.has_value()) return absl::NotFoundError("this device has no keys for that project");
  return std::move(*keys);
}

absl::StatusOr<std::vector<v1::ProjectKeys>> LoadAllProjectKeys(Vault& vault) {
  std::vector<v1::ProjectKeys> all;
  absl::Status error;
  TEMOIN_RETURN_IF_ERROR(vault.Scan(kProjectNs, [&](absl::string_view, absl::string_view value) {
    v1::ProjectKeys keys;
    if (!keys.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      error = absl::DataLossError("vault value does not parse");
      return false;
    }
    all.push_back(std::move(keys));
    return true;
  }));
  TEMOIN_RETURN_IF_ERROR(error);
  return all;
}

absl::StatusOr<std::string> StoreSignedProjectKey(Vault& vault, const v1::SignedProjectKey& key,
                                                  absl::string_view org_public_key) {
  TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeyBody body, crypto::VerifyProjectKey(key, org_public_key));
  absl::StatusOr<v1::ProjectKeys> stored = LoadProjectKeys(vault, body.project_name());
  v1::ProjectKeys keys;
  if (stored.ok()) {
    keys = std::move(*stored);
  } else if (stored.status().code() != absl::StatusCode::kNotFound) {
    return stored.status();
  }
  bool present = false;
  for (const v1::SignedProjectKey& epoch : keys.epochs()) {
    v1::ProjectKeyBody existing;
    if (existing.ParseFromString(epoch.body()) && existing.epoch() == body.epoch()) {
      if (existing.public_key() != body.public_key()) {
        return absl::UnauthenticatedError("server sent a different key for a known epoch");
      }
      present = true;
    }
  }
  if (!present) *keys.add_epochs() = key;
  VaultBatch batch;
  batch.Put(kProjectNs, body.project_name(), keys.SerializeAsString());
  TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
  return body.project_name();
}

absl::StatusOr<std::string> LoadSignInNonce(Vault& vault) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> nonce,
                          vault.Get(kSettingsNs, kSignInNonceName));
  return nonce.value_or("");
}

absl::Status StoreSignInNonce(Vault& vault, absl::string_view nonce) {
  VaultBatch batch;
  if (nonce.empty()) {
    batch.Delete(kSettingsNs, kSignInNonceName);
  } else {
    batch.Put(kSettingsNs, kSignInNonceName, nonce);
  }
  return vault.Commit(batch);
}

absl::StatusOr<crypto::SigningKey> DeviceSigningKey(const v1::Profile& profile) {
  return crypto::SigningKey::FromSecretKey(profile.signing_secret_key());
}

absl::StatusOr<crypto::BoxKeyPair> DeviceBoxKey(const v1::Profile& profile) {
  return crypto::BoxKeyPair::FromSecretKey(profile.box_secret_key());
}

absl::Status StoreTlsKeyAnnouncement(Vault& vault, const v1::TlsKeyAnnouncement& announcement) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  v1::TlsKeyAnnouncementBody body;
  if (!body.ParseFromString(announcement.body()) || body.next_spki_sha256().size() != 32 ||
      !crypto::VerifySignature(profile.org_public_key(), kTlsAnnouncementContext,
                               announcement.body(), announcement.org_signature())
           .ok()) {
    return absl::UnauthenticatedError(
        "the server sent a TLS key announcement the organisation did not sign; nothing was "
        "changed (tell your admin)");
  }
  if (body.next_spki_sha256() == profile.tls_spki_sha256() ||
      body.next_spki_sha256() == profile.next_tls_spki_sha256()) {
    return absl::OkStatus();
  }
  profile.set_next_tls_spki_sha256(body.next_spki_sha256());
  VaultBatch batch;
  PutProfile(batch, profile);
  return vault.Commit(batch);
}

absl::Status RepinServer(Vault& vault, absl::string_view spki_sha256) {
  if (spki_sha256.size() != 32) {
    return absl::InvalidArgumentError("a TLS pin is 64 hex characters");
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  profile.set_tls_spki_sha256(std::string(spki_sha256));
  profile.clear_next_tls_spki_sha256();
  VaultBatch batch;
  PutProfile(batch, profile);
  return vault.Commit(batch);
}

}  // namespace temoin::client

#include "client/core/server_keys_state.h"

#include "absl/strings/str_cat.h"
#include "client/core/device_state.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/keys.h"

namespace temoin::client {

absl::StatusOr<std::optional<HeldServerKeys>> LoadServerKeys(Vault& vault,
                                                             absl::string_view org_public_key) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                          vault.Get(kSettingsNs, kServerKeysName));
  if (!bytes.has_value()) return std::nullopt;
  HeldServerKeys held;
  if (!held.statement.ParseFromString(*bytes)) {
    return absl::DataLossError("the server-key statement held in the vault does not parse");
  }
  TEMOIN_ASSIGN_OR_RETURN(
      held.keys, crypto::VerifyServerKeys(held.statement.body(), held.statement.org_signature(),
                                          org_public_key));
  return held;
}

absl::Status StoreServerKeyStatement(Vault& vault, const v1::ServerKeyStatement& statement,
                                     absl::string_view org_public_key) {
  absl::StatusOr<crypto::ServerKeys> keys =
      crypto::VerifyServerKeys(statement.body(), statement.org_signature(), org_public_key);
  if (!keys.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("the server sent a server-key statement the organisation did not sign (",
                     keys.status().message(), "); nothing was changed (tell your admin)"));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::optional<HeldServerKeys> held,
                          LoadServerKeys(vault, org_public_key));
  if (held.has_value() && held->keys.issued > keys->issued) return absl::OkStatus();
  return vault.Put(kSettingsNs, kServerKeysName, statement.SerializeAsString());
}

absl::Status CheckReceiptKeyCertified(Vault& vault, absl::string_view org_public_key,
                                      absl::string_view receipt_public_key) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<HeldServerKeys> held,
                          LoadServerKeys(vault, org_public_key));
  if (!held.has_value()) return absl::OkStatus();
  const crypto::CertifiedKey* key = held->keys.FindReceiptKey(receipt_public_key);
  if (key == nullptr || !key->current()) {
    return absl::UnauthenticatedError(
        absl::StrCat("the server's receipt key ", ToHex(receipt_public_key),
                     key == nullptr ? " is not certified by the organisation"
                                    : " was retired by the organisation",
                     "; no receipt under it was taken and nothing was purged (tell your admin: "
                     "temoin admin certify-server-keys)"));
  }
  return absl::OkStatus();
}

absl::Status CheckLogKeyCertified(Vault& vault, absl::string_view org_public_key,
                                  absl::string_view vkey) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<HeldServerKeys> held,
                          LoadServerKeys(vault, org_public_key));
  if (!held.has_value() || held->keys.FindLogKey(vkey) != nullptr) return absl::OkStatus();
  return absl::UnauthenticatedError(
      absl::StrCat("the server's log key ", vkey,
                   " is not certified by the organisation; its checkpoint was not accepted "
                   "(tell your admin: temoin admin certify-server-keys)"));
}

absl::Status FollowReceiptKey(Vault& vault, v1::Profile& profile, absl::string_view key_id) {
  if (key_id.empty() || key_id == crypto::KeyId(profile.server_signing_key())) {
    return absl::OkStatus();
  }
  TEMOIN_ASSIGN_OR_RETURN(std::optional<HeldServerKeys> held,
                          LoadServerKeys(vault, profile.org_public_key()));
  const crypto::CertifiedKey* current = nullptr;
  if (held.has_value()) {
    for (const crypto::CertifiedKey& key : held->keys.receipt_keys) {
      if (key.current() && crypto::KeyId(key.key) == key_id) current = &key;
    }
  }
  if (current == nullptr) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the server now signs receipts with a key (id ", ToHex(key_id),
        ") that the organisation has not certified; no receipt under it was taken and nothing "
        "was purged. Tell your admin: on "
        "the server's machine temoin-server keys show, then temoin admin certify-server-keys "
        "(docs/admin-guide.md, \"Rotating the receipt key\")"));
  }
  profile.set_server_signing_key(current->key);
  VaultBatch batch;
  PutProfile(batch, profile);
  return vault.Commit(batch);
}

absl::StatusOr<ReceiptKeyRing> ReceiptKeyRing::Load(Vault& vault, const v1::Profile& profile) {
  ReceiptKeyRing ring;
  ring.pinned_ = profile.server_signing_key();
  ring.pinned_id_ = crypto::KeyId(ring.pinned_);
  TEMOIN_ASSIGN_OR_RETURN(std::optional<HeldServerKeys> held,
                          LoadServerKeys(vault, profile.org_public_key()));
  if (held.has_value()) ring.certified_ = std::move(held->keys);
  return ring;
}

absl::StatusOr<std::string> ReceiptKeyRing::KeyFor(absl::string_view key_id, int64_t hour) const {
  const absl::Status untrusted = absl::UnauthenticatedError(
      "the receipt is signed by a key the organisation has not certified for its hour");
  // A receipt that names no key (made before key ids, or by hand) is checked under the
  // pinned key, as all receipts were before rotation.
  const bool pinned = key_id.empty() || pinned_id_ == key_id;
  if (!certified_.has_value()) {
    if (pinned) return pinned_;
    return untrusted;
  }
  // With the statement held, it alone says which key signed for which hours: the
  // pinned key too, once retired, covers only the hours before its retirement.
  for (const crypto::CertifiedKey& key : certified_->receipt_keys) {
    const bool named = pinned ? key.key == pinned_ : crypto::KeyId(key.key) == key_id;
    if (named && key.CoversHour(hour)) return key.key;
  }
  return untrusted;
}

absl::StatusOr<std::string> ReceiptKeyRing::KeyFor(const v1::Receipt& receipt) const {
  v1::ReceiptBody body;
  if (!body.ParseFromString(receipt.body())) {
    return absl::UnauthenticatedError("the receipt does not parse");
  }
  return KeyFor(body.server_key_id(), static_cast<int64_t>(body.received_at()));
}

}  // namespace temoin::client

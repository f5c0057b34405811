#include "client/core/server_keys_state.h"

#include "absl/strings/str_cat.h"
#include "client/core/device_state.h"
#include "common/encoding.h"
#include "common/status_macros.h"

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
                     "; nothing was sent (tell your admin: temoin admin certify-server-keys)"));
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

}  // namespace temoin::client

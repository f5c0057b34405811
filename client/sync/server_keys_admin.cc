// temoin admin certify-server-keys: the organisation key vouches for the server's
// receipt and log keys (crypto/server_keys.h), so that devices and courts need not
// trust the server to know which keys are its own.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/core/device_state.h"
#include "client/core/log_state.h"
#include "client/core/server_key_statement.h"
#include "client/core/server_keys_state.h"
#include "client/sync/admin_client.h"
#include "client/sync/connection.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/checkpoint.h"
#include "crypto/keys.h"
#include "crypto/server_keys.h"
#include "temoin/v1/sync.grpc.pb.h"

namespace temoin::client {
namespace {

// The keys must be the ones this device already trusts: what the admin read on the
// server's machine and what the server showed this device over the network agree. In a
// receipt-key rotation the current key may be one the organisation already certified
// (as the next key) rather than the one pinned at enrolment.
absl::Status CheckAgainstWhatThisDeviceSaw(Vault& vault, const v1::Profile& profile,
                                           const std::optional<HeldServerKeys>& held_keys,
                                           absl::string_view receipt_key,
                                           absl::string_view log_vkey) {
  const crypto::CertifiedKey* certified =
      held_keys.has_value() ? held_keys->keys.FindReceiptKey(receipt_key) : nullptr;
  if (receipt_key != profile.server_signing_key() &&
      (certified == nullptr || !certified->current())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "receipt key ", ToHex(receipt_key), " is not the key this device pinned at enrolment (",
        ToHex(profile.server_signing_key()),
        ") nor one the organisation certified; check what temoin-server keys show prints on "
        "the server's machine"));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::optional<VerifiedCheckpoint> held, HeldCheckpoint(vault));
  const crypto::CertifiedKey* log =
      held_keys.has_value() ? held_keys->keys.FindLogKey(log_vkey) : nullptr;
  if (held.has_value() && held->vkey != log_vkey && (log == nullptr || !log->current())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "log key ", log_vkey, " is not the key this device verified checkpoints with (", held->vkey,
        ") nor one the organisation certified; check what temoin-server keys show "
        "prints on the server's machine"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> CertifyServerKeys(Vault& vault, const std::string& receipt_key_hex,
                                              const std::string& log_vkey,
                                              const std::string& next_receipt_key_hex,
                                              const std::string& next_log_vkey) {
  TEMOIN_ASSIGN_OR_RETURN(std::string receipt_key, FromHex(receipt_key_hex, "--receipt-key"));
  if (receipt_key.size() != crypto::kSigningPublicKeyBytes) {
    return absl::InvalidArgumentError("--receipt-key is 64 hex characters");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string next_receipt_key,
                          FromHex(next_receipt_key_hex, "--next-receipt-key"));
  if (!next_receipt_key.empty() && (next_receipt_key.size() != crypto::kSigningPublicKeyBytes ||
                                    next_receipt_key == receipt_key)) {
    return absl::InvalidArgumentError(
        "--next-receipt-key is 64 hex characters, and not the current receipt key");
  }
  if (!crypto::ParseVkey(log_vkey).ok()) {
    return absl::InvalidArgumentError("--log-key is not a note vkey (name+hash+key)");
  }
  if (!next_log_vkey.empty() &&
      (!crypto::ParseVkey(next_log_vkey).ok() || next_log_vkey == log_vkey)) {
    return absl::InvalidArgumentError(
        "--next-log-key is a note vkey (name+hash+key), and not the current log key");
  }
  TEMOIN_ASSIGN_OR_RETURN(AdminSession session, SignInAsAdmin(vault));
  const std::string& org_public_key = session.profile.org_public_key();
  // The server's statement may be newer than this device's (another admin certified).
  v1::GetSettingsResponse settings;
  TEMOIN_RETURN_IF_ERROR(
      FromGrpc(session.connection->sync().GetSettings(session.connection->NewContext().get(),
                                                      v1::GetSettingsRequest(), &settings),
               session.connection->address()));
  if (settings.has_server_keys()) {
    TEMOIN_RETURN_IF_ERROR(StoreServerKeyStatement(vault, settings.server_keys(), org_public_key));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::optional<HeldServerKeys> held,
                          LoadServerKeys(vault, org_public_key));
  TEMOIN_RETURN_IF_ERROR(
      CheckAgainstWhatThisDeviceSaw(vault, session.profile, held, receipt_key, log_vkey));
  TEMOIN_ASSIGN_OR_RETURN(crypto::ServerKeys keys,
                          NextServerKeyStatement(held, receipt_key, next_receipt_key, log_vkey,
                                                 next_log_vkey, SystemClock::Get().NowSeconds()));
  TEMOIN_ASSIGN_OR_RETURN(std::string body, crypto::FormatServerKeys(keys));
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey org_key,
                          crypto::SigningKey::FromSecretKey(session.profile.org_secret_key()));
  v1::CertifyServerKeysRequest request;
  request.mutable_statement()->set_body(body);
  request.mutable_statement()->set_org_signature(
      org_key.Sign(crypto::kServerKeysContext, request.statement().body()));
  v1::CertifyServerKeysResponse response;
  TEMOIN_RETURN_IF_ERROR(FromGrpc(session.connection->admin().CertifyServerKeys(
                                      session.connection->NewContext().get(), request, &response),
                                  session.connection->address()));
  TEMOIN_RETURN_IF_ERROR(StoreServerKeyStatement(vault, request.statement(), org_public_key));
  return body;
}

}  // namespace temoin::client

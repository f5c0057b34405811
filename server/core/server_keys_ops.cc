// Core::CertifyServerKeys: the org-signed statement of which receipt and log keys are
// this server's (crypto/server_keys.h), stored for devices to pull at sync.
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/keys.h"
#include "crypto/server_keys.h"
#include "server/core/core.h"

namespace temoin::server {
namespace {

// The server's own keys must be in the statement, and current: a statement that left
// them out would make every device refuse this server's receipts and checkpoints.
absl::Status CheckListsCurrentKeys(const crypto::ServerKeys& keys, absl::string_view receipt_key,
                                   absl::string_view log_vkey) {
  const crypto::CertifiedKey* receipt = keys.FindReceiptKey(receipt_key);
  if (receipt == nullptr || !receipt->current()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the statement does not list this server's receipt key ", ToHex(receipt_key),
                     " as current (temoin-server keys show prints it)"));
  }
  const crypto::CertifiedKey* log = keys.FindLogKey(log_vkey);
  if (log == nullptr || !log->current()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the statement does not list this server's log key ", log_vkey, " as current"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::CertifyServerKeysResponse> Core::CertifyServerKeys(
    const Session& session, const v1::CertifyServerKeysRequest& request) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  TEMOIN_ASSIGN_OR_RETURN(v1::ServerConfig config, registry_.Config());
  const v1::ServerKeyStatement& statement = request.statement();
  TEMOIN_ASSIGN_OR_RETURN(crypto::ServerKeys certified,
                          crypto::VerifyServerKeys(statement.body(), statement.org_signature(),
                                                   config.org_public_key()));
  TEMOIN_ASSIGN_OR_RETURN(std::string log_vkey, log_.Vkey());
  TEMOIN_RETURN_IF_ERROR(CheckListsCurrentKeys(certified, receipt_public_key_, log_vkey));
  TEMOIN_RETURN_IF_ERROR(
      audit_.CommitChecked([&](WriteBatch& batch, std::vector<AuditEvent>& events) {
        // Under the chain's lock: two admins certifying at once cannot put the older back.
        TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::ServerKeyStatement> held,
                                registry_.ServerKeyStatement());
        if (held.has_value()) {
          absl::StatusOr<crypto::ServerKeys> held_keys = crypto::ParseServerKeys(held->body());
          if (held_keys.ok() && held_keys->issued > certified.issued) {
            return absl::FailedPreconditionError(
                "a newer server-key statement is already stored; certify again from it");
          }
        }
        batch.Put(keys::ServerKeyStatement(), statement.SerializeAsString());
        events.push_back({session.device_id(), "server-keys.certify",
                          crypto::Hash256(crypto::kServerKeysContext, statement.body()), ""});
        return absl::OkStatus();
      }));
  return v1::CertifyServerKeysResponse();
}

}  // namespace temoin::server

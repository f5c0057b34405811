#ifndef TEMOIN_CLIENT_CORE_SERVER_KEYS_STATE_H_
#define TEMOIN_CLIENT_CORE_SERVER_KEYS_STATE_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/vault/vault.h"
#include "crypto/server_keys.h"
#include "temoin/v1/identity.pb.h"

// The org-signed server-key statement a device holds (crypto/server_keys.h), kept at
//   settings/server_keys   ServerKeyStatement, verified against the pinned org key
// Until a device holds one it trusts, as before, the receipt key pinned at enrolment
// and the log key that receipt key signs. Once it holds one, it accepts receipts and
// checkpoints only under keys the statement certifies.
namespace temoin::client {

inline constexpr char kServerKeysName[] = "server_keys";

struct HeldServerKeys {
  v1::ServerKeyStatement statement;
  crypto::ServerKeys keys;
};

// The statement held (checked again against `org_public_key`), or none yet.
absl::StatusOr<std::optional<HeldServerKeys>> LoadServerKeys(Vault& vault,
                                                             absl::string_view org_public_key);

// Keeps `statement` (durably) when the organisation key signed it and it is not older
// than the one held; an older one changes nothing (a server restored from a backup may
// send it). kUnauthenticated for a statement the organisation did not sign.
absl::Status StoreServerKeyStatement(Vault& vault, const v1::ServerKeyStatement& statement,
                                     absl::string_view org_public_key);

// With a statement held: kUnauthenticated unless `receipt_public_key` is certified and
// current (a device seals nothing more to a server whose receipt key the organisation
// retired or never certified). Without one: OK (the pinned key is trusted as before).
absl::Status CheckReceiptKeyCertified(Vault& vault, absl::string_view org_public_key,
                                      absl::string_view receipt_public_key);

// With a statement held: kUnauthenticated unless `vkey` is a certified log key. A retired
// log key is still the server's: its checkpoints are the tree's past.
absl::Status CheckLogKeyCertified(Vault& vault, absl::string_view org_public_key,
                                  absl::string_view vkey);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_SERVER_KEYS_STATE_H_

#ifndef TEMOIN_CLIENT_CORE_SERVER_KEYS_STATE_H_
#define TEMOIN_CLIENT_CORE_SERVER_KEYS_STATE_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/vault/vault.h"
#include "crypto/server_keys.h"
#include "temoin/v1/identity.pb.h"
#include "temoin/v1/record.pb.h"

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

// A receipt-key rotation, as the device follows it: the server names the key it signs
// with now (GetSettingsResponse.receipt_key_id). When that is not the key this device
// pinned and the statement held certifies it as current, the device pins it (in the
// vault and in `profile`), so that everything signed from now on is checked under it.
// kUnauthenticated, saying what to do, when the organisation has not certified it. An
// empty `key_id` (no statement stored, or a server before rotation) changes nothing.
absl::Status FollowReceiptKey(Vault& vault, v1::Profile& profile, absl::string_view key_id);

// The receipt keys a device checks receipts under: the key it pinned (at enrolment, or
// when it followed a rotation) and, once it holds the organisation's statement, every
// receipt key that statement certifies, a retired one only for the hours before its
// retirement. Receipts name their key (server_key_id), so a receipt signed before a
// rotation (a duplicate answered from the store, a record fetched by a reviewer) still
// checks after it.
class ReceiptKeyRing {
 public:
  static absl::StatusOr<ReceiptKeyRing> Load(Vault& vault, const v1::Profile& profile);

  // The public key of `key_id` for a receipt of `hour`, or kUnauthenticated.
  absl::StatusOr<std::string> KeyFor(absl::string_view key_id, int64_t hour) const;
  // The same for a receipt, named by its body (kUnauthenticated when it does not parse).
  absl::StatusOr<std::string> KeyFor(const v1::Receipt& receipt) const;

 private:
  std::string pinned_, pinned_id_;
  std::optional<crypto::ServerKeys> certified_;
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_SERVER_KEYS_STATE_H_

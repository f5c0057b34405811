#ifndef TEMOIN_CRYPTO_SERVER_KEYS_H_
#define TEMOIN_CRYPTO_SERVER_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// The server-key statement (docs/evidence-format.md, "Server-key statement"): which
// receipt keys and transparency-log keys are the server's, each with its validity,
// signed by the organisation key on an admin's device (temoin admin certify-server-keys).
// A device or a verifier that holds the organisation key then needs no trust in the
// server to know that a receipt or a checkpoint is the server's. The body is text, so
// that a verifier written from the format document reads it with a few lines of code:
//
//   temoin-server-keys/v1\n
//   issued <unix seconds>\n
//   receipt <64 hex: Ed25519 public key> <from> <until or ->\n   (one or more)
//   log <note vkey> <from> <until or ->\n                        (one or more)
//
// Decimals have no sign or leading zero; hex is lower case; keys appear once each,
// receipt lines before log lines. The org signature is over the body bytes with
// context kServerKeysContext. A key whose "until" is "-" is current.
namespace temoin::crypto {

inline constexpr absl::string_view kServerKeysContext = "temoin/server-keys/v1";
inline constexpr absl::string_view kServerKeysHeader = "temoin-server-keys/v1";
// GetSettingsRequest.server_keys_hash: Hash256 of the body under this context.
inline constexpr absl::string_view kServerKeysHashContext = "temoin/server-keys-hash/v1";

struct CertifiedKey {
  std::string key;  // receipt: 32 raw bytes; log: the vkey text
  int64_t from = 0;
  std::optional<int64_t> until;  // set once retired
  bool current() const { return !until.has_value(); }
  // Whether the hour starting at `hour` (a receipt's received_at) overlaps [from, until):
  // receipts name only their hour, so that is as precise as the check can be.
  bool CoversHour(int64_t hour) const;
};

struct ServerKeys {
  int64_t issued = 0;
  std::vector<CertifiedKey> receipt_keys;
  std::vector<CertifiedKey> log_keys;

  const CertifiedKey* FindReceiptKey(absl::string_view public_key) const;
  const CertifiedKey* FindLogKey(absl::string_view vkey) const;
};

// The canonical body text. kInvalidArgument for an empty list, a duplicate key, a key
// of the wrong form or an "until" before its "from".
absl::StatusOr<std::string> FormatServerKeys(const ServerKeys& keys);

// Untrusted text; accepted only when it is exactly what FormatServerKeys writes.
absl::StatusOr<ServerKeys> ParseServerKeys(absl::string_view body);

// Parses `body` once its org signature checks. kUnauthenticated for a bad signature,
// kInvalidArgument for a body that does not parse.
absl::StatusOr<ServerKeys> VerifyServerKeys(absl::string_view body, absl::string_view signature,
                                            absl::string_view org_public_key);

// Fingerprint shown to admins: the first 16 hex characters of SHA-256 of the key
// (the raw receipt key, or the vkey text), grouped by four.
std::string KeyFingerprint(absl::string_view key);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_SERVER_KEYS_H_

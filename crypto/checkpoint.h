#ifndef TEMOIN_CRYPTO_CHECKPOINT_H_
#define TEMOIN_CRYPTO_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/keys.h"

// Signed tree heads of the server's transparency log, in the formats other tools read:
// c2sp.org/tlog-checkpoint (origin, size, base64 root, extension lines) inside a
// c2sp.org/signed-note with an Ed25519 signature (type 0x01), and the verifier key in
// the note "vkey" form <name>+<hex key id>+<base64(0x01 || public key)>.
namespace temoin::crypto {

struct Checkpoint {
  std::string origin;  // also the key name
  uint64_t size = 0;
  std::string root;                     // 32 bytes
  std::vector<std::string> extensions;  // non-empty lines, no newline
};

// The extension line that commits to the audit chain's head (server/core/audit_log.h):
// "temoin-audit <size> <base64 hash>". The audit log cannot be rewritten apart from the
// record log.
std::string AuditExtension(uint64_t audit_size, absl::string_view audit_hash);

// The verifier of one log key.
struct NoteVerifier {
  std::string name;
  uint32_t key_id = 0;
  std::string public_key;  // Ed25519, 32 bytes
};

// SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian (signed-note's key ID).
uint32_t NoteKeyId(absl::string_view name, absl::string_view public_key);
std::string FormatVkey(absl::string_view name, absl::string_view public_key);
// Untrusted text. kInvalidArgument naming what is wrong.
absl::StatusOr<NoteVerifier> ParseVkey(absl::string_view vkey);

// The note text of `checkpoint` (ends in a newline). kInvalidArgument for an origin or
// extension that would not round-trip (empty, newline, control characters).
absl::StatusOr<std::string> CheckpointText(const Checkpoint& checkpoint);

// The signed note: text, a blank line, "— <origin> base64(key id || signature)".
absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& checkpoint, const SigningKey& key);

// Checks a signed note (untrusted) and returns its text: at least one signature line of
// `verifier`'s key, all of which verify; other keys' lines are ignored.
absl::StatusOr<std::string> VerifyNote(absl::string_view note, const NoteVerifier& verifier);

// Checks a signed checkpoint note against `verifier` (untrusted `note`): well-formed,
// signed by that key (other signatures are ignored, as signed-note says), origin equal
// to the key name. kInvalidArgument for a malformed note, kUnauthenticated when no
// signature of that key verifies.
absl::StatusOr<Checkpoint> VerifyCheckpoint(absl::string_view note, const NoteVerifier& verifier);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_CHECKPOINT_H_

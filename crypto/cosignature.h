#ifndef TEMOIN_CRYPTO_COSIGNATURE_H_
#define TEMOIN_CRYPTO_COSIGNATURE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/keys.h"

// Witness cosignatures of checkpoints, c2sp.org/tlog-cosignature v1 (Ed25519, signature
// type 0x04). A cosignature is a signed-note signature line over the checkpoint text:
//
//   — <cosigner name> base64(key id (4) || timestamp u64 big-endian || Ed25519 signature)
//
// where the signature covers "cosignature/v1\ntime <timestamp>\n" followed by the whole
// checkpoint text (extension lines included, signature lines not), and
//   key id = SHA-256(<name> || "\n" || 0x04 || public key)[:4].
// The message does not commit to the cosigner's name, so one key must serve one name.
// Its verifier key is the note vkey with type 0x04: <name>+<hex key id>+base64(0x04 || key).
namespace temoin::crypto {

inline constexpr unsigned char kCosignatureV1Type = 0x04;

struct CosignerVerifier {
  std::string name;
  uint32_t key_id = 0;
  std::string public_key;  // Ed25519, 32 bytes
};

uint32_t CosignerKeyId(absl::string_view name, absl::string_view public_key);
std::string FormatCosignerVkey(absl::string_view name, absl::string_view public_key);
// Untrusted text. kInvalidArgument naming what is wrong (not a vkey, not of type 0x04,
// a key id that does not match the name and key).
absl::StatusOr<CosignerVerifier> ParseCosignerVkey(absl::string_view vkey);

// The signed message: "cosignature/v1\ntime <timestamp>\n" || checkpoint_text.
std::string CosignedMessage(uint64_t timestamp, absl::string_view checkpoint_text);

// One signature line (ending in a newline) by `key` under `name`, over `checkpoint_text`
// (the note text, ending in a newline, without signature lines). kInvalidArgument for a
// name that is not a note key name, a text that does not end in a newline, or a
// timestamp of 0 or at least 2^63 (the spec's bounds).
absl::StatusOr<std::string> Cosign(absl::string_view checkpoint_text, absl::string_view name,
                                   const SigningKey& key, uint64_t timestamp);

// The text and the signature lines (without their newlines) of a signed note (untrusted):
// the text ends at the last blank line. kInvalidArgument for a note with no blank line
// or one not ending in a newline.
struct NoteParts {
  std::string text;
  std::vector<std::string> signature_lines;
};
absl::StatusOr<NoteParts> SplitNote(absl::string_view note);

// A cosignature that verified: who, and when it says it signed.
struct VerifiedCosignature {
  std::string name;
  uint64_t timestamp = 0;
};

// Checks every line of `signature_lines` whose name and key id are one of `cosigners`'
// against `checkpoint_text`; other lines are ignored (the log's own signature, witnesses
// not configured). Returns one entry per cosigner with a valid line. A line of a known
// cosigner that fails to verify (forged, or over another checkpoint) is
// kUnauthenticated "cosignature of <name> does not verify": signed-note says such a note
// is to be refused whole. All inputs untrusted.
absl::StatusOr<std::vector<VerifiedCosignature>> VerifyCosignatures(
    absl::string_view checkpoint_text, absl::Span<const std::string> signature_lines,
    absl::Span<const CosignerVerifier> cosigners);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_COSIGNATURE_H_

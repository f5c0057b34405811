#ifndef TEMOIN_CRYPTO_ENVELOPE_H_
#define TEMOIN_CRYPTO_ENVELOPE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/keys.h"
#include "crypto/secret_buffer.h"
#include "temoin/v1/record.pb.h"
#include "temoin/v1/testimony.pb.h"

// The record envelope of DESIGN.md:
//   body       = XChaCha20-Poly1305(data_key, nonce, Padmé(zstd(Testimony)),
//                                   AD = Hash256("temoin/record-ad/v1", header)),
//                the zstd frame without its 4-byte magic number (body_codec.h; bodies
//                sealed with it still open)
//   wrapped[i] = crypto_box_seal(data_key || record_id, recipient_pk[i]), for the
//                recipient header.recipients[i]; its key_id and epoch fields are left
//                empty (0) by SealRecord, and older records carry copies of the header's
//                (both forms open; any other value is refused)
//   digest     = BLAKE2b-256 over "temoin/record-digest/v1" || 0x00, then header, nonce
//                and ciphertext each as u64be(length) || bytes, then u64be(number of
//                wrapped keys) and for each wrapped key, in order: u64be-length-prefixed
//                key_id (as sent: empty when left out), u32be epoch, u64be-length-prefixed
//                sealed
//   signature  = device Ed25519 over digest, context "temoin/record/v1" (SigningKey::Sign)
namespace temoin::crypto {

inline constexpr uint32_t kRecordFormatVersion = 1;
inline constexpr size_t kRecordIdBytes = 16;
inline constexpr size_t kProjectIdBytes = 16;
inline constexpr size_t kDeviceIdBytes = 16;
inline constexpr size_t kDigestBytes = 32;
inline constexpr size_t kNonceBytes = 24;
// Largest padded plaintext body accepted anywhere (attachments travel separately).
inline constexpr size_t kMaxBodyBytes = 1 << 20;
inline constexpr size_t kMaxHeaderBytes = 16 << 10;
inline constexpr size_t kMaxRecipients = 8;
inline constexpr size_t kMaxAttachments = 64;

struct Recipient {
  std::string public_key;  // X25519, 32 bytes
  uint32_t epoch = 0;
};

struct SealParams {
  std::string record_id;  // 16 bytes; empty: a random one is drawn
  uint64_t device_seq = 0;
  std::string project_id;             // 16 bytes
  std::string device_id;              // 16 bytes
  std::vector<Recipient> recipients;  // 1..kMaxRecipients
  std::vector<v1::AttachmentRef> attachments;
  // RecordHeader.body_dictionary: 1 (data/body-dictionary-v1.zdict) by default; 0 none.
  uint32_t body_dictionary = 1;
};

// Seals `testimony` for the recipients and signs it with the device key. The data key
// and every plaintext temporary are wiped before return; the sealing device cannot open
// the result. kInvalidArgument on bad ids or recipients, or a body over kMaxBodyBytes.
absl::StatusOr<v1::Envelope> SealRecord(const v1::Testimony& testimony, const SealParams& params,
                                        const SigningKey& device_key);

// The record's content digest (32 bytes); see the construction above.
std::string RecordDigest(const v1::Envelope& envelope);

struct VerifiedRecord {
  v1::RecordHeader header;  // parsed from envelope.header(), never re-serialized
  std::string digest;
};

// Checks structure (sizes, header parse, ids, counts) and the device signature; does not
// decrypt. `envelope` untrusted. kInvalidArgument (field named) for malformed input;
// kUnauthenticated "record signature verification failed" for a bad signature.
absl::StatusOr<VerifiedRecord> VerifyRecord(const v1::Envelope& envelope,
                                            absl::string_view device_public_key);

// The commitment: header, digest and signature (~200 bytes).
v1::Commitment MakeCommitment(const v1::Envelope& envelope);

// Opens the body with the recipient key whose key id is in the header. Does not check
// the signature: call VerifyRecord first. `envelope` untrusted. kNotFound when no
// wrapped key is for `recipient`; kUnauthenticated "authentication failed" when the
// wrapped key or the body does not open, or the wrapped key names another record;
// kDataLoss when the opened body does not decode.
absl::StatusOr<v1::Testimony> OpenRecord(const v1::Envelope& envelope, const BoxKeyPair& recipient);

// The record's own data key (32 bytes), unwrapped with `recipient`: what a reviewer
// discloses so that a court can open this record and no other (evidence packages).
// Errors as OpenRecord's.
absl::StatusOr<SecretBuffer> UnwrapDataKey(const v1::Envelope& envelope,
                                           const BoxKeyPair& recipient);

// The serialized Testimony sealed in the body, exactly as sealed (decrypted with
// `data_key`, unpadded, decompressed). Does not check the signature. `envelope` and
// `data_key` untrusted. kInvalidArgument for a malformed envelope or key length;
// kUnauthenticated "authentication failed" when the key does not open the body; kDataLoss
// when the body does not decode. The caller wipes the result.
absl::StatusOr<std::string> OpenBodyWithDataKey(const v1::Envelope& envelope,
                                                const SecretBuffer& data_key);

// The zstd dictionary RecordHeader.body_dictionary `id` names (data/body-dictionary-v1.zdict
// for 1), as built in; empty for 0 (none) or an unknown id. Public data: evidence packages
// carry it so that third-party verifiers can decompress a disclosed body.
absl::string_view BodyDictionary(uint32_t id);

// Padmé length for `length` bytes (Nikitin et al.): at most ~12% overhead, leaks
// O(log log L) bits of the length. Exposed for tests and size estimates.
uint64_t PadmeLength(uint64_t length);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_ENVELOPE_H_

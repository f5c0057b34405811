#ifndef TEMOIN_CRYPTO_ENVELOPE_INTERNAL_H_
#define TEMOIN_CRYPTO_ENVELOPE_INTERNAL_H_

// Internal to temoin::crypto: the one sealing routine behind SealRecord and the
// known-answer seam in envelope_testing.h. Every random choice of a seal goes through
// SealRandomness, so the production and fixed-randomness paths share all the format
// code and cannot drift apart.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/envelope.h"
#include "crypto/secret_buffer.h"

namespace temoin::crypto::internal {

class SealRandomness {
 public:
  virtual ~SealRandomness() = default;
  // Writes a fresh 32-byte data key to `out` (which is inside a SecretBuffer: each
  // sodium_malloc costs a few syscalls, so a seal uses one buffer for key and record id).
  virtual void FillDataKey(uint8_t* out) = 0;
  // A fresh 24-byte XChaCha20 nonce.
  virtual std::string Nonce() = 0;
  // crypto_box_seal(plaintext, recipient_public_key) for recipient number `index`
  // (recipient keys are already checked to be 32 bytes).
  virtual absl::StatusOr<std::string> SealBox(absl::string_view plaintext,
                                              absl::string_view recipient_public_key,
                                              size_t index) = 0;
};

// SealRecord with the randomness drawn from `randomness` (not owned; used during the
// call only). `params.record_id` must already be set.
absl::StatusOr<v1::Envelope> SealRecordWith(const v1::Testimony& testimony,
                                            const SealParams& params, const SigningKey& device_key,
                                            SealRandomness& randomness);

}  // namespace temoin::crypto::internal

#endif  // TEMOIN_CRYPTO_ENVELOPE_INTERNAL_H_

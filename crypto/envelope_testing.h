#ifndef TEMOIN_CRYPTO_ENVELOPE_TESTING_H_
#define TEMOIN_CRYPTO_ENVELOPE_TESTING_H_

#include <string>
#include <vector>

#include "crypto/envelope.h"

// Test-only seam: fixed randomness so that known-answer tests pin the format.
// Never linked into the binaries (target temoin::crypto_testing).
namespace temoin::crypto::testing {

struct FixedSealRandomness {
  std::string data_key;                     // 32 bytes
  std::string nonce;                        // 24 bytes
  std::vector<std::string> ephemeral_seeds; // 32 bytes per recipient (crypto_box_seed_keypair)
};

absl::StatusOr<v1::Envelope> SealRecordWithFixedRandomness(
    const v1::Testimony& testimony, const SealParams& params, const SigningKey& device_key,
    const FixedSealRandomness& randomness);

}  // namespace temoin::crypto::testing

#endif  // TEMOIN_CRYPTO_ENVELOPE_TESTING_H_

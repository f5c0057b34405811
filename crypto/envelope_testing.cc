#include "crypto/envelope_testing.h"

#include <sodium.h>

#include <cstring>

#include "common/status_macros.h"
#include "crypto/bytes.h"
#include "crypto/envelope_internal.h"

namespace temoin::crypto::testing {
namespace {

using internal::Bytes;
using internal::MutableBytes;

// crypto_box_seal with the ephemeral key pair from a seed. This is libsodium 1.0.18's
// construction step for step (crypto_box_seal.c): epk || crypto_box_easy(m, nonce, pk,
// esk) with nonce = BLAKE2b-192(epk || pk), so crypto_box_seal_open opens it.
absl::StatusOr<std::string> SealBoxWithSeed(absl::string_view plaintext,
                                            absl::string_view recipient_public_key,
                                            absl::string_view seed) {
  if (seed.size() != crypto_box_SEEDBYTES) {
    return absl::InvalidArgumentError("ephemeral seed has wrong length");
  }
  std::string sealed(crypto_box_SEALBYTES + plaintext.size(), '\0');
  unsigned char* epk = MutableBytes(sealed);
  unsigned char esk[crypto_box_SECRETKEYBYTES];
  crypto_box_seed_keypair(epk, esk, Bytes(seed));
  unsigned char nonce[crypto_box_NONCEBYTES];
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, sizeof nonce);
  crypto_generichash_update(&state, epk, crypto_box_PUBLICKEYBYTES);
  crypto_generichash_update(&state, Bytes(recipient_public_key), recipient_public_key.size());
  crypto_generichash_final(&state, nonce, sizeof nonce);
  const int rc = crypto_box_easy(epk + crypto_box_PUBLICKEYBYTES, Bytes(plaintext),
                                 plaintext.size(), nonce, Bytes(recipient_public_key), esk);
  sodium_memzero(esk, sizeof esk);
  if (rc != 0) return absl::InvalidArgumentError("recipient public key is invalid");
  return sealed;
}

class FixedRandomness final : public internal::SealRandomness {
 public:
  explicit FixedRandomness(const FixedSealRandomness& fixed) : fixed_(fixed) {}
  void FillDataKey(uint8_t* out) override {
    std::memcpy(out, fixed_.data_key.data(), fixed_.data_key.size());
  }
  std::string Nonce() override { return fixed_.nonce; }
  absl::StatusOr<std::string> SealBox(absl::string_view plaintext,
                                      absl::string_view recipient_public_key,
                                      size_t index) override {
    return SealBoxWithSeed(plaintext, recipient_public_key, fixed_.ephemeral_seeds[index]);
  }

 private:
  const FixedSealRandomness& fixed_;
};

}  // namespace

absl::StatusOr<v1::Envelope> SealRecordWithFixedRandomness(const v1::Testimony& testimony,
                                                           const SealParams& params,
                                                           const SigningKey& device_key,
                                                           const FixedSealRandomness& randomness) {
  if (randomness.data_key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
    return absl::InvalidArgumentError("data_key has wrong length");
  }
  if (randomness.nonce.size() != kNonceBytes) {
    return absl::InvalidArgumentError("nonce has wrong length");
  }
  if (randomness.ephemeral_seeds.size() != params.recipients.size()) {
    return absl::InvalidArgumentError("ephemeral_seeds count does not match recipients");
  }
  if (params.record_id.empty()) {
    return absl::InvalidArgumentError("record_id must be set for fixed randomness");
  }
  FixedRandomness fixed(randomness);
  return internal::SealRecordWith(testimony, params, device_key, fixed);
}

}  // namespace temoin::crypto::testing

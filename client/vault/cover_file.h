#ifndef TEMOIN_CLIENT_VAULT_COVER_FILE_H_
#define TEMOIN_CLIENT_VAULT_COVER_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_buffer.h"
#include "temoin/v1/client_store.pb.h"

// vault.cover (issue 12): a file of exactly kCoverFileBytes beside vault.key, made with
// every vault and rewritten after every sync. With a duress passphrase set it is
// crypto_box_seal(length || CoverEnrolment || zero padding, duress public key); without
// one it is fresh random bytes. A sealed box is indistinguishable from random bytes to
// whoever lacks the secret key, so the file's presence, size and write pattern say
// nothing about whether duress is set. Only slot 1 of vault.key (the duress passphrase)
// seals the secret key that opens it; the master key does not.
namespace temoin::client {

inline constexpr size_t kCoverFileBytes = 256 * 1024;

std::string CoverFilePath(const std::string& home);

// Seals `enrolment` to `public_key` (32 bytes), padded to kCoverFileBytes.
// kResourceExhausted when it does not fit; kInvalidArgument on a bad key.
absl::StatusOr<std::string> SealCover(const v1::CoverEnrolment& enrolment,
                                      absl::string_view public_key);
// kCoverFileBytes from the system CSPRNG.
std::string RandomCover();
// The sealed size a CoverEnrolment may have at most.
size_t CoverCapacity();
// `cover` is untrusted. kUnauthenticated when `secret_key` does not open it (random
// bytes, another key); kDataLoss when it opens but is malformed.
absl::StatusOr<v1::CoverEnrolment> OpenCover(absl::string_view cover,
                                             const crypto::SecretBuffer& secret_key);
// Replaces HOME/vault.cover atomically: a temporary file, fsync, rename, fsync of the
// directory. The old file's blocks are ciphertext or noise, so leaving them is safe.
absl::Status WriteCoverFile(const std::string& home, absl::string_view cover);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_VAULT_COVER_FILE_H_

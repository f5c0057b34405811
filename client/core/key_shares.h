#ifndef TEMOIN_CLIENT_CORE_KEY_SHARES_H_
#define TEMOIN_CLIENT_CORE_KEY_SHARES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/keys.h"

// M-of-N shares of the organisation key (Shamir over GF(2^8), libgfshare), as text files
// a trustee can keep on paper or a USB stick:
//   temoin-org-key-share v1
//   org-public-key <64 hex>
//   threshold <K>
//   index <I>
//   share <128 hex>
//   checksum <32 hex>      BLAKE2b-256 of the lines above, first 16 bytes
// libgfshare has no integrity check of its own: the checksum catches a damaged file, and
// the rebuilt key is checked against the organisation's public key.
namespace temoin::client {

// kInvalidArgument unless 2 <= threshold <= shares <= 255.
absl::StatusOr<std::vector<std::string>> SplitOrgKey(const crypto::SigningKey& org_key, int shares,
                                                     int threshold);

// Rebuilds the key from share files' contents (untrusted). Clear refusals:
// kDataLoss "share N is damaged (checksum mismatch)", kInvalidArgument when shares
// belong to different keys or repeat an index, kFailedPrecondition "too few shares:
// need K, have M", kUnauthenticated when the rebuilt key does not match the public key
// in the shares or `expected_public_key` (when not empty).
absl::StatusOr<crypto::SigningKey> RecoverOrgKey(const std::vector<std::string>& share_files,
                                                 absl::string_view expected_public_key);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_KEY_SHARES_H_

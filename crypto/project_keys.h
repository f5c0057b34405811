#ifndef TEMOIN_CRYPTO_PROJECT_KEYS_H_
#define TEMOIN_CRYPTO_PROJECT_KEYS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/keys.h"
#include "temoin/v1/identity.pb.h"

// Project recipient keys (signed by the organisation key) and grants (epoch secrets
// sealed to a reviewer's own X25519 key).
namespace temoin::crypto {

// Context "temoin/project-key/v1".
v1::SignedProjectKey SignProjectKey(const v1::ProjectKeyBody& body, const SigningKey& org_key);

// `signed_key` untrusted. kUnauthenticated "project key signature verification failed"
// unless signed by `org_public_key`; kInvalidArgument when the body is malformed.
absl::StatusOr<v1::ProjectKeyBody> VerifyProjectKey(const v1::SignedProjectKey& signed_key,
                                                    absl::string_view org_public_key);

// crypto_box_seal(secret || project_id || epoch_be32, reviewer_box_public_key).
absl::StatusOr<std::string> WrapEpochSecret(const BoxKeyPair& epoch_key,
                                            absl::string_view project_id, uint32_t epoch,
                                            absl::string_view reviewer_box_public_key);

// `sealed` untrusted. Opens with the reviewer's key and checks that it names
// `project_id` and `epoch` and that its public key equals `expected_public_key`
// (from the org-signed ProjectKeyBody). kUnauthenticated on any mismatch.
absl::StatusOr<BoxKeyPair> UnwrapEpochSecret(absl::string_view sealed,
                                             const BoxKeyPair& reviewer,
                                             absl::string_view project_id, uint32_t epoch,
                                             absl::string_view expected_public_key);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_PROJECT_KEYS_H_

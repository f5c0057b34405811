#ifndef TEMOIN_CLIENT_CORE_GRANT_BOOK_H_
#define TEMOIN_CLIENT_CORE_GRANT_BOOK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/vault/vault.h"
#include "crypto/device_certificate.h"
#include "crypto/keys.h"
#include "temoin/v1/identity.pb.h"

// The admin's own book of grants, in its vault (grantbook/<project>\0<reviewer id>, each
// a GrantRecord signed by the organisation key): `grant` adds, `ungrant` and `revoke`
// remove. Rotations wrap epoch secrets only to the reviewers in this book, with the keys
// recorded here, and revocations rotate the projects this book names: the server's
// lists are compared with it, never trusted. Not thread-safe (one command at a time).
namespace temoin::client {

inline constexpr char kGrantBookNs[] = "grantbook";

// Adds (or replaces) the grant of `project` to the certified reviewer.
absl::Status RecordGrant(Vault& vault, const crypto::SigningKey& org_key,
                         const std::string& project, const std::string& project_id,
                         const crypto::CertifiedDevice& reviewer, int64_t now);
// Removes it; no error when there was none.
absl::Status ForgetGrant(Vault& vault, const std::string& project, const std::string& reviewer_id);

// Every grant of `project` in the book. kDataLoss when a record does not verify
// against `org_public_key` (the vault was tampered with or mixed up).
absl::StatusOr<std::vector<v1::GrantRecordBody>> GrantsOf(Vault& vault,
                                                          absl::string_view org_public_key,
                                                          const std::string& project);
// The projects the book says `reviewer_id` is granted.
absl::StatusOr<std::vector<std::string>> ProjectsGrantedTo(Vault& vault,
                                                           absl::string_view org_public_key,
                                                           const std::string& reviewer_id);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_GRANT_BOOK_H_

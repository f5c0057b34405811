#ifndef TEMOIN_CRYPTO_DEVICE_CERTIFICATE_H_
#define TEMOIN_CRYPTO_DEVICE_CERTIFICATE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/keys.h"
#include "temoin/v1/identity.pb.h"

// Device certificates: the chain organisation key -> invite -> device that lets anyone
// holding the organisation's public key (a reviewer, an admin) know a device's keys,
// role and project without trusting the server (docs/architecture.md, "Device
// certificates"). Also the admin's signed grant records. No I/O.
namespace temoin::crypto {

inline constexpr absl::string_view kInviteAuthContext = "temoin/invite-auth/v1";
inline constexpr absl::string_view kDeviceCertContext = "temoin/device-cert/v1";
inline constexpr absl::string_view kGrantRecordContext = "temoin/grant-record/v1";

// What a verified certificate says.
struct CertifiedDevice {
  std::string device_id;  // 16 bytes, the hash of the two keys
  std::string signing_public_key;
  std::string box_public_key;
  v1::Role role = v1::ROLE_UNSPECIFIED;
  std::string project;
  std::string project_id;  // 16 bytes, empty for admins
  int64_t invite_expires_at = 0;
};

// The 16-byte invite token hash the authorisation carries and the audit log names.
std::string InviteTokenHash(absl::string_view token);

// Signed on the admin's device. The body is signed as serialized, never re-serialized.
v1::InviteAuthorisation SignInviteAuthorisation(const v1::InviteAuthorisationBody& body,
                                                const SigningKey& org_key);

// `authorisation` untrusted. kUnauthenticated "invite authorisation verification failed"
// unless signed by `org_public_key`; kInvalidArgument when malformed.
absl::StatusOr<v1::InviteAuthorisationBody> VerifyInviteAuthorisation(
    const v1::InviteAuthorisation& authorisation, absl::string_view org_public_key);

// Made by the enrolling device: its keys under `authorisation`, signed by the invite key
// (from the code) and by the device's own key.
v1::DeviceCertificate IssueDeviceCertificate(const v1::InviteAuthorisation& authorisation,
                                             const SigningKey& invite_key,
                                             const SigningKey& device_key,
                                             absl::string_view box_public_key);

// `certificate` untrusted. Checks the organisation's signature on the authorisation, the
// invite key's and the device's signatures on the body, and that the id is the hash of
// the two keys. Any failure: kUnauthenticated "device certificate verification failed"
// (one fixed message), or kInvalidArgument when it does not parse.
absl::StatusOr<CertifiedDevice> VerifyDeviceCertificate(const v1::DeviceCertificate& certificate,
                                                        absl::string_view org_public_key);

v1::GrantRecord SignGrantRecord(const v1::GrantRecordBody& body, const SigningKey& org_key);
// `record` untrusted (read from a vault that could be rolled back to another org's).
absl::StatusOr<v1::GrantRecordBody> VerifyGrantRecord(const v1::GrantRecord& record,
                                                      absl::string_view org_public_key);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_DEVICE_CERTIFICATE_H_

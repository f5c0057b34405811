#ifndef TEMOIN_CLIENT_SYNC_ADMIN_CLIENT_H_
#define TEMOIN_CLIENT_SYNC_ADMIN_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/sync/connection.h"
#include "client/vault/vault.h"
#include "crypto/device_certificate.h"
#include "temoin/v1/admin.pb.h"
#include "temoin/v1/client_store.pb.h"

// What an admin device does against the server. The organisation key never leaves the
// admin's vault: it signs project keys here, and the server only stores the result.
namespace temoin::client {

// Makes the project's epoch-1 X25519 key on this device, signs it with the
// organisation key, keeps the secret in the vault (and sealed to this device's own key
// on the server), and registers the project. Returns the project id (16 bytes).
absl::StatusOr<std::string> CreateProject(Vault& vault, const std::string& name);

// A signed-in admin device holding the organisation key. kPermissionDenied otherwise.
struct AdminSession {
  v1::Profile profile;
  std::unique_ptr<Connection> connection;
};
absl::StatusOr<AdminSession> SignInAsAdmin(Vault& vault);

// (key_admin.cc) A new key epoch for `project`: made and org-signed here, registered with
// every grant in this vault's grant book re-wrapped to the reviewer's recorded key, then
// kept in the vault. The server's list of grantees must match the book exactly, else
// kFailedPrecondition naming each extra and missing device id (nothing is sent).
// Returns the new epoch.
absl::StatusOr<uint32_t> RotateProjectKey(Vault& vault, const std::string& project);

// Removes the reviewer's grant on the server at once, then rotates the project key so
// that records sealed from now on are closed to it.
absl::StatusOr<uint32_t> UngrantProject(Vault& vault, const std::string& project,
                                        const std::string& reviewer_hex);

// Revokes a device: signs its wipe order with the organisation key, has the server mark
// it revoked (its sessions end at their next call), and rotates every project this
// vault's grant book says it was granted (plus any the server names). When the server
// left out a project the book names, every rotation is still done and the call fails
// with kFailedPrecondition naming it. Returns the projects rotated.
absl::StatusOr<std::vector<std::string>> RevokeDevice(Vault& vault, const std::string& device_hex);

// A one-time enrolment code for `role` in `project`, built here from this device's own
// pins (server address, TLS pin, organisation key) and a token the server registers.
absl::StatusOr<std::string> CreateInviteCode(Vault& vault, v1::Role role,
                                             const std::string& project, int64_t ttl_seconds);

// The role a person names ("monitor", "reviewer", "admin"); kInvalidArgument otherwise.
absl::StatusOr<v1::Role> RoleFromName(absl::string_view name);

// An invite as `temoin invite` and the desk's admin page issue it: the role by name,
// a lifetime in hours (more than 0, at most 720), then CreateInviteCode.
absl::StatusOr<std::string> IssueInvite(Vault& vault, absl::string_view role_name,
                                        const std::string& project, double ttl_hours);

absl::StatusOr<std::vector<v1::DeviceInfo>> ListDevices(Vault& vault);

// Signs the announcement of the server's next TLS key (`pin_hex`: the 64 hex characters
// `temoin-server tls next` printed) with the organisation key and has the server hand it
// to every device at its next sync. This admin device learns it at once.
absl::Status AnnounceNextTlsKey(Vault& vault, const std::string& pin_hex);

// (server_keys_admin.cc) Certifies the server's receipt key (64 hex) and log key (note
// vkey), as the admin read them on the server's machine (temoin-server keys show): signs
// a server-key statement with the organisation key that keeps every key the last one
// listed, makes these current, and has the server hand it to every device. The receipt
// key must be the one this device pinned at enrolment or one the organisation already
// certified as current, and the log key the one it verified checkpoints with (when it
// holds one): a server that shows the admin other keys than it shows devices is caught
// here. Receipt-key rotation: `next_receipt_key_hex` (temoin-server keys next) is
// certified current beside the current key, so devices accept it before the server
// switches; certifying later without it retires every other receipt key (their old
// receipts stay verifiable). `next_log_vkey` does the same for the log key (its old
// checkpoints stay verifiable, and devices check the new ones against them). The log
// key may also be one the organisation already certified as current. Returns the
// statement body signed.
absl::StatusOr<std::string> CertifyServerKeys(Vault& vault, const std::string& receipt_key_hex,
                                              const std::string& log_vkey,
                                              const std::string& next_receipt_key_hex = "",
                                              const std::string& next_log_vkey = "");

// Wraps every epoch secret of `project` to the reviewer's own X25519 key, taken from
// its certificate (which must chain to the organisation key and name a reviewer: a
// device the server made has none), and records the grant in this vault's grant book
// (client/core/grant_book.h). The reviewer is named by device id (32 hex).
absl::Status GrantProject(Vault& vault, const std::string& project,
                          const std::string& reviewer_hex);

// The reviewer's certificate as the server listed it, verified against the organisation
// key: kFailedPrecondition when it has none or is no reviewer, kUnauthenticated when it
// does not verify. Messages name the device.
absl::StatusOr<crypto::CertifiedDevice> CertifiedReviewer(const v1::Profile& profile,
                                                          const v1::DeviceInfo& device);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_ADMIN_CLIENT_H_

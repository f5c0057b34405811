#ifndef TEMOIN_CLIENT_SYNC_ADMIN_CLIENT_H_
#define TEMOIN_CLIENT_SYNC_ADMIN_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/sync/connection.h"
#include "client/vault/vault.h"
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

// (key_admin.cc) A new key epoch for `project`: made and org-signed here, kept in the
// vault first, then registered with every current grant re-wrapped to the reviewer's
// own key (each reviewer's keys checked against its id). Returns the new epoch.
absl::StatusOr<uint32_t> RotateProjectKey(Vault& vault, const std::string& project);

// Removes the reviewer's grant on the server at once, then rotates the project key so
// that records sealed from now on are closed to it.
absl::StatusOr<uint32_t> UngrantProject(Vault& vault, const std::string& project,
                                        const std::string& reviewer_hex);

// Revokes a device: signs its wipe order with the organisation key, has the server mark
// it revoked (its sessions end at their next call), and rotates every project it was
// granted. Returns the projects rotated.
absl::StatusOr<std::vector<std::string>> RevokeDevice(Vault& vault, const std::string& device_hex);

// A one-time enrolment code for `role` in `project`, built here from this device's own
// pins (server address, TLS pin, organisation key) and a token the server registers.
absl::StatusOr<std::string> CreateInviteCode(Vault& vault, v1::Role role,
                                             const std::string& project, int64_t ttl_seconds);

absl::StatusOr<std::vector<v1::DeviceInfo>> ListDevices(Vault& vault);

// Wraps every epoch secret of `project` to the reviewer's own X25519 key. The reviewer
// is named by device id (32 hex); the keys the server lists for it must hash to that
// id, so a server cannot slip in a key of its own.
absl::Status GrantProject(Vault& vault, const std::string& project,
                          const std::string& reviewer_hex);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_ADMIN_CLIENT_H_

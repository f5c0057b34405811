#ifndef TEMOIN_CLIENT_CORE_DEVICE_STATE_H_
#define TEMOIN_CLIENT_CORE_DEVICE_STATE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/vault/vault.h"
#include "common/role_name.h"
#include "crypto/keys.h"
#include "temoin/v1/client_store.pb.h"
#include "temoin/v1/identity.pb.h"

// What a device knows about itself and its projects, kept in its vault:
//   profile/self          Profile (ids, server, pins, the device's secret keys)
//   settings/vocabulary   Vocabulary
//   settings/signin_nonce the server's nonce for this device's next sign-in (single use)
//   project/<name>        ProjectKeys (org-signed epoch keys; secrets where granted)
namespace temoin::client {

inline constexpr char kProfileNs[] = "profile";
inline constexpr char kSettingsNs[] = "settings";
inline constexpr char kProjectNs[] = "project";

// kFailedPrecondition "this device is not enrolled" when there is no profile.
absl::StatusOr<v1::Profile> LoadProfile(Vault& vault);
void PutProfile(VaultBatch& batch, const v1::Profile& profile);

absl::StatusOr<v1::Vocabulary> LoadVocabulary(Vault& vault);

// kNotFound when the device has no keys for `project`.
absl::StatusOr<v1::ProjectKeys> LoadProjectKeys(Vault& vault, absl::string_view project);
absl::StatusOr<std::vector<v1::ProjectKeys>> LoadAllProjectKeys(Vault& vault);

// Adds an org-signed epoch key to the stored ProjectKeys (durably), refusing any key
// the organisation key did not sign, or a different key for a known epoch: a server
// cannot swap in a key of its own. Returns the project name. kUnauthenticated when a
// check fails.
absl::StatusOr<std::string> StoreSignedProjectKey(Vault& vault, const v1::SignedProjectKey& key,
                                                  absl::string_view org_public_key);

inline constexpr absl::string_view kTlsAnnouncementContext = "temoin/tls-next/v1";

// Keeps the announced next TLS pin in the profile (durably) when the organisation key
// signed it (kUnauthenticated otherwise: a server cannot make devices trust a key of
// its own choosing). An announcement of the pin already held changes nothing.
absl::Status StoreTlsKeyAnnouncement(Vault& vault, const v1::TlsKeyAnnouncement& announcement);

// Replaces the TLS pin with `spki_sha256` (32 bytes), for a device that missed the
// announcement of a rotation (temoin repin), and drops any announced next pin.
absl::Status RepinServer(Vault& vault, absl::string_view spki_sha256);

// The nonce the last sign-in got for the next one; empty when there is none.
absl::StatusOr<std::string> LoadSignInNonce(Vault& vault);
// Stores `nonce` (durably) for the next sign-in; an empty one removes the stored one.
absl::Status StoreSignInNonce(Vault& vault, absl::string_view nonce);

// The device's own keys, rebuilt from the profile.
absl::StatusOr<crypto::SigningKey> DeviceSigningKey(const v1::Profile& profile);
absl::StatusOr<crypto::BoxKeyPair> DeviceBoxKey(const v1::Profile& profile);

using temoin::RoleName;  // common/role_name.h

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_DEVICE_STATE_H_

#ifndef TEMOIN_CLIENT_CORE_BUNDLE_H_
#define TEMOIN_CLIENT_CORE_BUNDLE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "client/vault/vault.h"

// Offline bundles: the outbox carried on a USB stick or by another device.
//   settings/bundle_key   the server's X25519 bundle key (pulled with the settings)
//   relay/<hash>          RelayBundle: a bundle this device carries for another
// A bundle file is "TEMOINB1" || SealedBundle (sync.proto): a random key sealed to the
// server's bundle key and a secretstream over the serialized Bundle, so a carrier (or a
// relaying device) learns nothing but its size.
namespace temoin::client {

inline constexpr char kRelayNs[] = "relay";
inline constexpr char kBundleMagic[] = "TEMOINB1";

struct ExportedBundle {
  std::string file;
  uint64_t records = 0;
  uint64_t attachments = 0;
  uint64_t skipped = 0;  // RecoverBundle: records left out because they are damaged
};

// Every pending record of this device (sealed or committed) with its attachment
// slices, sealed to the server's bundle key. The outbox is unchanged: records leave it
// only with a receipt, which reaches the device at its next sync. kFailedPrecondition
// when the device has not synced since the server had a bundle key, or has nothing to
// export.
absl::StatusOr<ExportedBundle> ExportBundle(Vault& vault);

// The same from a damaged vault (Vault::OpenSalvaged): every record that is intact,
// with all its attachment slices, goes in; a record with a damaged or missing part is
// left out and counted. kDataLoss when nothing intact is left.
absl::StatusOr<ExportedBundle> RecoverBundle(Vault& vault);

// Keeps a bundle (made by another device) for relaying at the next sync; importing the
// same file twice keeps one copy. `file` untrusted: only its framing is checked,
// kInvalidArgument "not a temoin bundle" otherwise.
absl::Status StoreRelayBundle(Vault& vault, const std::string& file);

// (name, file) of every bundle waiting to be relayed.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RelayBundles(Vault& vault);
absl::Status ForgetRelayBundle(Vault& vault, const std::string& name);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_BUNDLE_H_

#ifndef TEMOIN_CLIENT_VAULT_VAULT_WIPE_H_
#define TEMOIN_CLIENT_VAULT_VAULT_WIPE_H_

#include <string>

#include "absl/status/status.h"

namespace temoin::client {

// Crypto-shreds the vault under `home`: overwrites vault.key with random bytes, fsyncs
// it, unlinks it and fsyncs the directory (without the key file the store is noise),
// then removes store/. Safe to call on a half-wiped home. kInternal naming the step
// that failed (never a path's contents).
absl::Status WipeVault(const std::string& home);

// Overwrites a file in place with random bytes, fsyncs, and unlinks it (attachment
// originals, key files). Not found is fine. Flash storage may keep old blocks: this
// narrows the window, it does not guarantee erasure.
absl::Status ShredFile(const std::string& path);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_VAULT_VAULT_WIPE_H_

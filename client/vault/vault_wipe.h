#ifndef TEMOIN_CLIENT_VAULT_VAULT_WIPE_H_
#define TEMOIN_CLIENT_VAULT_VAULT_WIPE_H_

#include <string>

#include "absl/status/status.h"

namespace temoin::client {

// Crypto-shreds the vault under `home`, then destroys everything else under it:
//   1. vault.key is overwritten in place with random bytes, fsynced, unlinked, and the
//      directory fsynced: from here on nothing of the vault can be decrypted;
//   2. every other file under `home` (RocksDB tables, logs and manifests, the attempts
//      count, a recovery scratch copy, anything else) is overwritten in place the same
//      way and unlinked, and the directories under `home` are removed. `home` itself
//      stays, empty.
// Step 1 comes first and alone because it is what makes the rest unreadable and it
// takes milliseconds; step 2 takes as long as writing the store's size once. On flash
// storage (SSD, eMMC, SD cards) the translation layer may keep old blocks whatever
// software writes: the protection there is that every byte was encrypted under keys
// that no longer exist. Step 2 goes on past a file it cannot overwrite (it is then
// unlinked) and reports the first failure at the end. Safe to call on a half-wiped home.
// kInternal naming the step that failed (never a file's contents).
absl::Status WipeVault(const std::string& home);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_VAULT_VAULT_WIPE_H_

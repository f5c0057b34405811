#ifndef TEMOIN_CLIENT_VAULT_UNLOCK_COUNTER_H_
#define TEMOIN_CLIENT_VAULT_UNLOCK_COUNTER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"

// The count of unlock attempts since the last right passphrase, for the unlock limit
// (`temoin unlock-limit N`). It lives in HOME/vault.attempts, not in vault.key, so that
// a wrong passphrase never rewrites the key file; the file has a fixed size and is
// updated in place (same inode, fsync), so its history does not pile up in free blocks.
//
// What it can and cannot do: the count is written when no key is known (a wrong
// passphrase), so nothing can authenticate it. Deleting or damaging the file does not
// reset it: the vault then counts as one attempt away from the limit (vault.cc). But
// someone who can write the device's files can write a lower number, just as they can
// copy vault.key and guess offline at Argon2id's cost, where no counter applies. The
// counter is a guard against guessing through temoin itself (at a checkpoint, on the
// device in hand); the passphrase and Argon2id are the guard against everything else.
namespace temoin::client {

// The count in HOME's attempts file; std::nullopt when it is missing or damaged
// (untrusted bytes).
std::optional<uint32_t> ReadUnlockAttempts(const std::string& home);

// Writes `count` durably (in place when the file exists, else a new file, 0600).
absl::Status WriteUnlockAttempts(const std::string& home, uint32_t count);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_VAULT_UNLOCK_COUNTER_H_

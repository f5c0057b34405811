#ifndef TEMOIN_CLIENT_SYNC_ENROLL_H_
#define TEMOIN_CLIENT_SYNC_ENROLL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/vault/vault.h"

namespace temoin::client {

// Enrols this device with an enrolment code: makes its Ed25519 and X25519 keys (and,
// for the first admin, the organisation key) in a new vault under `home`, redeems the
// code over the pinned TLS channel, and stores the profile, the vocabulary and the
// org-signed project keys. Returns the device id (16 bytes).
// kAlreadyExists when `home` is already enrolled; the server's refusals (wrong, used,
// expired code) come back with its message.
absl::StatusOr<std::string> EnrollDevice(const std::string& home, absl::string_view code_text,
                                         absl::string_view passphrase,
                                         const VaultOptions& vault_options = {});

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_ENROLL_H_

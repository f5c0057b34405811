#ifndef TEMOIN_CLIENT_CLI_PASSPHRASE_H_
#define TEMOIN_CLIENT_CLI_PASSPHRASE_H_

#include <string>

#include "absl/status/statusor.h"

namespace temoin::client {

// The vault passphrase, from (in order) --passphrase-file, the TEMOIN_PASSPHRASE
// variable, or a prompt on the controlling terminal with echo off. `confirm` asks
// twice on a terminal (a new vault). The caller wipes the result.
// kFailedPrecondition when none of the three is available; kInvalidArgument when empty
// or when the two entries differ.
absl::StatusOr<std::string> ReadPassphrase(const std::string& passphrase_file, bool confirm);

// A new passphrase (passphrase change, duress set): from TEMOIN_NEW_PASSPHRASE, or asked
// twice on the terminal with `prompt`. The caller wipes the result.
absl::StatusOr<std::string> ReadNewPassphrase(const char* prompt);

// Asks a yes/no question on the terminal; false when there is none.
bool ConfirmOnTty(const char* question);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CLI_PASSPHRASE_H_

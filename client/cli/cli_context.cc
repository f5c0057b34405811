#include "client/cli/cli_context.h"

#include "client/cli/passphrase.h"
#include "common/status_macros.h"
#include "crypto/secret_buffer.h"

namespace temoin::client::cli {

absl::StatusOr<std::unique_ptr<Vault>> OpenVault(const Globals& g) {
  TEMOIN_ASSIGN_OR_RETURN(std::string passphrase, ReadPassphrase(g.passphrase_file, false));
  absl::StatusOr<std::unique_ptr<Vault>> vault = Vault::Open(g.home, passphrase);
  crypto::WipeString(passphrase);
  return vault;
}

}  // namespace temoin::client::cli

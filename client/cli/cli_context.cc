#include "client/cli/cli_context.h"

#include <iostream>

#include "client/cli/passphrase.h"
#include "client/core/device_state.h"
#include "common/status_macros.h"
#include "crypto/secret_buffer.h"

namespace temoin::client::cli {
namespace {

// One command per process, one thread: a plain static is enough.
std::optional<PinnedIdentity>& Identity() {
  static std::optional<PinnedIdentity> identity;
  return identity;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Vault>> OpenVault(const Globals& g) {
  TEMOIN_ASSIGN_OR_RETURN(std::string passphrase, ReadPassphrase(g.passphrase_file, false));
  absl::StatusOr<std::unique_ptr<Vault>> vault = Vault::Open(g.home, passphrase, [] {
    std::cerr << "temoin: another temoin command (a sync?) is using the vault; waiting for it "
                 "(up to 2 min)\n";
  });
  crypto::WipeString(passphrase);
  if (vault.ok()) {
    // A vault without a profile (mid-enrolment) simply has no identity to remember.
    absl::StatusOr<v1::Profile> profile = LoadProfile(**vault);
    if (profile.ok()) {
      Identity() = PinnedIdentity{profile->device_id(), profile->org_public_key()};
    }
  }
  return vault;
}

std::optional<PinnedIdentity> LastOpenedIdentity() { return Identity(); }

}  // namespace temoin::client::cli

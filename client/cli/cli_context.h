#ifndef TEMOIN_CLIENT_CLI_CLI_CONTEXT_H_
#define TEMOIN_CLIENT_CLI_CLI_CONTEXT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/vault/vault.h"

// The `temoin` commands of DESIGN.md "Command line", one file per group
// (*_commands.cc), each with a Register function that adds its subcommands. A command
// prints its result on stdout and everything meant for a person on stderr, and leaves
// its status in CommandContext::result; main() turns a failure into one line on stderr
// and a non-zero exit.
namespace temoin::client::cli {

struct Globals {
  std::string home;
  std::string passphrase_file;
};

struct CommandContext {
  Globals globals;
  absl::Status result;

  // Storage for a command's parsed arguments: CLI11 keeps pointers to them until the
  // callbacks run, so they live as long as the context.
  template <typename T>
  T* Keep() {
    auto holder = std::make_shared<T>();
    kept_.push_back(holder);
    return holder.get();
  }

 private:
  std::vector<std::shared_ptr<void>> kept_;
};

// Opens the vault under --home with the passphrase from --passphrase-file,
// TEMOIN_PASSPHRASE or the terminal. The passphrase is wiped as soon as the vault is
// open; the device's identity is remembered (see LastOpenedIdentity).
absl::StatusOr<std::unique_ptr<Vault>> OpenVault(const Globals& g);

// This device's id and pinned organisation key, as read from the profile by the last
// successful OpenVault of this process (none before enrolment or after a failure).
// Public values only: the passphrase itself is never kept.
struct PinnedIdentity {
  std::string device_id;
  std::string org_public_key;
};
std::optional<PinnedIdentity> LastOpenedIdentity();

void RegisterDeviceCommands(CLI::App& app, CommandContext& ctx);    // enroll, sync, status
void RegisterAdminCommands(CLI::App& app, CommandContext& ctx);     // project, invite, ...
void RegisterRecordCommands(CLI::App& app, CommandContext& ctx);    // record
void RegisterReviewCommands(CLI::App& app, CommandContext& ctx);    // review ...
void RegisterBundleCommands(CLI::App& app, CommandContext& ctx);    // bundle export|import
void RegisterAccessCommands(CLI::App& app, CommandContext& ctx);    // revoke, ungrant, audit
void RegisterRecoveryCommands(CLI::App& app, CommandContext& ctx);  // admin split-key|recover

// A command refused because this device is revoked: when the refusal carries a wipe
// order that verifies against the pinned organisation key and names this device, the
// vault is crypto-shredded. Returns the status to report.
absl::Status ObeyWipeOrder(const Globals& g, const absl::Status& refused);
void RegisterVaultCommands(CLI::App& app, CommandContext& ctx);  // passphrase, duress, wipe
void RegisterDeskCommand(CLI::App& app, CommandContext& ctx);    // desk (client/desk/)
void RegisterLogCommands(CLI::App& app, CommandContext& ctx);    // log require-witness|witnesses
// review evidence, verify; after RegisterReviewCommands (it adds to `review`).
void RegisterEvidenceCommands(CLI::App& app, CommandContext& ctx);

}  // namespace temoin::client::cli

#endif  // TEMOIN_CLIENT_CLI_CLI_CONTEXT_H_

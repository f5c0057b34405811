// passphrase change, duress set, unlock-limit, check, wipe, recover-export: the owner's controls
// over the vault.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "client/cli/cli_context.h"
#include "client/cli/passphrase.h"
#include "client/core/bundle.h"
#include "client/core/cover_selection.h"
#include "client/vault/vault.h"
#include "client/vault/vault_wipe.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "crypto/secret_buffer.h"

namespace temoin::client::cli {
namespace {

absl::Status ChangePassphrase(const Globals& g) {
  TEMOIN_ASSIGN_OR_RETURN(std::string current, ReadPassphrase(g.passphrase_file, false));
  absl::StatusOr<std::string> replacement = ReadNewPassphrase("New passphrase: ");
  if (!replacement.ok()) {
    crypto::WipeString(current);
    return replacement.status();
  }
  absl::Status status = Vault::ChangePassphrase(g.home, current, *replacement);
  crypto::WipeString(current);
  crypto::WipeString(*replacement);
  TEMOIN_RETURN_IF_ERROR(status);
  std::cerr << "passphrase changed; the old one no longer opens this vault\n";
  return absl::OkStatus();
}

absl::Status SetDuress(const Globals& g) {
  TEMOIN_ASSIGN_OR_RETURN(std::string current, ReadPassphrase(g.passphrase_file, false));
  absl::StatusOr<std::string> duress = ReadNewPassphrase("Duress passphrase: ");
  if (!duress.ok()) {
    crypto::WipeString(current);
    return duress.status();
  }
  absl::Status status =
      Vault::SetDuressPassphrase(g.home, current, *duress, EnrolmentCoverSelection());
  crypto::WipeString(current);
  crypto::WipeString(*duress);
  TEMOIN_RETURN_IF_ERROR(status);
  std::cerr << "duress passphrase set: entering it instead of your passphrase silently "
               "destroys drafts and unsent records, keeps this device's enrolment (as of its "
               "last sync), and tells the organisation at the next sync\n";
  return absl::OkStatus();
}

absl::Status SetUnlockLimit(const Globals& g, int limit) {
  if (limit < 0 || limit > 1000) {
    return absl::InvalidArgumentError("the limit must be between 0 (off) and 1000");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string current, ReadPassphrase(g.passphrase_file, false));
  absl::Status status = Vault::SetUnlockLimit(g.home, current, static_cast<uint32_t>(limit));
  crypto::WipeString(current);
  TEMOIN_RETURN_IF_ERROR(status);
  if (limit == 0) {
    std::cerr << "unlock limit off\n";
  } else {
    std::cerr << "this vault is wiped after " << limit << " wrong passphrases in a row\n";
  }
  return absl::OkStatus();
}

absl::Status Wipe(const Globals& g, bool yes) {
  if (!VaultExists(g.home)) return absl::FailedPreconditionError("there is no vault to wipe here");
  // On a terminal, a person gets one question; a script (no terminal: a panic button,
  // a remote trigger) meant it and is not slowed down.
  if (!yes && ::isatty(STDIN_FILENO) &&
      !ConfirmOnTty("Destroy this vault and everything in it? Type yes: ")) {
    return absl::FailedPreconditionError("not wiped (give --yes to wipe without asking)");
  }
  TEMOIN_RETURN_IF_ERROR(WipeVault(g.home));
  std::cerr << "wiped: the vault key and every vault file were overwritten in place and "
               "deleted. On flash storage (phones, SSDs, SD cards) old blocks may survive any "
               "overwrite; they hold only encrypted data whose key is gone, so nothing of this "
               "vault can be read.\n";
  return absl::OkStatus();
}

// Copies the damaged store aside, opens the copy leniently, and writes every intact
// sealed record (sealed again to the server's bundle key) to FILE.
absl::Status RecoverExport(const Globals& g, const std::string& out) {
  TEMOIN_ASSIGN_OR_RETURN(std::string passphrase, ReadPassphrase(g.passphrase_file, false));
  std::string scratch = g.home + "/recovery-scratch";
  absl::StatusOr<std::unique_ptr<Vault>> vault = Vault::OpenSalvaged(g.home, passphrase, scratch);
  crypto::WipeString(passphrase);
  absl::Status status = vault.status();
  absl::StatusOr<ExportedBundle> bundle = absl::InternalError("not run");
  if (status.ok()) {
    bundle = RecoverBundle(**vault);
    status = bundle.status();
    if (status.ok()) status = WriteFileDurably(out, bundle->file, 0600);
    if (status.ok() && (*vault)->skipped_values() > 0) {
      std::cerr << "recover-export: " << (*vault)->skipped_values()
                << " damaged vault values were skipped\n";
    }
    vault->reset();
  }
  std::error_code ignored;
  std::filesystem::remove_all(scratch, ignored);
  TEMOIN_RETURN_IF_ERROR(status);
  std::cout << bundle->records << "\n";
  std::cerr << "recover-export: " << bundle->records << " intact records (" << bundle->attachments
            << " attachments) written to " << out;
  if (bundle->skipped > 0) std::cerr << "; " << bundle->skipped << " damaged records left out";
  std::cerr << ". Import it with temoin-server import, or on another device with temoin bundle "
               "import.\n";
  return absl::OkStatus();
}

// Reads the whole vault; a damaged block or value ends the command with kDataLoss (exit
// non-zero) and a message naming it. The duress passphrase behaves as in any unlock.
absl::Status Check(const Globals& g) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(Vault::CheckReport report, vault->Check());
  std::cout << "vault is whole: " << report.values << " values in " << report.table_files
            << " table files read and authenticated\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterVaultCommands(CLI::App& app, CommandContext& ctx) {
  const Globals& g = ctx.globals;
  auto* passphrase = app.add_subcommand("passphrase", "the vault passphrase");
  passphrase->require_subcommand(1);
  passphrase
      ->add_subcommand("change",
                       "new passphrase from the terminal or TEMOIN_NEW_PASSPHRASE; "
                       "nothing is re-encrypted")
      ->callback([&ctx, &g] { ctx.result = ChangePassphrase(g); });

  auto* duress = app.add_subcommand("duress", "the duress passphrase");
  duress->require_subcommand(1);
  duress
      ->add_subcommand("set",
                       "duress passphrase from the terminal or TEMOIN_NEW_PASSPHRASE: "
                       "entering it later wipes silently and opens an empty vault")
      ->callback([&ctx, &g] { ctx.result = SetDuress(g); });

  auto* limit = ctx.Keep<int>();
  auto* unlock_limit = app.add_subcommand(
      "unlock-limit", "wipe the vault after N wrong passphrases in a row (0: off, the default)");
  unlock_limit->add_option("N", *limit, "number of wrong passphrases")->required();
  unlock_limit->callback([&ctx, &g, limit] { ctx.result = SetUnlockLimit(g, *limit); });

  auto* recover_out = ctx.Keep<std::string>();
  auto* recover =
      app.add_subcommand("recover-export",
                         "from a damaged vault, write every intact sealed record to a bundle; "
                         "stdout: the number of records");
  recover->add_option("FILE", *recover_out, "bundle file to write (0600)")->required();
  recover->callback([&ctx, &g, recover_out] { ctx.result = RecoverExport(g, *recover_out); });

  app.add_subcommand("check",
                     "read every block and open every value of the vault: confirms it is "
                     "whole, or names what is damaged (exit 1)")
      ->callback([&ctx, &g] { ctx.result = Check(g); });

  auto* yes = ctx.Keep<bool>();
  auto* wipe = app.add_subcommand("wipe",
                                  "overwrite the vault key, then every vault file, in "
                                  "place and delete them: nothing can be read "
                                  "afterwards, passphrase or not");
  wipe->add_flag("--yes", *yes, "do not ask (without a terminal it never asks)");
  wipe->callback([&ctx, &g, yes] { ctx.result = Wipe(g, *yes); });
}

}  // namespace temoin::client::cli

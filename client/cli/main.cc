// temoin: the device command line. See DESIGN.md "Command line" and docs/architecture.md.
#include <iostream>

#include "CLI/CLI.hpp"
#include "client/cli/cli_context.h"
#include "crypto/sodium_init.h"

int main(int argc, char** argv) {
  if (absl::Status s = temoin::crypto::InitializeCrypto(); !s.ok()) {
    std::cerr << "temoin: " << s.message() << "\n";
    return 1;
  }
  namespace cli = temoin::client::cli;
  CLI::App app{
      "temoin: record testimonies offline, sealed for your project's reviewers; sync "
      "them when a link appears.\nPassphrase: terminal prompt, --passphrase-file FILE "
      "or TEMOIN_PASSPHRASE."};
  app.require_subcommand(1);
  cli::CommandContext ctx;
  app.add_option("--home", ctx.globals.home, "this device's profile and vault directory")
      ->required()
      ->envname("TEMOIN_HOME");
  app.add_option("--passphrase-file", ctx.globals.passphrase_file,
                 "read the vault passphrase from FILE");
  cli::RegisterDeviceCommands(app, ctx);
  cli::RegisterAdminCommands(app, ctx);
  cli::RegisterRecordCommands(app, ctx);
  cli::RegisterReviewCommands(app, ctx);
  cli::RegisterBundleCommands(app, ctx);
  cli::RegisterAccessCommands(app, ctx);
  cli::RegisterRecoveryCommands(app, ctx);
  cli::RegisterVaultCommands(app, ctx);
  cli::RegisterDeskCommand(app, ctx);
  cli::RegisterLogCommands(app, ctx);

  CLI11_PARSE(app, argc, argv);
  if (!ctx.result.ok()) {
    ctx.result = cli::ObeyWipeOrder(ctx.globals, ctx.result);
    std::cerr << "temoin: " << ctx.result.message() << "\n";
    return 1;
  }
  return 0;
}

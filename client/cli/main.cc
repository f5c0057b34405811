// temoin: the device command line. See DESIGN.md "Command line" and docs/architecture.md.
#include <iostream>
#include <string>

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
  CLI::Option* home =
      app.add_option("--home", ctx.globals.home, "this device's profile and vault directory")
          ->envname("TEMOIN_HOME");
  // `temoin verify DIR` is for someone with no Temoin device at all (a court): no home.
  if (argc < 2 || std::string(argv[1]) != "verify") home->required();
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
  cli::RegisterEvidenceCommands(app, ctx);

  CLI11_PARSE(app, argc, argv);
  if (!ctx.result.ok()) {
    ctx.result = cli::ObeyWipeOrder(ctx.globals, ctx.result);
    std::cerr << "temoin: " << ctx.result.message() << "\n";
    return 1;
  }
  return 0;
}

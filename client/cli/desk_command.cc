// desk: the reviewer's desk in the browser (client/desk/).
#include "client/cli/cli_context.h"
#include "client/desk/desk_server.h"
#include "client/vault/vault.h"

namespace temoin::client::cli {

void RegisterDeskCommand(CLI::App& app, CommandContext& ctx) {
  auto* options = ctx.Keep<desk::DeskOptions>();
  auto* no_open = ctx.Keep<bool>();
  auto* cmd = app.add_subcommand(
      "desk",
      "serve this device's desk (a reviewer's pages, a monitor's form) on 127.0.0.1 and open it "
      "in the browser; prints its "
      "one-time address. The passphrase is asked for by the page.");
  cmd->add_option("--port", options->port, "port on 127.0.0.1 (default: any free port)");
  cmd->add_flag("--no-open", *no_open, "print the address only; do not start a browser");
  cmd->add_option("--lock-minutes", options->lock_minutes,
                  "lock (wipe everything decrypted) after this many idle minutes")
      ->capture_default_str();
  cmd->callback([&ctx, options, no_open] {
    if (!VaultExists(ctx.globals.home)) {
      ctx.result = absl::FailedPreconditionError("no vault in HOME; enrol this device first");
      return;
    }
    options->home = ctx.globals.home;
    options->open_browser = !*no_open;
    ctx.result = desk::RunDesk(*options);
  });
}

}  // namespace temoin::client::cli

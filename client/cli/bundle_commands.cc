// bundle export | bundle import: the outbox carried where no link reaches.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/cli/cli_context.h"
#include "client/core/bundle.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace temoin::client::cli {
namespace {

absl::Status BundleExport(const Globals& g, const std::string& path) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(ExportedBundle bundle, ExportBundle(*vault));
  TEMOIN_RETURN_IF_ERROR(WriteFileDurably(path, bundle.file, 0600));
  std::cout << bundle.records << "\n";
  std::cerr << "bundle: " << bundle.records << " records and " << bundle.attachments
            << " attachments sealed to the server's key in " << path
            << "; only the server can open it. They stay in the outbox until a receipt "
               "reaches this device at its next sync.\n";
  return absl::OkStatus();
}

absl::Status BundleImport(const Globals& g, const std::string& path) {
  TEMOIN_ASSIGN_OR_RETURN(std::string file, ReadFileToString(path, 1ull << 30));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_RETURN_IF_ERROR(StoreRelayBundle(*vault, file));
  std::cerr << "bundle: kept for relay (this device cannot read it); it goes to the "
               "server at this device's next sync\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterBundleCommands(CLI::App& app, CommandContext& ctx) {
  const Globals& g = ctx.globals;
  auto* path = ctx.Keep<std::string>();
  auto* bundle = app.add_subcommand("bundle",
                                    "carry records offline: export this device's outbox "
                                    "sealed to the server, or import one to relay");
  bundle->require_subcommand(1);
  auto* export_cmd = bundle->add_subcommand(
      "export",
      "write the outbox (records, commitments, attachments) sealed to the server's "
      "key; stdout: the number of records");
  export_cmd->add_option("FILE", *path, "bundle file to write (0600)")->required();
  export_cmd->callback([&ctx, &g, path] { ctx.result = BundleExport(g, *path); });
  auto* import_cmd = bundle->add_subcommand(
      "import", "keep another device's bundle and relay it at the next sync");
  import_cmd->add_option("FILE", *path, "bundle file")->required();
  import_cmd->callback([&ctx, &g, path] { ctx.result = BundleImport(g, *path); });
}

}  // namespace temoin::client::cli

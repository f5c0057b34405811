// temoin log require-witness | witnesses: which witnesses must cosign the server's
// checkpoints before this device accepts them (client/core/witness_policy.h).
#include <iostream>

#include "client/cli/cli_context.h"
#include "client/core/witness_policy.h"
#include "common/status_macros.h"

namespace temoin::client::cli {
namespace {

absl::Status RequireWitnessCommand(const Globals& g, const std::string& vkey, int min) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  if (vkey.empty()) {
    if (min < 0) return absl::InvalidArgumentError("give --vkey, --min or both");
    TEMOIN_RETURN_IF_ERROR(SetWitnessMinimum(*vault, static_cast<uint32_t>(min)));
  } else {
    TEMOIN_RETURN_IF_ERROR(RequireWitness(*vault, vkey, min));
  }
  TEMOIN_ASSIGN_OR_RETURN(WitnessPolicy policy, LoadWitnessPolicy(*vault));
  std::cerr << "this device now requires " << policy.min << " of " << policy.witnesses.size()
            << " witness cosignatures on every checkpoint it accepts\n";
  return absl::OkStatus();
}

absl::Status ListWitnesses(const Globals& g) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(WitnessPolicy policy, LoadWitnessPolicy(*vault));
  for (const std::string& vkey : policy.vkeys) std::cout << vkey << "\n";
  std::cerr << "required: " << policy.min << " of " << policy.witnesses.size() << "\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterLogCommands(CLI::App& app, CommandContext& ctx) {
  const Globals& g = ctx.globals;
  auto* log = app.add_subcommand("log", "the server's transparency log: witness requirements");
  log->require_subcommand(1);
  struct Args {
    std::string vkey;
    int min = -1;
  };
  auto* args = ctx.Keep<Args>();
  auto* require = log->add_subcommand(
      "require-witness",
      "require cosignatures of a witness (c2sp.org/tlog-cosignature) on every checkpoint this "
      "device accepts; a sync whose checkpoint has fewer fails and sends nothing");
  require->add_option("--vkey", args->vkey,
                      "the witness's verifier key, as `temoin-witness vkey` prints it");
  require
      ->add_option("--min", args->min,
                   "how many of the known witnesses must have cosigned (default: at "
                   "least 1; 0 lifts the requirement)")
      ->check(CLI::Range(0, 64));
  require->callback(
      [&ctx, &g, args] { ctx.result = RequireWitnessCommand(g, args->vkey, args->min); });
  auto* list =
      log->add_subcommand("witnesses", "print the witness keys required (stdout), K (stderr)");
  list->callback([&ctx, &g] { ctx.result = ListWitnesses(g); });
}

}  // namespace temoin::client::cli

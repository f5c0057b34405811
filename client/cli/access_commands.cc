// revoke, ungrant, audit, and what a revoked device does with a wipe order.
#include <iostream>

#include "absl/strings/cord.h"
#include "client/cli/cli_context.h"
#include "client/core/device_state.h"
#include "client/core/wipe_order.h"
#include "client/sync/admin_client.h"
#include "client/sync/audit_client.h"
#include "client/sync/connection.h"
#include "common/encoding.h"
#include "common/status_macros.h"

namespace temoin::client::cli {
namespace {

absl::Status Revoke(const Globals& g, const std::string& device) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> rotated, RevokeDevice(*vault, device));
  std::cerr << "revoked " << device
            << "; its sessions end now and it will be told to wipe itself if it calls again\n";
  for (const std::string& project : rotated) {
    std::cerr << "rotated the key of " << project << " (the device was granted it)\n";
  }
  return absl::OkStatus();
}

absl::Status Ungrant(const Globals& g, const std::string& project, const std::string& reviewer) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(uint32_t epoch, UngrantProject(*vault, project, reviewer));
  std::cerr << "removed " << reviewer << " from " << project << " and rotated its key to epoch "
            << epoch << "\n";
  return absl::OkStatus();
}

absl::Status Audit(const Globals& g, bool verify) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(AuditTrail trail, FetchAuditTrail(*vault, verify));
  for (const v1::AuditEntry& entry : trail.entries) {
    std::cout << FormatAuditEntry(entry) << "\n";
  }
  if (verify) {
    std::cerr << "audit log verified: " << trail.entries.size()
              << " entries, chain matches the head signed by the server\n";
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ObeyWipeOrder(const Globals& g, const absl::Status& refused) {
  auto payload = refused.GetPayload(kWipeOrderPayload);
  if (!payload.has_value()) return refused;
  std::string order(*payload);
  // The command that was refused opened the vault already: its identity is remembered,
  // so a terminal user is not asked for the passphrase a second time.
  std::optional<PinnedIdentity> identity = LastOpenedIdentity();
  if (!identity.has_value()) {
    TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
    identity = LastOpenedIdentity();
  }  // the vault is closed before its key file goes
  if (!identity.has_value()) return refused;
  TEMOIN_ASSIGN_OR_RETURN(
      bool wiped, ObeyIfValid(g.home, order, identity->org_public_key, identity->device_id));
  if (!wiped) {
    // Not from our organisation, or not for us: a server cannot make a device wipe itself.
    return absl::PermissionDeniedError(
        "device has been revoked (the server sent a wipe order that does not verify; ignored)");
  }
  return absl::PermissionDeniedError(
      "device has been revoked; by order of the organisation its vault has been wiped");
}

void RegisterAccessCommands(CLI::App& app, CommandContext& ctx) {
  const Globals& g = ctx.globals;
  struct Args {
    std::string device, project, reviewer;
    bool verify = false;
  };
  auto* a = ctx.Keep<Args>();

  auto* revoke = app.add_subcommand("revoke",
                                    "revoke a device (admin): its sessions end at once, it is "
                                    "ordered to wipe itself, and its projects' keys rotate");
  revoke->add_option("DEVICE", a->device, "device id (32 hex)")->required();
  revoke->callback([&ctx, &g, a] { ctx.result = Revoke(g, a->device); });

  auto* ungrant = app.add_subcommand("ungrant",
                                     "remove a reviewer's access (admin) and rotate the "
                                     "project key");
  ungrant->add_option("--project", a->project, "project name")->required();
  ungrant->add_option("--reviewer", a->reviewer, "the reviewer's device id (32 hex)")->required();
  ungrant->callback([&ctx, &g, a] { ctx.result = Ungrant(g, a->project, a->reviewer); });

  auto* audit = app.add_subcommand("audit",
                                   "list the server's audit log (admin); one entry a line: "
                                   "index, time, actor, action, object, project");
  audit->add_flag("--verify", a->verify,
                  "recompute the hash chain and check the head the server signed");
  audit->callback([&ctx, &g, a] { ctx.result = Audit(g, a->verify); });
}

}  // namespace temoin::client::cli

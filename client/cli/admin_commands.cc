// project, invite, grant, devices: what administrators do.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/cli/cli_context.h"
#include "client/cli/qr_terminal.h"
#include "client/core/device_state.h"
#include "client/core/qr_png.h"
#include "client/sync/admin_client.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace temoin::client::cli {
namespace {

absl::Status ProjectCreate(const Globals& g, const std::string& name) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(std::string id, CreateProject(*vault, name));
  std::cout << ToHex(id) << "\n";
  std::cerr << "project " << name << " created; its key is signed by the organisation key\n";
  return absl::OkStatus();
}

absl::Status ProjectRotate(const Globals& g, const std::string& name) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(uint32_t epoch, RotateProjectKey(*vault, name));
  std::cout << epoch << "\n";
  std::cerr << "project " << name << " now seals to epoch " << epoch
            << "; granted reviewers got the new key, devices pick it up at their next sync\n";
  return absl::OkStatus();
}

absl::Status Invite(const Globals& g, const std::string& project, const std::string& role,
                    double ttl_hours, bool qr, const std::string& qr_png) {
  // Checked before the passphrase is asked for (IssueInvite checks again, for the desk).
  TEMOIN_RETURN_IF_ERROR(RoleFromName(role).status());
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(std::string code, IssueInvite(*vault, role, project, ttl_hours));
  if (qr) {
    TEMOIN_ASSIGN_OR_RETURN(std::string picture, RenderQrForTerminal(code));
    std::cerr << picture;
  }
  if (!qr_png.empty()) {
    TEMOIN_ASSIGN_OR_RETURN(QrPng png, RenderQrPng(code));
    // The picture carries the one-time token: readable by this user only.
    TEMOIN_RETURN_IF_ERROR(WriteFileDurably(qr_png, png.png, 0600));
    std::cerr << "QR code written to --qr-png (" << png.modules << " modules, "
              << (png.modules + 2 * kQrPngQuietModules) * 8 << " px square)\n";
  }
  std::cout << code << "\n";
  std::cerr << "one-time code for a " << role << (project.empty() ? "" : " of " + project)
            << "; it expires in " << ttl_hours << " h\n";
  return absl::OkStatus();
}

absl::Status Grant(const Globals& g, const std::string& project, const std::string& reviewer) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_RETURN_IF_ERROR(GrantProject(*vault, project, reviewer));
  std::cerr << "granted " << project << " to " << reviewer << "\n";
  return absl::OkStatus();
}

absl::Status Devices(const Globals& g) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::DeviceInfo> devices, ListDevices(*vault));
  for (const v1::DeviceInfo& device : devices) {
    std::cout << ToHex(device.device_id()) << "\t" << RoleName(device.role()) << "\t"
              << (device.project().empty() ? "-" : device.project()) << "\t" << device.state();
    // Issue 12: signed in under duress; what it sends from then on is quarantined.
    if (device.duress_since() != 0) {
      std::cout << "\tDURESS since " << FormatRfc3339(device.duress_since());
    }
    std::cout << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterAdminCommands(CLI::App& app, CommandContext& ctx) {
  const Globals& g = ctx.globals;
  struct AdminArgs {
    std::string name, project, role, reviewer;
    double ttl_hours = 24;
    bool qr = false;
    std::string qr_png;
  };
  auto* a = ctx.Keep<AdminArgs>();

  auto* project_cmd = app.add_subcommand("project", "projects (admin)");
  project_cmd->require_subcommand(1);
  auto* create = project_cmd->add_subcommand("create",
                                             "create a project and its first key; "
                                             "stdout: the project id");
  create->add_option("NAME", a->name, "lowercase letters, digits, - and _")->required();
  create->callback([&ctx, &g, a] { ctx.result = ProjectCreate(g, a->name); });
  auto* rotate = project_cmd->add_subcommand("rotate-key",
                                             "start a new key epoch for a project; "
                                             "stdout: the new epoch");
  rotate->add_option("NAME", a->name, "project name")->required();
  rotate->callback([&ctx, &g, a] { ctx.result = ProjectRotate(g, a->name); });

  auto* invite = app.add_subcommand("invite",
                                    "issue a one-time enrolment code (admin); "
                                    "stdout: the code");
  invite->add_option("--project", a->project, "project of the new device (monitor, reviewer)");
  invite->add_option("--role", a->role, "monitor | reviewer | admin")->required();
  invite->add_option("--ttl-hours", a->ttl_hours, "hours before the code expires (default 24)");
  invite->add_flag("--qr", a->qr, "also draw the code as a QR code on stderr");
  invite->add_option("--qr-png", a->qr_png,
                     "also write the code as a QR code to this PNG file (mode 0600: it "
                     "holds the one-time token)");
  invite->callback([&ctx, &g, a] {
    ctx.result = Invite(g, a->project, a->role, a->ttl_hours, a->qr, a->qr_png);
  });

  auto* grant = app.add_subcommand("grant",
                                   "let a reviewer read a project (admin): wraps the "
                                   "project keys to the reviewer's own key");
  grant->add_option("--project", a->project, "project name")->required();
  grant->add_option("--reviewer", a->reviewer, "the reviewer's device id (32 hex)")->required();
  grant->callback([&ctx, &g, a] { ctx.result = Grant(g, a->project, a->reviewer); });

  auto* devices = app.add_subcommand("devices",
                                     "list enrolled devices (admin): id, role, "
                                     "project, state");
  devices->callback([&ctx, &g] { ctx.result = Devices(g); });
}

}  // namespace temoin::client::cli

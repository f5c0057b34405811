// temoin: the device command line. See DESIGN.md "Command line" and docs/architecture.md.
#include <iostream>

#include "CLI/CLI.hpp"
#include "client/cli/commands.h"
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
  cli::Globals g;
  app.add_option("--home", g.home, "this device's profile and vault directory")
      ->required()
      ->envname("TEMOIN_HOME");
  app.add_option("--passphrase-file", g.passphrase_file, "read the vault passphrase from FILE");

  absl::Status result = absl::OkStatus();
  std::string code, name, project, role, reviewer, from, server, format, out, id;
  std::vector<std::string> attachments;
  bool qr = false, until_done = false, json = false, offline = false;
  double ttl_hours = 24, max_time = 0;

  auto* enroll = app.add_subcommand("enroll",
                                    "enrol this device with a one-time code; makes "
                                    "its keys and vault; stdout: the device id");
  enroll->add_option("CODE", code, "the enrolment code (temoin1:...)")->required();
  enroll->callback([&] { result = cli::Enroll(g, code); });

  auto* project_cmd = app.add_subcommand("project", "projects (admin)");
  project_cmd->require_subcommand(1);
  auto* create = project_cmd->add_subcommand("create",
                                             "create a project and its first key; "
                                             "stdout: the project id");
  create->add_option("NAME", name, "lowercase letters, digits, - and _")->required();
  create->callback([&] { result = cli::ProjectCreate(g, name); });

  auto* invite = app.add_subcommand("invite",
                                    "issue a one-time enrolment code (admin); "
                                    "stdout: the code");
  invite->add_option("--project", project, "project of the new device (monitor, reviewer)");
  invite->add_option("--role", role, "monitor | reviewer | admin")->required();
  invite->add_option("--ttl-hours", ttl_hours, "hours before the code expires (default 24)");
  invite->add_flag("--qr", qr, "also draw the code as a QR code on stderr");
  invite->callback([&] { result = cli::Invite(g, project, role, ttl_hours, qr); });

  auto* grant = app.add_subcommand("grant",
                                   "let a reviewer read a project (admin): wraps the "
                                   "project keys to the reviewer's own key");
  grant->add_option("--project", project, "project name")->required();
  grant->add_option("--reviewer", reviewer, "the reviewer's device id (32 hex)")->required();
  grant->callback([&] { result = cli::Grant(g, project, reviewer); });

  auto* devices = app.add_subcommand("devices",
                                     "list enrolled devices (admin): id, role, "
                                     "project, state");
  devices->callback([&] { result = cli::Devices(g); });

  auto* record = app.add_subcommand("record",
                                    "seal testimonies into the outbox (monitor); "
                                    "stdout: one record id per testimony");
  record->add_option("--project", project, "this device's project")->required();
  record->add_option("--from", from, "proto3 JSON of a temoin.v1.Testimony, or an array of them");
  record->add_option("--attach", attachments, "attach a file (not available yet)");
  record->callback([&] { result = cli::Record(g, project, from, attachments); });

  auto* sync = app.add_subcommand("sync",
                                  "upload sealed records and pull settings (monitors); "
                                  "pull grants and records (reviewers)");
  sync->add_option("--server", server, "reach the server by another HOST:PORT; the pin holds");
  sync->add_flag("--until-done", until_done, "retry with backoff until the sync completes");
  sync->add_option("--max-time", max_time, "with --until-done: give up after SECONDS");
  sync->callback([&] { result = cli::Sync(g, server, until_done, max_time); });

  auto* status = app.add_subcommand("status", "outbox by state, last sync");
  status->add_flag("--json", json, "one JSON object; records holds the count per state");
  status->callback([&] { result = cli::Status(g, json); });

  auto* review = app.add_subcommand("review",
                                    "read granted projects (reviewer); pulls new "
                                    "records first unless --offline");
  review->require_subcommand(1);
  review->add_flag("--offline", offline, "do not contact the server");
  auto* list = review->add_subcommand("list",
                                      "one record a line: id, project, received, "
                                      "incident date, region, acts");
  list->callback([&] { result = cli::ReviewList(g, offline); });
  auto* show = review->add_subcommand("show", "one record as JSON");
  show->add_option("ID", id, "record id (32 hex)")->required();
  show->callback([&] { result = cli::ReviewShow(g, id, offline); });
  auto* export_cmd = review->add_subcommand("export", "write every record to a file");
  export_cmd->add_option("--format", format, "json | csv")->required();
  export_cmd->add_option("--out", out, "output file (written 0600)")->required();
  export_cmd->callback([&] { result = cli::ReviewExport(g, format, out, offline); });

  CLI11_PARSE(app, argc, argv);
  if (!result.ok()) {
    std::cerr << "temoin: " << result.message() << "\n";
    return 1;
  }
  return 0;
}

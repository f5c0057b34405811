// review list, show, export: what reviewers do.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/cli/cli_context.h"
#include "client/core/export.h"
#include "client/core/review_desk.h"
#include "client/core/stats.h"
#include "client/sync/sync_engine.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace temoin::client::cli {
namespace {

absl::StatusOr<OpenedDesk> DeskAfterPull(Vault& vault, bool offline) {
  if (!offline) {
    TEMOIN_ASSIGN_OR_RETURN(SyncReport report, PullForReview(vault, SyncOptions{}));
    if (report.fetched > 0) std::cerr << "review: fetched " << report.fetched << " new records\n";
  }
  TEMOIN_ASSIGN_OR_RETURN(OpenedDesk desk, OpenDesk(vault));
  for (const RecordFailure& failure : desk.failures) {
    std::cerr << "review: record " << ToHex(failure.record_id)
              << " cannot be opened: " << failure.reason << "\n";
  }
  // The server is untrusted: every way it lied is named, record by record.
  for (const OpenedRecord& r : desk.records) {
    if (r.verified) continue;
    std::cerr << "review: WARNING: record " << ToHex(r.record_id)
              << " is UNVERIFIED: " << r.unverified_reason
              << " (shown and exported marked unverified, left out of statistics)\n";
  }
  for (const OpenedRecord& r : desk.records) {
    if (!r.quarantined) continue;
    std::cerr << "review: WARNING: record " << ToHex(r.record_id)
              << " is QUARANTINED: its device had signalled duress when it arrived, so "
                 "whoever held the device may have made it (shown and exported marked "
                 "quarantined, left out of statistics)\n";
  }
  for (const RecordFailure& mismatch : desk.listing_mismatches) {
    std::cerr << "review: WARNING: record " << ToHex(mismatch.record_id) << ": " << mismatch.reason
              << "\n";
  }
  if (desk.unverified() > 0) {
    std::cerr << "review: WARNING: " << desk.unverified() << " of " << desk.records.size()
              << " records are unverified; the server may be compromised\n";
  }
  return desk;
}

absl::Status ReviewList(const Globals& g, bool offline) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(OpenedDesk desk, DeskAfterPull(*vault, offline));
  for (const OpenedRecord& r : desk.records) {
    std::string acts;
    for (const v1::Act& act : r.testimony.acts()) {
      absl::StrAppend(&acts, acts.empty() ? "" : ",", act.type());
    }
    std::cout << ToHex(r.record_id) << "\t" << r.project << "\t" << FormatRfc3339(r.received_at)
              << "\t"
              << (r.testimony.incident().date().empty() ? "-" : r.testimony.incident().date())
              << "\t"
              << (r.testimony.incident().region().empty() ? "-" : r.testimony.incident().region())
              << "\t" << (acts.empty() ? "-" : acts) << "\t"
              << (r.verified ? "verified" : "UNVERIFIED") << (r.quarantined ? ",QUARANTINED" : "")
              << "\n";
  }
  std::cerr << "review: " << desk.records.size() << " records\n";
  return absl::OkStatus();
}

absl::Status ReviewShow(const Globals& g, const std::string& id, bool offline) {
  TEMOIN_ASSIGN_OR_RETURN(std::string record_id, FromHex(id, "record id"));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(OpenedDesk desk, DeskAfterPull(*vault, offline));
  for (const OpenedRecord& r : desk.records) {
    if (r.record_id != record_id) continue;
    TEMOIN_ASSIGN_OR_RETURN(std::string json, RecordJson(r));
    std::cout << json;
    return absl::OkStatus();
  }
  return absl::NotFoundError("no such record on this reviewer's desk");
}

absl::Status ReviewExport(const Globals& g, const std::string& format, const std::string& out,
                          bool offline, const std::string& attachments_dir) {
  if (!attachments_dir.empty() && offline) {
    return absl::InvalidArgumentError("--attachments needs the server: drop --offline");
  }
  if (format != "json" && format != "csv") {
    return absl::InvalidArgumentError("--format must be json or csv");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(OpenedDesk desk, DeskAfterPull(*vault, offline));
  TEMOIN_ASSIGN_OR_RETURN(std::string text,
                          format == "json" ? ExportJson(desk.records) : ExportCsv(desk.records));
  // The export is the one place plaintext is meant to land on disk: owner-only.
  absl::Status written = WriteFileDurably(out, text, 0600);
  crypto::WipeString(text);
  TEMOIN_RETURN_IF_ERROR(written);
  std::cerr << "review: exported " << desk.records.size() << " records to " << out
            << " (plaintext: keep it safe)\n";
  if (!attachments_dir.empty()) {
    std::vector<RecordFailure> failures;
    TEMOIN_ASSIGN_OR_RETURN(uint64_t files, ExportAttachments(*vault, SyncOptions{}, desk.records,
                                                              attachments_dir, failures));
    for (const RecordFailure& failure : failures) {
      std::cerr << "review: an attachment of record " << ToHex(failure.record_id)
                << " was not exported: " << failure.reason << "\n";
    }
    std::cerr << "review: wrote " << files << " attachments under " << attachments_dir
              << " (plaintext: keep it safe)\n";
    if (!failures.empty()) {
      return absl::DataLossError(
          absl::StrCat(failures.size(), " attachments could not be exported (see above)"));
    }
  }
  return absl::OkStatus();
}

void PrintTable(const char* title, const std::map<std::string, uint64_t>& rows) {
  std::cout << title << "\n";
  for (const auto& [key, count] : rows) std::cout << "  " << key << "\t" << count << "\n";
}

absl::Status ReviewStats(const Globals& g, bool offline, bool json) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(OpenedDesk desk, DeskAfterPull(*vault, offline));
  std::vector<OpenedRecord> verified;
  for (OpenedRecord& r : desk.records) {
    if (CountsInStatistics(r)) verified.push_back(std::move(r));
  }
  Stats stats = ComputeStats(verified);
  if (json) {
    nlohmann::ordered_json out;
    out["records"] = stats.records;
    out["victims"] = stats.victims;
    out["restricted"] = stats.restricted;
    out["acts"] = stats.acts;
    out["regions"] = stats.regions;
    out["perpetrators"] = stats.perpetrators;
    out["months"] = stats.months;
    std::cout << out.dump() << "\n";
    return absl::OkStatus();
  }
  std::cout << "records\t" << stats.records << "\nvictims\t" << stats.victims << "\nrestricted\t"
            << stats.restricted << "\n";
  PrintTable("acts (sum of counts)", stats.acts);
  PrintTable("regions (records)", stats.regions);
  PrintTable("alleged perpetrators (records)", stats.perpetrators);
  PrintTable("incident month (records)", stats.months);
  return absl::OkStatus();
}

}  // namespace

void RegisterReviewCommands(CLI::App& app, CommandContext& ctx) {
  const Globals& g = ctx.globals;
  struct ReviewArgs {
    std::string id, format, out, attachments;
    bool offline = false;
  };
  auto* a = ctx.Keep<ReviewArgs>();
  auto* review = app.add_subcommand("review",
                                    "read granted projects (reviewer); pulls new "
                                    "records first unless --offline");
  review->require_subcommand(1);
  review->add_flag("--offline", a->offline, "do not contact the server");
  auto* list = review->add_subcommand("list",
                                      "one record a line: id, project, received, "
                                      "incident date, region, acts, verified|UNVERIFIED");
  list->callback([&ctx, &g, a] { ctx.result = ReviewList(g, a->offline); });
  auto* show = review->add_subcommand("show", "one record as JSON");
  show->add_option("ID", a->id, "record id (32 hex)")->required();
  show->callback([&ctx, &g, a] { ctx.result = ReviewShow(g, a->id, a->offline); });
  auto* json = ctx.Keep<bool>();
  auto* stats = review->add_subcommand("stats",
                                       "counts by act, region, alleged perpetrator and "
                                       "incident month, computed in memory");
  stats->add_flag("--json", *json, "one JSON object");
  stats->callback([&ctx, &g, a, json] { ctx.result = ReviewStats(g, a->offline, *json); });
  auto* export_cmd = review->add_subcommand("export", "write every record to a file");
  export_cmd->add_option("--format", a->format, "json | csv")->required();
  export_cmd->add_option("--out", a->out, "output file (written 0600)")->required();
  export_cmd->add_option("--attachments", a->attachments,
                         "also write each decrypted attachment as DIR/<record_id>/<file name>");
  export_cmd->callback([&ctx, &g, a] {
    ctx.result = ReviewExport(g, a->format, a->out, a->offline, a->attachments);
  });
}

}  // namespace temoin::client::cli

#include "client/cli/commands.h"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/cli/passphrase.h"
#include "client/cli/qr_terminal.h"
#include "client/core/device_state.h"
#include "client/core/export.h"
#include "client/core/outbox.h"
#include "client/core/review_desk.h"
#include "client/sync/admin_client.h"
#include "client/sync/enroll.h"
#include "client/sync/sync_engine.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/vocabulary.h"
#include "nlohmann/json.hpp"

namespace temoin::client::cli {
namespace {

absl::StatusOr<std::unique_ptr<Vault>> OpenVault(const Globals& g) {
  TEMOIN_ASSIGN_OR_RETURN(std::string passphrase, ReadPassphrase(g.passphrase_file, false));
  absl::StatusOr<std::unique_ptr<Vault>> vault = Vault::Open(g.home, passphrase);
  crypto::WipeString(passphrase);
  return vault;
}

absl::StatusOr<v1::Role> ParseRole(const std::string& role) {
  if (role == "monitor") return v1::ROLE_MONITOR;
  if (role == "reviewer") return v1::ROLE_REVIEWER;
  if (role == "admin") return v1::ROLE_ADMIN;
  return absl::InvalidArgumentError("--role must be monitor, reviewer or admin");
}

// Testimonies from a file: one proto3 JSON object, or an array of them (bulk entry,
// e.g. paper forms typed up later).
absl::StatusOr<std::vector<v1::Testimony>> ReadTestimonies(const std::string& path) {
  TEMOIN_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 256 << 20));
  std::vector<v1::Testimony> out;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    nlohmann::json array = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    crypto::WipeString(text);
    if (array.is_discarded() || !array.is_array()) {
      return absl::InvalidArgumentError("--from: the file is not a valid JSON array");
    }
    for (size_t i = 0; i < array.size(); ++i) {
      std::string item = array[i].dump();
      absl::StatusOr<v1::Testimony> testimony = ParseTestimonyJson(item);
      crypto::WipeString(item);
      if (!testimony.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--from: testimony ", i, ": ", testimony.status().message()));
      }
      out.push_back(std::move(*testimony));
    }
    return out;
  }
  absl::StatusOr<v1::Testimony> testimony = ParseTestimonyJson(text);
  crypto::WipeString(text);
  if (!testimony.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--from: ", testimony.status().message()));
  }
  out.push_back(std::move(*testimony));
  return out;
}

void PrintProgress(const SyncProgress& p) {
  std::cerr << "sync: " << p.records_done << "/" << p.records_total << " records, "
            << p.bytes_done / 1024 << "/" << p.bytes_total / 1024 << " KiB\n";
}

bool Retryable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded ||
         s.code() == absl::StatusCode::kResourceExhausted || s.code() == absl::StatusCode::kAborted;
}

absl::StatusOr<OpenedDesk> DeskAfterPull(const Globals& g, Vault& vault, bool offline) {
  if (!offline) {
    TEMOIN_ASSIGN_OR_RETURN(SyncReport report, PullForReview(vault, SyncOptions{}));
    if (report.fetched > 0) std::cerr << "review: fetched " << report.fetched << " new records\n";
  }
  TEMOIN_ASSIGN_OR_RETURN(OpenedDesk desk, OpenDesk(vault));
  for (const RecordFailure& failure : desk.failures) {
    std::cerr << "review: record " << ToHex(failure.record_id)
              << " cannot be opened: " << failure.reason << "\n";
  }
  return desk;
}

}  // namespace

absl::Status Enroll(const Globals& g, const std::string& code) {
  TEMOIN_ASSIGN_OR_RETURN(std::string passphrase,
                          ReadPassphrase(g.passphrase_file, /*confirm=*/true));
  absl::StatusOr<std::string> device_id = EnrollDevice(g.home, code, passphrase);
  crypto::WipeString(passphrase);
  TEMOIN_RETURN_IF_ERROR(device_id.status());
  std::cout << ToHex(*device_id) << "\n";
  std::cerr << "enrolled; this device's id is above. Give it to your administrator in "
               "person: it also fingerprints this device's keys.\n";
  return absl::OkStatus();
}

absl::Status ProjectCreate(const Globals& g, const std::string& name) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(std::string id, CreateProject(*vault, name));
  std::cout << ToHex(id) << "\n";
  std::cerr << "project " << name << " created; its key is signed by the organisation key\n";
  return absl::OkStatus();
}

absl::Status Invite(const Globals& g, const std::string& project, const std::string& role,
                    double ttl_hours, bool qr) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Role parsed_role, ParseRole(role));
  if (ttl_hours <= 0 || ttl_hours > 30 * 24) {
    return absl::InvalidArgumentError("--ttl-hours must be between 0 and 720");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(
      std::string code,
      CreateInviteCode(*vault, parsed_role, project, static_cast<int64_t>(ttl_hours * 3600)));
  if (qr) {
    TEMOIN_ASSIGN_OR_RETURN(std::string picture, RenderQrForTerminal(code));
    std::cerr << picture;
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
              << (device.project().empty() ? "-" : device.project()) << "\t" << device.state()
              << "\n";
  }
  return absl::OkStatus();
}

absl::Status Record(const Globals& g, const std::string& project, const std::string& from,
                    const std::vector<std::string>& attachments) {
  if (!attachments.empty()) {
    return absl::UnimplementedError(
        "--attach is not available in this version yet (attachments come with resumable sync)");
  }
  if (from.empty()) {
    return absl::UnimplementedError(
        "guided interactive recording is not available in this version yet; use --from FILE.json");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::Testimony> testimonies, ReadTestimonies(from));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(*vault));
  if (profile.project() != project) {
    return absl::InvalidArgumentError(
        absl::StrCat("this device records for project ", profile.project(), ", not ", project));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::vector<SealedRecord> sealed, SealTestimonies(*vault, testimonies));
  for (const SealedRecord& record : sealed) std::cout << ToHex(record.record_id) << "\n";
  std::cerr << "sealed " << sealed.size() << (sealed.size() == 1 ? " testimony" : " testimonies")
            << "; only the project's reviewers can open " << (sealed.size() == 1 ? "it" : "them")
            << " now. Run temoin sync when a link is up.\n";
  return absl::OkStatus();
}

absl::Status Sync(const Globals& g, const std::string& server, bool until_done,
                  double max_time_seconds) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  SyncOptions options;
  options.server_override = server;
  options.on_progress = PrintProgress;
  auto start = std::chrono::steady_clock::now();
  std::mt19937_64 rng(std::random_device{}());
  double backoff = 1.0;
  for (;;) {
    absl::StatusOr<SyncReport> report = SyncDevice(*vault, options);
    if (report.ok()) {
      for (const std::string& refusal : report->refusals) std::cerr << "sync: " << refusal << "\n";
      std::cerr << "sync: " << report->receipted << " receipts verified";
      if (report->pending == 0 && report->fetched == 0) std::cerr << ", nothing to upload";
      if (report->fetched > 0) std::cerr << ", " << report->fetched << " records fetched";
      if (report->refused > 0) std::cerr << ", " << report->refused << " refused";
      std::cerr << "\n";
      if (report->refused > 0) {
        return absl::FailedPreconditionError(
            absl::StrCat(report->refused, " records were refused by the server (see above)"));
      }
      return absl::OkStatus();
    }
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!until_done || !Retryable(report.status()) ||
        (max_time_seconds > 0 && elapsed + backoff > max_time_seconds)) {
      return report.status();
    }
    // Exponential backoff with full jitter, so that many devices regaining a link at
    // once do not retry in lockstep.
    double wait = std::uniform_real_distribution<double>(0.5, 1.0)(rng) * backoff;
    std::cerr << "sync: " << report.status().message() << "; retrying in "
              << static_cast<int>(wait + 0.5) << " s\n";
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    backoff = std::min(backoff * 2, 60.0);
  }
}

absl::Status Status(const Globals& g, bool json) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(*vault));
  TEMOIN_ASSIGN_OR_RETURN(auto counts, CountByState(*vault));
  std::string last_sync = profile.last_sync() ? FormatRfc3339(profile.last_sync()) : "never";
  if (json) {
    nlohmann::ordered_json out;
    out["device_id"] = ToHex(profile.device_id());
    out["role"] = RoleName(profile.role());
    out["project"] = profile.project();
    out["records"] = nlohmann::ordered_json::object();
    for (const char* state : {"draft", "sealed", "committed", "received", "purged"}) {
      out["records"][state] = counts[state];
    }
    out["last_sync"] = profile.last_sync() ? nlohmann::ordered_json(last_sync) : nullptr;
    std::cout << out.dump() << "\n";
    return absl::OkStatus();
  }
  std::cout << "device " << ToHex(profile.device_id()) << " (" << RoleName(profile.role())
            << (profile.project().empty() ? "" : ", project " + profile.project()) << ")\n";
  for (const char* state : {"draft", "sealed", "committed", "received", "purged"}) {
    std::cout << "  " << state << ": " << counts[state] << "\n";
  }
  std::cout << "last sync: " << last_sync << "\n";
  return absl::OkStatus();
}

absl::Status ReviewList(const Globals& g, bool offline) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(OpenedDesk desk, DeskAfterPull(g, *vault, offline));
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
              << "\t" << (acts.empty() ? "-" : acts) << "\n";
  }
  std::cerr << "review: " << desk.records.size() << " records\n";
  return absl::OkStatus();
}

absl::Status ReviewShow(const Globals& g, const std::string& id, bool offline) {
  TEMOIN_ASSIGN_OR_RETURN(std::string record_id, FromHex(id, "record id"));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(OpenedDesk desk, DeskAfterPull(g, *vault, offline));
  for (const OpenedRecord& r : desk.records) {
    if (r.record_id != record_id) continue;
    TEMOIN_ASSIGN_OR_RETURN(std::string json, RecordJson(r));
    std::cout << json;
    return absl::OkStatus();
  }
  return absl::NotFoundError("no such record on this reviewer's desk");
}

absl::Status ReviewExport(const Globals& g, const std::string& format, const std::string& out,
                          bool offline) {
  if (format != "json" && format != "csv") {
    return absl::InvalidArgumentError("--format must be json or csv");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(OpenedDesk desk, DeskAfterPull(g, *vault, offline));
  TEMOIN_ASSIGN_OR_RETURN(std::string text,
                          format == "json" ? ExportJson(desk.records) : ExportCsv(desk.records));
  // The export is the one place plaintext is meant to land on disk: owner-only.
  absl::Status written = WriteFileDurably(out, text, 0600);
  crypto::WipeString(text);
  TEMOIN_RETURN_IF_ERROR(written);
  std::cerr << "review: exported " << desk.records.size() << " records to " << out
            << " (plaintext: keep it safe)\n";
  return absl::OkStatus();
}

}  // namespace temoin::client::cli

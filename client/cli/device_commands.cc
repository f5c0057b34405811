// enroll, sync, status: what every device does.
#include <iostream>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/cli/cli_context.h"
#include "client/cli/passphrase.h"
#include "client/core/cover_selection.h"
#include "client/core/device_state.h"
#include "client/core/log_state.h"
#include "client/core/outbox.h"
#include "client/sync/enroll.h"
#include "client/sync/sync_engine.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace temoin::client::cli {
namespace {

// Records and bytes done of total, rate and time left: one live line on a terminal,
// otherwise a plain line at most every two seconds (logs stay readable).
class ProgressPrinter {
 public:
  ProgressPrinter() : tty_(isatty(STDERR_FILENO) == 1) {}
  // Ends the live line before the summary.
  void Finish() {
    if (tty_ && drew_) std::cerr << "\n";
    drew_ = false;
  }
  // A new attempt (after a cut): the rate is of this attempt's own bytes.
  void NewAttempt() { attempt_start_ = std::chrono::steady_clock::now(); }
  void operator()(const SyncProgress& p) {
    auto now = std::chrono::steady_clock::now();
    bool finished = p.records_done == p.records_total;
    if (!finished && now - last_ < std::chrono::milliseconds(tty_ ? 200 : 2000)) return;
    last_ = now;
    double seconds = std::chrono::duration<double>(now - attempt_start_).count();
    double rate = seconds > 0 ? p.bytes_sent / seconds : 0;
    std::string left = "-";
    if (rate > 0 && p.bytes_total > p.bytes_done) {
      left = absl::StrCat(static_cast<int64_t>((p.bytes_total - p.bytes_done) / rate), " s");
    }
    std::string line =
        absl::StrCat("sync: ", p.records_done, "/", p.records_total, " records, ",
                     p.bytes_done / 1024, "/", p.bytes_total / 1024, " KiB, ",
                     static_cast<int64_t>(rate / 1024 * 8), " kbit/s, ", left, " left");
    if (tty_) {
      std::cerr << "\r" << line << "\x1b[K" << std::flush;
      drew_ = true;
    } else {
      std::cerr << line << "\n";
    }
  }

 private:
  const bool tty_;
  bool drew_ = false;
  std::chrono::steady_clock::time_point attempt_start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

bool Retryable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded ||
         s.code() == absl::StatusCode::kResourceExhausted || s.code() == absl::StatusCode::kAborted;
}

// Records the server has acknowledged in some way (commitment or full receipt).
absl::StatusOr<uint64_t> SettledRecords(Vault& vault) {
  TEMOIN_ASSIGN_OR_RETURN(auto counts, CountByState(vault));
  return counts["committed"] + counts["received"] + counts["purged"];
}

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

absl::Status SyncAttempts(Vault& vault, const std::string& server, bool until_done,
                          double max_time_seconds) {
  SyncOptions options;
  options.server_override = server;
  auto printer = std::make_shared<ProgressPrinter>();
  // Bytes sent and acknowledged during an attempt (attachment pieces): progress the
  // outbox states below do not show. Not what the server already held at resume.
  auto bytes_sent = std::make_shared<uint64_t>(0);
  options.on_progress = [printer, bytes_sent](const SyncProgress& p) {
    *bytes_sent = std::max(*bytes_sent, p.bytes_sent);
    (*printer)(p);
  };
  // Attempts after the first reuse its session (SyncCarry): a cut then costs a TLS
  // handshake and the calls that move data, not a sign-in, a log check and commitments.
  options.carry = std::make_shared<SyncCarry>();
  auto start = std::chrono::steady_clock::now();
  std::mt19937_64 rng(std::random_device{}());
  double backoff = 0;
  for (;;) {
    *bytes_sent = 0;
    printer->NewAttempt();
    TEMOIN_ASSIGN_OR_RETURN(uint64_t settled_before, SettledRecords(vault));
    absl::StatusOr<SyncReport> report = SyncDevice(vault, options);
    // Said for failed attempts too: what a cut attempt moved is how a test (and an
    // operator) checks that a resumed upload re-sends at most a piece plus the window.
    if (*bytes_sent > 0) {
      printer->Finish();
      std::cerr << "sync: " << *bytes_sent
                << " B sent and acknowledged (records and attachment pieces)\n";
    }
    if (report.ok()) {
      for (const std::string& refusal : report->refusals) std::cerr << "sync: " << refusal << "\n";
      printer->Finish();
      std::cerr << "sync: " << report->receipted << " receipts verified";
      if (report->committed > 0) std::cerr << ", " << report->committed << " commitments fixed";
      if (report->relayed > 0) std::cerr << ", " << report->relayed << " records relayed";
      if (report->pending == 0 && report->fetched == 0) std::cerr << ", nothing to upload";
      if (report->fetched > 0) std::cerr << ", " << report->fetched << " records fetched";
      if (report->refused > 0) std::cerr << ", " << report->refused << " refused";
      if (report->proven > 0) std::cerr << ", " << report->proven << " shown in the log";
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
    // After an attempt that moved anything forward, reconnect at once, as tus and
    // PouchDB do: on a link that cuts every few seconds each attempt makes some progress,
    // and every second spent waiting is signal lost. Only attempts that achieved nothing
    // back off: 1, 2, 4 … 60 s with full jitter, so that many devices regaining a link at
    // once do not retry in lockstep.
    TEMOIN_ASSIGN_OR_RETURN(uint64_t settled_after, SettledRecords(vault));
    const bool progressed = settled_after > settled_before || *bytes_sent > 0;
    backoff = progressed ? 0 : std::clamp(backoff * 2, 1.0, 60.0);
    double wait = std::uniform_real_distribution<double>(0.5, 1.0)(rng) * backoff;
    if (wait > 0) {
      std::cerr << "sync: " << report.status().message() << "; retrying in "
                << static_cast<int>(wait + 0.5) << " s\n";
    } else {
      // What the attempt carried is kept; for a lost link, the long advice of a
      // connection that never worked would only mislead.
      std::cerr << "sync: "
                << (report.status().code() == absl::StatusCode::kUnavailable
                        ? "connection lost"
                        : std::string(report.status().message()))
                << " after progress (what arrived is kept); reconnecting now\n";
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
}

// Whatever the sync's result, vault.cover is rewritten from what the vault now holds
// (client/core/cover_selection.h): a sync cut after some records were receipted must
// not leave a cover whose profile reuses their sequence numbers.
absl::Status Sync(const Globals& g, const std::string& server, bool until_done,
                  double max_time_seconds) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  absl::Status synced = SyncAttempts(*vault, server, until_done, max_time_seconds);
  absl::Status cover = RefreshEnrolmentCover(*vault);
  TEMOIN_RETURN_IF_ERROR(synced);
  return cover;
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
    // What a court is given apart from an evidence package (docs/admin-guide.md, 7b).
    out["org_public_key"] = ToHex(profile.org_public_key());
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

// The last checkpoint of the server's transparency log this device verified, as the
// signed note it received (c2sp.org/tlog-checkpoint); no network.
absl::Status PrintCheckpoint(const Globals& g) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(std::optional<VerifiedCheckpoint> held, HeldCheckpoint(*vault));
  if (!held.has_value()) {
    return absl::NotFoundError("this device has verified no checkpoint yet: sync first");
  }
  std::cout << held->note;
  std::cerr << "checkpoint: tree of " << held->checkpoint.size << " leaves, log key " << held->vkey
            << "\n";
  return absl::OkStatus();
}

absl::Status Repin(const Globals& g, const std::string& pin_hex) {
  TEMOIN_ASSIGN_OR_RETURN(std::string pin, FromHex(pin_hex, "TLS pin"));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_RETURN_IF_ERROR(RepinServer(*vault, pin));
  std::cerr << "this device now trusts the server's TLS key " << pin_hex << " and no other\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterDeviceCommands(CLI::App& app, CommandContext& ctx) {
  const Globals& g = ctx.globals;
  auto* enroll = app.add_subcommand("enroll",
                                    "enrol this device with a one-time code; makes "
                                    "its keys and vault; stdout: the device id");
  auto* code = ctx.Keep<std::string>();
  enroll->add_option("CODE", *code, "the enrolment code (temoin1:...)")->required();
  enroll->callback([&ctx, &g, code] { ctx.result = Enroll(g, *code); });

  auto* sync = app.add_subcommand("sync",
                                  "upload sealed records and pull settings (monitors); "
                                  "pull grants and records (reviewers)");
  struct SyncArgs {
    std::string server;
    bool until_done = false;
    double max_time = 0;
  };
  auto* args = ctx.Keep<SyncArgs>();
  sync->add_option("--server", args->server,
                   "reach the server by another HOST:PORT; the pin holds");
  sync->add_flag("--until-done", args->until_done, "retry with backoff until the sync completes");
  sync->add_option("--max-time", args->max_time, "with --until-done: give up after SECONDS");
  sync->callback(
      [&ctx, &g, args] { ctx.result = Sync(g, args->server, args->until_done, args->max_time); });

  auto* status = app.add_subcommand("status", "outbox by state, last sync");
  auto* json = ctx.Keep<bool>();
  status->add_flag("--json", *json, "one JSON object; records holds the count per state");
  status->callback([&ctx, &g, json] { ctx.result = Status(g, *json); });

  auto* checkpoint = app.add_subcommand(
      "checkpoint",
      "print the last transparency-log checkpoint this device verified (signed note); "
      "no network");
  checkpoint->callback([&ctx, &g] { ctx.result = PrintCheckpoint(g); });

  auto* repin = app.add_subcommand(
      "repin",
      "trust the server's new TLS key, for a device that missed the announcement of a key "
      "rotation; only with the key your admin confirmed");
  auto* pin = ctx.Keep<std::string>();
  repin->add_option("--pin", *pin, "the server's new TLS key (64 hex), as the admin gave it")
      ->required();
  repin->callback([&ctx, &g, pin] { ctx.result = Repin(g, *pin); });
}

}  // namespace temoin::client::cli

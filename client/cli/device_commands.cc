// enroll, sync, status: what every device does.
#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/cli/cli_context.h"
#include "client/cli/passphrase.h"
#include "client/cli/stop_signals.h"
#include "client/cli/sync_run.h"
#include "client/core/cover_selection.h"
#include "client/core/device_state.h"
#include "client/core/log_state.h"
#include "client/core/outbox.h"
#include "client/sync/enroll.h"
#include "client/sync/sync_engine.h"
#include "client/sync/sync_watch.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace temoin::client::cli {
namespace {

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

// `sync` and `sync --until-done`: attempts one after the other, the vault held throughout.
absl::Status SyncAttempts(Vault& vault, const std::string& server, bool until_done,
                          double max_time_seconds) {
  SyncRun run(server, std::make_shared<SyncCarry>());
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    absl::Status attempt = run.Attempt(vault);
    if (attempt.ok() || !until_done) return attempt;
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::chrono::milliseconds> wait,
                            run.RetryAfter(vault, attempt));
    const std::chrono::duration<double> waited_by_then =
        std::chrono::steady_clock::now() - start + wait.value_or(std::chrono::milliseconds(0));
    if (!wait.has_value() || (max_time_seconds > 0 && waited_by_then.count() > max_time_seconds)) {
      return attempt;
    }
    SyncRun::AnnounceRetry(attempt, *wait);
    std::this_thread::sleep_for(*wait);
  }
}

// `sync --watch` (client/sync/sync_watch.h); Ctrl-C as StopSignals says.
absl::Status Watch(const Globals& g, const std::string& server, double interval_seconds) {
  if (!(interval_seconds >= 1 && interval_seconds <= 7 * 24 * 3600)) {
    return absl::InvalidArgumentError("--interval must be between 1 s and 7 days (in seconds)");
  }
  StopSignals stop;  // before the vault and gRPC start their threads
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  auto carry = std::make_shared<SyncCarry>();
  carry->keep_connection = true;
  SyncRun run(server, carry);
  WatchOptions options;
  options.interval = std::chrono::milliseconds(static_cast<int64_t>(interval_seconds * 1000));
  options.stop_fd = stop.stop_fd();
  options.waiting = [&stop](bool waiting) { stop.SetWaiting(waiting); };
  options.say = [](const std::string& line) { std::cerr << "sync: " << line << "\n"; };
  absl::Status watched = WatchAndSync(*vault, g.home, options, WatchRounds(run, *carry));
  std::cerr << "sync: watch " << (watched.ok() ? "stopped" : "ended") << "\n";
  return watched;
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
    bool watch = false;
    double interval = std::chrono::duration<double>(WatchOptions{}.interval).count();
  };
  auto* args = ctx.Keep<SyncArgs>();
  sync->add_option("--server", args->server,
                   "reach the server by another HOST:PORT; the pin holds");
  sync->add_flag("--until-done", args->until_done, "retry with backoff until the sync completes");
  sync->add_option("--max-time", args->max_time, "with --until-done: give up after SECONDS");
  auto* watch = sync->add_flag("--watch", args->watch,
                               "stay running: sync as soon as a record is saved (by `temoin "
                               "record` in another terminal) and every --interval; Ctrl-C stops");
  sync->add_option("--interval", args->interval,
                   "with --watch: seconds between syncs when nothing new is saved (default 600)")
      ->needs(watch);
  watch->excludes("--until-done")->excludes("--max-time");
  sync->callback([&ctx, &g, args] {
    ctx.result = args->watch ? Watch(g, args->server, args->interval)
                             : Sync(g, args->server, args->until_done, args->max_time);
  });

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

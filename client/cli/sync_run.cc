#include "client/cli/sync_run.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/core/cover_selection.h"
#include "client/core/outbox.h"
#include "common/status_macros.h"

namespace temoin::client::cli {

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

namespace {

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

}  // namespace

SyncRun::SyncRun(const std::string& server, std::shared_ptr<SyncCarry> carry)
    : printer_(std::make_shared<ProgressPrinter>()),
      bytes_sent_(std::make_shared<uint64_t>(0)),
      rng_(std::random_device{}()) {
  options_.server_override = server;
  // Bytes sent and acknowledged during an attempt (attachment pieces): progress the
  // outbox states do not show. Not what the server already held at resume.
  options_.on_progress = [printer = printer_, bytes_sent = bytes_sent_](const SyncProgress& p) {
    *bytes_sent = std::max(*bytes_sent, p.bytes_sent);
    (*printer)(p);
  };
  // Attempts after the first reuse its session (SyncCarry): a cut then costs a TLS
  // handshake and the calls that move data, not a sign-in, a log check and commitments.
  options_.carry = std::move(carry);
}

SyncRun::~SyncRun() = default;

absl::Status SyncRun::Attempt(Vault& vault) {
  *bytes_sent_ = 0;
  refused_ = 0;
  printer_->NewAttempt();
  TEMOIN_ASSIGN_OR_RETURN(settled_before_, SettledRecords(vault));
  absl::StatusOr<SyncReport> report = SyncDevice(vault, options_);
  // Said for failed attempts too: what a cut attempt moved is how a test (and an
  // operator) checks that a resumed upload re-sends at most a piece plus the window.
  if (*bytes_sent_ > 0) {
    printer_->Finish();
    std::cerr << "sync: " << *bytes_sent_
              << " B sent and acknowledged (records and attachment pieces)\n";
  }
  if (!report.ok()) return report.status();
  for (const std::string& refusal : report->refusals) std::cerr << "sync: " << refusal << "\n";
  printer_->Finish();
  std::cerr << "sync: " << report->receipted << " receipts verified";
  if (report->committed > 0) std::cerr << ", " << report->committed << " commitments fixed";
  if (report->relayed > 0) std::cerr << ", " << report->relayed << " records relayed";
  if (report->pending == 0 && report->fetched == 0) std::cerr << ", nothing to upload";
  if (report->fetched > 0) std::cerr << ", " << report->fetched << " records fetched";
  if (report->refused > 0) std::cerr << ", " << report->refused << " refused";
  if (report->proven > 0) std::cerr << ", " << report->proven << " shown in the log";
  std::cerr << "\n";
  backoff_seconds_ = 0;
  refused_ = report->refused;
  if (report->refused > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(report->refused, " records were refused by the server (see above)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::chrono::milliseconds>> SyncRun::RetryAfter(
    Vault& vault, const absl::Status& failed) {
  if (!Retryable(failed)) return std::nullopt;
  TEMOIN_ASSIGN_OR_RETURN(uint64_t settled_after, SettledRecords(vault));
  const bool progressed = settled_after > settled_before_ || *bytes_sent_ > 0;
  backoff_seconds_ = progressed ? 0 : std::clamp(backoff_seconds_ * 2, 1.0, 60.0);
  const double wait = std::uniform_real_distribution<double>(0.5, 1.0)(rng_) * backoff_seconds_;
  return std::chrono::milliseconds(static_cast<int64_t>(wait * 1000));
}

void SyncRun::AnnounceRetry(const absl::Status& failed, std::chrono::milliseconds wait) {
  if (wait.count() > 0) {
    std::cerr << "sync: " << failed.message() << "; retrying in " << (wait.count() + 500) / 1000
              << " s\n";
    return;
  }
  // What the attempt carried is kept; for a lost link, the long advice of a connection
  // that never worked would only mislead.
  std::cerr << "sync: "
            << (failed.code() == absl::StatusCode::kUnavailable ? "connection lost"
                                                                : std::string(failed.message()))
            << " after progress (what arrived is kept); reconnecting now\n";
}

namespace {

// Below the server's 15-minute session (server/core/sessions.h), with room for a sync.
constexpr std::chrono::minutes kSessionReuse{12};

}  // namespace

SyncRound WatchRounds(SyncRun& run, SyncCarry& carry) {
  return [&run, &carry](Vault& vault, RoundReason reason) -> absl::StatusOr<RoundOutcome> {
    TEMOIN_ASSIGN_OR_RETURN(bool work, HasWorkToSend(vault));
    if (reason == RoundReason::kChanged && !work) return RoundOutcome{.attempted = false};
    if (reason == RoundReason::kInterval || carry.TokenOlderThan(kSessionReuse)) carry.Forget();
    absl::Status attempt = run.Attempt(vault);
    absl::Status cover = RefreshEnrolmentCover(vault);
    if (attempt.ok() || run.refused() > 0) {
      TEMOIN_RETURN_IF_ERROR(cover);
      return RoundOutcome{};
    }
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::chrono::milliseconds> wait,
                            run.RetryAfter(vault, attempt));
    if (!wait.has_value()) return attempt;
    if (!work) {
      std::cerr << "sync: " << attempt.message() << "; the next try is at the next interval\n";
      return RoundOutcome{};
    }
    SyncRun::AnnounceRetry(attempt, *wait);
    return RoundOutcome{.retry_after = wait};
  };
}

}  // namespace temoin::client::cli

#include "server/core/witness_pool.h"

#include "absl/memory/memory.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace temoin::server {
namespace {

constexpr auto kRoundInterval = std::chrono::seconds(1);

// c2sp.org/tlog-witness add-checkpoint body: "old N", the proof, a blank line, the note.
std::string AddCheckpointBody(uint64_t old_size, const std::vector<std::string>& proof,
                              absl::string_view note) {
  std::string body = absl::StrCat("old ", old_size, "\n");
  for (const std::string& hash : proof) absl::StrAppend(&body, absl::Base64Escape(hash), "\n");
  return absl::StrCat(body, "\n", note);
}

// The witness's own line among those it answered (untrusted), checked against the note.
absl::StatusOr<std::string> CheckedLine(absl::string_view reply, absl::string_view note,
                                        const crypto::CosignerVerifier& verifier) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::NoteParts parts, crypto::SplitNote(note));
  const std::string prefix = absl::StrCat("\xe2\x80\x94 ", verifier.name, " ");
  for (absl::string_view line : absl::StrSplit(reply, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, prefix)) continue;
    std::vector<std::string> one = {std::string(line)};
    absl::StatusOr<std::vector<crypto::VerifiedCosignature>> verified =
        crypto::VerifyCosignatures(parts.text, one, {verifier});
    if (verified.ok() && verified->size() == 1) return absl::StrCat(line, "\n");
  }
  return absl::UnauthenticatedError("the witness answered no valid cosignature");
}

}  // namespace

absl::StatusOr<WitnessConfig> ParseWitnessFlag(absl::string_view flag) {
  // A vkey may end in base64's '=' padding; a witness URL holds no '=' (no query).
  const size_t eq = flag.find('=');
  if (eq == absl::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError("--witness must be URL=VKEY");
  }
  WitnessConfig config{std::string(flag.substr(0, eq)), std::string(flag.substr(eq + 1))};
  if (!absl::StartsWith(config.url, "http://") && !absl::StartsWith(config.url, "https://")) {
    return absl::InvalidArgumentError("--witness URL must start with http:// or https://");
  }
  TEMOIN_RETURN_IF_ERROR(crypto::ParseCosignerVkey(config.vkey).status());
  return config;
}

WitnessPool::WitnessPool(std::vector<Witness> witnesses, TransparencyLog* log,
                         std::unique_ptr<WitnessTransport> transport, Reporter reporter)
    : log_(log),
      transport_(std::move(transport)),
      reporter_(std::move(reporter)),
      witnesses_(std::move(witnesses)) {}

absl::StatusOr<std::unique_ptr<WitnessPool>> WitnessPool::Create(
    std::vector<WitnessConfig> configs, TransparencyLog* log,
    std::unique_ptr<WitnessTransport> transport, Reporter reporter) {
  std::vector<Witness> witnesses;
  for (WitnessConfig& config : configs) {
    TEMOIN_ASSIGN_OR_RETURN(crypto::CosignerVerifier verifier,
                            crypto::ParseCosignerVkey(config.vkey));
    while (!config.url.empty() && config.url.back() == '/') config.url.pop_back();
    witnesses.push_back(Witness{std::move(config), std::move(verifier)});
  }
  return absl::WrapUnique(
      new WitnessPool(std::move(witnesses), log, std::move(transport), std::move(reporter)));
}

WitnessPool::~WitnessPool() { Stop(); }

void WitnessPool::Start() {
  thread_ = std::thread([this] {
    auto last_round = std::chrono::steady_clock::now() - kRoundInterval;
    std::unique_lock lock(mu_);
    while (!stopping_) {
      // At most one round a second, however often it is nudged.
      wake_.wait_until(lock, last_round + kRoundInterval, [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      last_round = std::chrono::steady_clock::now();
      absl::Status round = SubmitLatest();
      lock.lock();
      if (!round.ok() && reporter_) reporter_("(log)", round);
      wake_.wait_for(lock, kRoundInterval, [this] { return stopping_ || nudged_; });
      nudged_ = false;
    }
  });
}

void WitnessPool::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WitnessPool::Nudge() {
  {
    std::lock_guard lock(mu_);
    nudged_ = true;
  }
  wake_.notify_all();
}

void WitnessPool::Report(Witness& witness, const absl::Status& status) {
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    changed = witness.last.code() != status.code() || witness.last.message() != status.message();
    witness.last = status;
  }
  if (changed && reporter_) reporter_(witness.config.url, status);
}

absl::Status WitnessPool::SubmitLatest() {
  TEMOIN_ASSIGN_OR_RETURN(uint64_t size, log_->Size());
  // Size 0 too (the empty tree's root): a device requiring cosignatures holds one.
  {
    std::lock_guard lock(mu_);
    bool all_done = current_.has_value() && current_->size == size;
    for (const Witness& w : witnesses_) {
      all_done = all_done && w.cosigned_note == current_->note;
    }
    if (all_done) {
      ++rounds_;
      round_done_.notify_all();
      return absl::OkStatus();
    }
  }
  TEMOIN_ASSIGN_OR_RETURN(TransparencyLog::Signed checkpoint, log_->CheckpointCovering(size));
  {
    std::lock_guard lock(mu_);
    current_ = checkpoint;
  }
  for (Witness& witness : witnesses_) {
    if (witness.cosigned_note == checkpoint.note) continue;
    Report(witness, Submit(witness, checkpoint));
  }
  std::lock_guard lock(mu_);
  ++rounds_;
  round_done_.notify_all();
  return absl::OkStatus();
}

absl::Status WitnessPool::Submit(Witness& witness, const TransparencyLog::Signed& checkpoint) {
  // Unknown after a restart: "old 0" makes the witness say its size (409).
  uint64_t old_size = witness.cosigned_size.value_or(0);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (old_size > checkpoint.size) {
      return absl::DataLossError(absl::StrCat(
          "the witness holds a checkpoint of ", old_size, " leaves, more than this log's ",
          checkpoint.size, ": was this server's data restored from an old copy?"));
    }
    absl::StatusOr<std::string> line = Post(witness, checkpoint, old_size);
    if (line.ok()) {
      std::lock_guard lock(mu_);
      witness.cosigned_size = checkpoint.size;
      witness.cosigned_note = checkpoint.note;
      witness.line = *std::move(line);
      return absl::OkStatus();
    }
    uint64_t witness_size = 0;
    if (line.status().code() != absl::StatusCode::kAborted ||
        !absl::SimpleAtoi(line.status().message(), &witness_size)) {
      return line.status();
    }
    witness.cosigned_size = witness_size;
    old_size = witness_size;
  }
  return absl::AbortedError("the witness's size kept changing");
}

absl::StatusOr<std::string> WitnessPool::Post(Witness& witness,
                                              const TransparencyLog::Signed& checkpoint,
                                              uint64_t old_size) {
  std::vector<std::string> proof;
  if (old_size > 0 && old_size < checkpoint.size) {
    TEMOIN_ASSIGN_OR_RETURN(proof, log_->ConsistencyProof(old_size, checkpoint.size));
  }
  TEMOIN_ASSIGN_OR_RETURN(
      WitnessTransport::Reply reply,
      transport_->AddCheckpoint(witness.config.url,
                                AddCheckpointBody(old_size, proof, checkpoint.note)));
  if (reply.status == 200) return CheckedLine(reply.body, checkpoint.note, witness.verifier);
  if (reply.status == 409) {
    // Its size, for the retry (kAborted carries it; not an error the caller sees).
    return absl::AbortedError(absl::StripAsciiWhitespace(reply.body));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("the witness refused the checkpoint of ", checkpoint.size, " leaves (HTTP ",
                   reply.status, ": ", absl::StripAsciiWhitespace(reply.body.substr(0, 200)), ")"));
}

std::optional<TransparencyLog::Signed> WitnessPool::CosignedLocked(uint64_t min_size,
                                                                   bool need_all) {
  if (!current_.has_value() || current_->size < min_size) return std::nullopt;
  TransparencyLog::Signed signed_checkpoint = *current_;
  for (const Witness& w : witnesses_) {
    if (w.cosigned_note == current_->note) {
      signed_checkpoint.note += w.line;
    } else if (need_all && w.last.ok()) {
      return std::nullopt;  // a witness that answers has not cosigned this one yet
    }
  }
  return signed_checkpoint;
}

std::optional<TransparencyLog::Signed> WitnessPool::Cosigned(uint64_t min_size,
                                                             std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_lock lock(mu_);
  if (std::optional<TransparencyLog::Signed> ready = CosignedLocked(min_size, true)) return ready;
  nudged_ = true;
  wake_.notify_all();
  // Two rounds at most: the one under way may have started before the log grew.
  const uint64_t until_round = rounds_ + 2;
  while (rounds_ < until_round) {
    if (round_done_.wait_until(lock, deadline) == std::cv_status::timeout) break;
    if (std::optional<TransparencyLog::Signed> ready = CosignedLocked(min_size, true)) return ready;
  }
  return CosignedLocked(min_size, false);
}

}  // namespace temoin::server

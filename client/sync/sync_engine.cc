#include "client/sync/sync_engine.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/core/attachments.h"
#include "client/core/bundle.h"
#include "client/core/device_state.h"
#include "client/core/log_state.h"
#include "client/core/outbox.h"
#include "client/core/owed_proofs.h"
#include "client/core/review_desk.h"
#include "client/core/server_keys_state.h"
#include "client/core/witness_policy.h"
#include "client/sync/attachment_transfer.h"
#include "client/sync/batch_sizer.h"
#include "client/sync/commitment_batches.h"
#include "client/sync/connection.h"
#include "client/sync/fetched_proofs.h"
#include "client/sync/log_check.h"
#include "client/sync/positional_answers.h"
#include "client/sync/upload_sign_in.h"
#include "client/sync/upload_window.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/vocabulary.h"
#include "crypto/envelope.h"
#include "crypto/keys.h"
#include "crypto/secret_buffer.h"
#include "crypto/server_keys.h"

namespace temoin::client {
namespace {

// Hash of the project keys and bundle key last pulled (see GetSettingsRequest.keys_hash).
constexpr char kKeysHashKey[] = "keys_hash";

// Bytes of each settings hash sent: change detection needs no collision resistance
// against the server, which is who sends the settings (project keys are org-signed and
// checked here anyway), and 128 bits make an accidental match impossible in practice.
// 32 B less up every sync. The keys hash is stored whole, as before.
constexpr size_t kSettingsHashBytes = 16;

// What the device holds, as hashes: the server sends only what differs.
absl::StatusOr<v1::GetSettingsRequest> SettingsRequest(Vault& vault, bool no_session) {
  v1::GetSettingsRequest request;
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> held, vault.Get(kSettingsNs, "vocabulary"));
  if (held.has_value()) {
    request.set_vocabulary_hash(
        crypto::Hash256(kVocabularyHashContext, *held).substr(0, kSettingsHashBytes));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> keys_hash,
                          vault.Get(kSettingsNs, kKeysHashKey));
  if (keys_hash.has_value()) request.set_keys_hash(keys_hash->substr(0, kSettingsHashBytes));
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> server_keys,
                          vault.Get(kSettingsNs, kServerKeysName));
  v1::ServerKeyStatement statement;
  if (server_keys.has_value() && statement.ParseFromString(*server_keys)) {
    request.set_server_keys_hash(crypto::Hash256(crypto::kServerKeysHashContext, statement.body())
                                     .substr(0, kSettingsHashBytes));
  }
  // The log check rides along (log_check.h): every sync that reaches the server checks
  // the log, at no extra call. A no-op sync (no session) asks for the checkpoint alone,
  // which shows a rollback or a fork at a quarter of the bytes (it has nothing to prove
  // or purge, and no checkpoint to compare with before the first sync).
  TEMOIN_ASSIGN_OR_RETURN(std::optional<VerifiedCheckpoint> checkpoint, HeldCheckpoint(vault));
  if (!no_session) {
    *request.mutable_log() = SyncLogRequest(checkpoint);
  } else if (checkpoint.has_value()) {
    *request.mutable_log() = ConsistencyRequest(checkpoint);
    request.mutable_log()->set_checkpoint_only(true);
  }
  return request;
}

// A fork, a rollback (kDataLoss) or too few witness cosignatures (kFailedPrecondition)
// found before the upload: said to have cost nothing. `sent`: found as the upload began
// (the sign-in rode on it, UploadSignIn), before any receipt was taken.
absl::Status NothingSent(absl::Status checked, bool sent = false) {
  if (checked.code() == absl::StatusCode::kDataLoss ||
      checked.code() == absl::StatusCode::kFailedPrecondition) {
    return absl::Status(
        checked.code(),
        absl::StrCat(checked.message(),
                     sent ? "; this sync purged nothing (the records it began to send stay "
                            "sealed on this device)"
                          : "; this sync sent and purged nothing"));
  }
  return checked;
}

// The log answer that rode on the settings pull, checked as any other (log_check.h), or
// for a no-op sync's checkpoint alone, against the checkpoint held.
absl::Status AcceptSettingsLog(Vault& vault, const v1::Profile& profile,
                               const v1::GetSettingsRequest& request,
                               const v1::GetLogProofsResponse& answer, bool sent) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<VerifiedCheckpoint> held, HeldCheckpoint(vault));
  if (request.log().checkpoint_only()) {
    if (!held.has_value()) return absl::OkStatus();
    TEMOIN_ASSIGN_OR_RETURN(std::optional<HeldServerKeys> statement,
                            LoadServerKeys(vault, profile.org_public_key()));
    absl::Status checked =
        CheckCheckpointAgainstHeld(answer, *held, statement ? &statement->keys : nullptr);
    if (checked.code() == absl::StatusCode::kDataLoss) {
      v1::GetLogProofsResponse kept = answer;
      kept.set_log_vkey(held->vkey);  // the key it verified with, for the evidence
      TEMOIN_RETURN_IF_ERROR(KeepLogEvidence(vault, held, kept));
    }
    return NothingSent(checked, sent);
  }
  TEMOIN_ASSIGN_OR_RETURN(WitnessPolicy witnesses, LoadWitnessPolicy(vault));
  return NothingSent(
      AcceptLogAnswer(vault, profile.server_signing_key(), witnesses, {}, answer, held), sent);
}

// What the server this device last signed in to says it does (GetSettingsResponse),
// kept in the vault: read before an upload whose sign-in may ride on it, so it is the
// last sign-in's word. An older server says nothing, and the device behaves as before.
//   server_attachment_closing: it fixes a record with attachments by its body's
//     answer and takes an attachment stream's closing (attachment_closing);
//   server_commitment_batches: it takes UploadRequest.commitment_batch.
constexpr char kAttachmentClosingKey[] = "server_attachment_closing";
constexpr char kCommitmentBatchesKey[] = "server_commitment_batches";

absl::Status RememberServerFeature(Vault& vault, const char* key, bool said) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> held, vault.Get(kSettingsNs, key));
  if (held.has_value() == said) return absl::OkStatus();
  VaultBatch batch;
  if (said) {
    batch.Put(kSettingsNs, key, "1");
  } else {
    batch.Delete(kSettingsNs, key);
  }
  return vault.Commit(batch);
}

absl::StatusOr<bool> ServerSaid(Vault& vault, const char* key) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> held, vault.Get(kSettingsNs, key));
  return held.has_value();
}

absl::StatusOr<bool> ServerClosesAttachments(Vault& vault) {
  return ServerSaid(vault, kAttachmentClosingKey);
}

absl::Status ApplySettings(Vault& vault, const v1::GetSettingsResponse& settings,
                           v1::Profile& profile) {
  TEMOIN_RETURN_IF_ERROR(
      RememberServerFeature(vault, kAttachmentClosingKey, settings.attachment_closing()));
  TEMOIN_RETURN_IF_ERROR(
      RememberServerFeature(vault, kCommitmentBatchesKey, settings.commitment_batches()));
  if (settings.has_next_tls_key()) {
    TEMOIN_RETURN_IF_ERROR(StoreTlsKeyAnnouncement(vault, settings.next_tls_key()));
  }
  if (settings.has_server_keys()) {
    TEMOIN_RETURN_IF_ERROR(
        StoreServerKeyStatement(vault, settings.server_keys(), profile.org_public_key()));
  }
  // Before anything is sent: receipts must come under a key the organisation certified
  // (after a receipt-key rotation, the server's new one).
  TEMOIN_RETURN_IF_ERROR(FollowReceiptKey(vault, profile, settings.receipt_key_id()));
  TEMOIN_RETURN_IF_ERROR(
      CheckReceiptKeyCertified(vault, profile.org_public_key(), profile.server_signing_key()));
  if (!settings.vocabulary_unchanged()) {
    TEMOIN_RETURN_IF_ERROR(
        vault.Put(kSettingsNs, "vocabulary", settings.vocabulary().SerializeAsString()));
  }
  if (settings.keys_unchanged()) return absl::OkStatus();
  if (settings.bundle_public_key().size() == 32) {
    TEMOIN_RETURN_IF_ERROR(vault.Put(kSettingsNs, "bundle_key", settings.bundle_public_key()));
  }
  for (const v1::SignedProjectKey& key : settings.project_keys()) {
    TEMOIN_RETURN_IF_ERROR(StoreSignedProjectKey(vault, key, profile.org_public_key()).status());
  }
  // Only once every key is stored: a hash of keys the device lacks would hide them.
  v1::GetSettingsResponse keys;
  *keys.mutable_project_keys() = settings.project_keys();
  keys.set_bundle_public_key(settings.bundle_public_key());
  return vault.Put(kSettingsNs, kKeysHashKey,
                   crypto::Hash256(kSettingsKeysHashContext, keys.SerializeAsString()));
}

// The settings that rode on a sign-in, applied, and the log answer that rode with them
// checked (unset from a server before the log rode on settings: the caller checks it
// apart). `*log_checked`: whether that was a full check (not a no-op sync's). `sent` as
// for NothingSent.
absl::Status TakeSignInSettings(Vault& vault, v1::Profile& profile,
                                const v1::GetSettingsRequest& request,
                                const v1::GetSettingsResponse& response, bool sent,
                                bool* log_checked) {
  TEMOIN_RETURN_IF_ERROR(ApplySettings(vault, response, profile));
  if (!response.has_log()) return absl::OkStatus();
  TEMOIN_RETURN_IF_ERROR(AcceptSettingsLog(vault, profile, request, response.log(), sent));
  if (log_checked != nullptr) *log_checked = !request.log().checkpoint_only();
  return absl::OkStatus();
}

// Builds the next request (its batch_id already set) of at most `max_bytes` (always at
// least one item), or returns false when nothing is left.
using NextRequest = std::function<bool(size_t max_bytes, v1::UploadRequest& request)>;

// The writer's side of StreamBatches: batches while the window lets them go, then the
// closing, then the end of writes. Returns when the stream or the reader stops it.
void WriteBatches(grpc::ClientReaderWriter<v1::UploadRequest, v1::UploadResponse>& stream,
                  UploadWindow& window, const NextRequest& next, const v1::UploadRequest* closing) {
  uint64_t batch_id = 0;
  for (;; ++batch_id) {
    std::optional<size_t> target = window.NextBatchBytes();
    if (!target.has_value()) return;
    v1::UploadRequest request;
    request.set_batch_id(batch_id);
    if (!next(*target, request)) break;
    window.Sent(batch_id, request.ByteSizeLong());
    if (!stream.Write(request)) return;
  }
  if (closing != nullptr) {
    v1::UploadRequest last = *closing;
    last.set_batch_id(batch_id);
    if (!stream.Write(last)) return;
  }
  stream.WritesDone();
}

// The reader's side: the sign-in's answer first when the call carries one, then each
// answer, which opens the window before `on_response` takes it.
absl::Status ReadAnswers(grpc::ClientReaderWriter<v1::UploadRequest, v1::UploadResponse>& stream,
                         UploadWindow& window,
                         const std::function<absl::Status(const v1::UploadResponse&)>& on_response,
                         UploadSignIn* sign_in) {
  v1::UploadResponse response;
  while (stream.Read(&response)) {
    if (sign_in != nullptr && !sign_in->answered()) {
      // Nothing is taken before the sign-in's answer and its log check: a receipt
      // taken first would purge its record before the log was checked.
      absl::Status taken =
          response.sign_in().empty()
              ? absl::DataLossError("the server answered a batch before the sign-in")
              : sign_in->Take(response.sign_in());
      crypto::WipeString(*response.mutable_sign_in());  // it holds the session token
      TEMOIN_RETURN_IF_ERROR(taken);
      continue;
    }
    window.Answered(response.batch_id());
    TEMOIN_RETURN_IF_ERROR(on_response(response));
  }
  return absl::OkStatus();
}

// How the stream ended, once both sides are done: the answers' error first, then a
// sign-in that was never answered, then the call's status.
absl::Status UploadEnd(const absl::Status& answers, const grpc::Status& status,
                       const grpc::ClientContext& context, UploadSignIn* sign_in,
                       const std::string& address) {
  TEMOIN_RETURN_IF_ERROR(answers);
  if (sign_in != nullptr && !sign_in->answered()) {
    if (status.ok()) {
      // No batch can have been answered without it: a server that ends the stream
      // there has not signed the device in, and later streams would have no session.
      return absl::DataLossError("the server ended the upload without answering its sign-in");
    }
    return sign_in->Refused(status, context);
  }
  return FromGrpc(status, address);
}

// Streams requests on one Upload call and hands each response to `on_response` as it
// arrives (durable on the server by then). A batch is stored only when it arrives
// whole, so a cut loses every unanswered batch: UploadWindow and BatchSizer size the
// batches and the unanswered bytes (at most `window` batches, never above
// `max_window_bytes`), first by answer delay from `initial_batch_bytes`, then from the
// link's measured rate and round trip. A 2G link settles on batches of about a second of
// air time (the 8 KiB floor); loopback reaches full batches after a handful of answers.
// `closing`, when given, goes after the last batch, without waiting for answers, with
// the batch id of the `next` call that returned false: it asks for the log proofs of
// what the stream receipted (UploadRequest.log), which arrive as the last answer.
// `sign_in`, when given, opens the call instead of a session token: its answer must
// come first and is taken before any other (UploadSignIn).
absl::Status StreamBatches(
    Connection& connection, const SyncOptions& options, const NextRequest& next,
    const std::function<absl::Status(const v1::UploadResponse&)>& on_response,
    const v1::UploadRequest* closing = nullptr, UploadSignIn* sign_in = nullptr) {
  std::unique_ptr<grpc::ClientContext> context =
      connection.NewContext(Connection::kTransferDeadline);
  if (sign_in != nullptr) sign_in->AddTo(*context);
  auto stream = connection.sync().Upload(context.get());
  UploadWindow window({.initial_batch_bytes = options.initial_batch_bytes,
                       .max_batch_bytes = options.max_batch_bytes,
                       .max_batches = options.window,
                       .max_window_bytes = options.max_window_bytes,
                       .least_batches = options.least_window_batches});
  std::thread writer([&] { WriteBatches(*stream, window, next, closing); });
  absl::Status answers = ReadAnswers(*stream, window, on_response, sign_in);
  window.Close();
  if (!answers.ok()) context->TryCancel();
  writer.join();
  grpc::Status status = stream->Finish();
  return UploadEnd(answers, status, *context, sign_in, connection.address());
}

void NoteRefusal(const v1::RecordResult& result, SyncReport& report) {
  ++report.refused;
  report.refusals.push_back(
      absl::StrCat("record ", ToHex(result.record_id()), ": ", result.message()));
}

// Set durably before bodies go out and cleared once an upload ends cleanly: when it is
// still set at the start of a sync, the previous attempt was cut (link, kill, crash).
constexpr char kUploadCutKey[] = "upload_cut";

// Commitments first when the previous attempt was cut (one round trip for all of them:
// it also brings back the receipts of records that reached the server another way,
// e.g. a relayed bundle), then the bodies the server lacks, then attachments. After a
// clean attempt the link is good enough for bodies to follow at once, so records
// without attachments skip the commitment: the body's full receipt fixes the record
// as well, and a second pass would double the server's verifies and the bytes.
// `pending` is PendingRecords, read before signing in.
// The most receipted records proven by one answer: one joint proof per group keeps an
// answer small enough to arrive between two cuts of a 2G link even when the records
// are scattered through the log (a path each for 300 records was ~125 KB, and
// field_link_test saw it asked for again at every reconnection); a run of 256 adjacent
// records is ~1 KB of proof.
constexpr size_t kProofsPerAnswer = 256;
// The most log indexes a stream's closing asks the server to prove: its limit on one
// request (Core::GetLogProofs; more gets an empty closing answer). A sync's receipts
// come in batches of adjacent leaves, so its joint proof stays small; a closing capped
// at kProofsPerAnswer made a sync of 1,000 records ask four GetLogProofs calls after
// its upload, 2.7 s of a 46 s sync at a 600 ms round trip. Proofs owed from earlier
// syncs may be scattered through the log (1,024 such leaves are ~290 KiB of proof in a
// log of a million, too much for the last message of a stream on 2G), so a closing
// names them only while they are at most kProofsPerAnswer. What a closing does not
// prove (cut, or more than this) is proven after it in groups of kProofsPerAnswer.
constexpr size_t kMaxClosingIndexes = 1024;

// Whether a stream may close with the proofs of `asked` indexes named by the device
// (owed from before, receipted by the commitments) and `streamed` the stream receipts.
bool ClosingFits(size_t asked, size_t streamed) {
  return asked <= kProofsPerAnswer && asked + streamed <= kMaxClosingIndexes;
}

// The log index a whole receipt names (0 when its body does not parse).
uint64_t ReceiptLogIndex(const v1::Receipt& receipt) {
  v1::ReceiptBody body;
  return body.ParseFromString(receipt.body()) ? body.log_index() : 0;
}

// Whether the record `entry` holds has attachments (their upload follows its body).
bool HasAttachments(const v1::OutboxEntry& entry) {
  v1::RecordHeader header;
  return header.ParseFromString(entry.envelope().header()) && header.attachments_size() > 0;
}

// Log proofs that came as a stream's closing answer (UploadRequest.log, or
// AttachmentChunk.log when attachments follow the bodies), and the log indexes they
// prove: those the device asked for and those the stream receipted. They stand for a GetLogProofs
// call only when these are exactly the leaves the device then holds receipts for; otherwise it asks
// as before.
struct StreamProofs {
  std::set<uint64_t> log_indexes;
  v1::GetLogProofsResponse answer;
};

// One monitor's upload, in the protocol's three steps. State shared by the steps:
// which records are done (full receipt), have their body on the server, or were
// refused, and the progress shown to the person.
class RecordUpload {
 public:
  // `owed`: leaves receipted by earlier syncs whose proofs are still owed; the closing
  // request asks for them too.
  // `sign_in`, when given, opens the first stream (see UploadSignIn).
  RecordUpload(Vault& vault, Connection& connection, const SyncOptions& options,
               const std::vector<v1::OutboxEntry>& pending,
               const std::vector<crypto::LogLeaf>& owed, SyncReport& report, UploadSignIn* sign_in)
      : vault_(vault),
        connection_(connection),
        options_(options),
        pending_(pending),
        report_(report),
        progress_{.records_total = pending.size()},
        opening_(sign_in),
        sign_in_(sign_in) {
    for (const crypto::LogLeaf& leaf : owed) asked_log_indexes_.insert(leaf.log_index);
    for (const auto& entry : pending) {
      progress_.bytes_total += entry.envelope().ByteSizeLong();
      v1::RecordHeader header;
      header.ParseFromString(entry.envelope().header());
      for (const v1::AttachmentRef& ref : header.attachments()) progress_.bytes_total += ref.size();
      by_id_[header.record_id()] = &entry;
    }
  }

  absl::Status Run() {
    absl::Status status = RunSteps();
    if (opening_ != nullptr && !opening_->answered()) {
      // The sign-in was refused (or never answered): the server read no batch, so this
      // was no cut, and the retry should not send commitments first or shrink batches.
      if (!previous_cut_) {
        VaultBatch unmark;
        unmark.Delete(kSettingsNs, kUploadCutKey);
        vault_.Commit(unmark).IgnoreError();  // kept, it costs commitments, no more
      }
      return status;
    }
    if (options_.carry != nullptr) LearnFromAttempt(*options_.carry, status.ok());
    return status;
  }

  // Set when the bodies stream ended with log proofs (after Run).
  std::optional<StreamProofs>& stream_proofs() { return stream_proofs_; }

 private:
  absl::Status RunSteps() {
    report_.pending = pending_.size();
    if (pending_.empty()) return absl::OkStatus();
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> cut_mark,
                            vault_.Get(kSettingsNs, kUploadCutKey));
    const bool previous_cut = cut_mark.has_value();
    previous_cut_ = previous_cut;
    if (!previous_cut) TEMOIN_RETURN_IF_ERROR(vault_.Put(kSettingsNs, kUploadCutKey, "1"));
    ReportProgress();
    TEMOIN_RETURN_IF_ERROR(SendCommitments(previous_cut));
    TEMOIN_RETURN_IF_ERROR(SendBodies());
    TEMOIN_RETURN_IF_ERROR(SendAttachments());
    VaultBatch clean;
    clean.Delete(kSettingsNs, kUploadCutKey);
    return vault_.Commit(clean);
  }

  // After a cut, what a later attempt of this run needs: how many bytes a connection
  // carried. (Which bodies went unanswered is not enough to skip commitments: after a
  // cut every record not yet committed is committed first, so that a minute of signal
  // fixes what exists, DESIGN.md "Sync".)
  void LearnFromAttempt(SyncCarry& carry, bool completed) {
    if (completed || bodies_sent_bytes_ + commitment_bytes_ == 0) return;
    const double bytes = static_cast<double>(bodies_sent_bytes_ + commitment_bytes_);
    carry.bytes_per_connection =
        carry.bytes_per_connection == 0 ? bytes : (carry.bytes_per_connection + bytes) / 2;
  }

  // Batch sizes for this attempt: after a cut, at most 1/16 of what a connection has
  // carried (not below 2 KiB), and a window of two batches unless the round trip asks
  // for more, or one where answers cross at once (BatchSizer): what is unanswered at a
  // cut is sent again. 256 kbit/s cut every ~64 KiB settles on 4 KiB batches.
  SyncOptions SizedForTheLink() const {
    SyncOptions sized = options_;
    const SyncCarry* carry = options_.carry.get();
    if (carry == nullptr || carry->bytes_per_connection <= 0) return sized;
    const size_t ceiling = std::clamp<size_t>(static_cast<size_t>(carry->bytes_per_connection / 16),
                                              2 << 10, options_.max_batch_bytes);
    sized.max_batch_bytes = ceiling;
    sized.initial_batch_bytes = std::min(options_.initial_batch_bytes, ceiling);
    sized.least_window_batches = 2;
    return sized;
  }

  void ReportProgress() {
    if (options_.on_progress) options_.on_progress(progress_);
  }

  uint64_t EnvelopeBytes(const std::string& id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? 0 : it->second->envelope().ByteSizeLong();
  }

  void RecordDone(const std::string& id) {
    if (!done_.insert(id).second) return;
    ++progress_.records_done;
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return;
    v1::RecordHeader header;
    header.ParseFromString(it->second->envelope().header());
    progress_.bytes_done += it->second->envelope().ByteSizeLong();
    progress_.bytes_sent += it->second->envelope().ByteSizeLong();
    for (const v1::AttachmentRef& ref : header.attachments()) progress_.bytes_done += ref.size();
  }

  // The server holds the body (awaiting its attachments): done, though maybe not sent now.
  void BodyIn(const std::string& id, bool sent_now) {
    if (!body_in_.insert(id).second) return;
    progress_.bytes_done += EnvelopeBytes(id);
    if (sent_now) progress_.bytes_sent += EnvelopeBytes(id);
  }

  // 1. After a cut: commitments of records not yet committed (a committed record's
  // commitment is durable on the server already; resending all of them after every
  // cut would cost ~200 B a record per connection) and of every record with
  // attachments (the answer says whether its body is in). A body that an earlier
  // attempt of this run saw arrive needs no commitment to say so again (SyncCarry: the
  // same server process still holds it). After a clean attempt nothing: a body's
  // answer fixes its record, with a full receipt or, for a record whose attachments
  // are still to come, a commitment receipt (one round trip less, issue 13); from a
  // server that does not say it answers so, records with attachments are committed
  // first as before.
  absl::Status SendCommitments(bool previous_cut) {
    TEMOIN_ASSIGN_OR_RETURN(std::vector<const v1::OutboxEntry*> to_commit, ToCommit(previous_cut));
    if (to_commit.empty()) return absl::OkStatus();
    TEMOIN_ASSIGN_OR_RETURN(const bool batches, ServerSaid(vault_, kCommitmentBatchesKey));
    if (batches) return SendCommitmentBatches(to_commit);
    std::vector<v1::Commitment> commitments;
    for (const v1::OutboxEntry* entry : to_commit) {
      commitments.push_back(crypto::MakeCommitment(entry->envelope()));
    }
    size_t next = 0;
    auto next_commitments = [&](size_t max_bytes, v1::UploadRequest& request) {
      size_t bytes = 0;
      while (next < commitments.size() && request.commitments_size() < kMaxCommitmentsPerRequest) {
        size_t size = commitments[next].ByteSizeLong();
        if (request.commitments_size() > 0 && bytes + size > max_bytes) break;
        *request.add_commitments() = commitments[next++];
        bytes += size;
      }
      commitment_bytes_ += bytes;
      return request.commitments_size() > 0;
    };
    return StreamBatches(
        connection_, options_, next_commitments,
        [&](const v1::UploadResponse& response) {
          return TakeCommitmentResults({response.results().begin(), response.results().end()});
        },
        /*closing=*/nullptr, std::exchange(sign_in_, nullptr));
  }

  // The records SendCommitments commits (see above). A record whose body an earlier
  // attempt of this run saw arrive is marked in (BodyIn) here instead.
  absl::StatusOr<std::vector<const v1::OutboxEntry*>> ToCommit(bool previous_cut) {
    TEMOIN_ASSIGN_OR_RETURN(const bool closes_attachments, ServerClosesAttachments(vault_));
    SyncCarry* carry = options_.carry.get();
    std::vector<const v1::OutboxEntry*> to_commit;
    for (const v1::OutboxEntry& entry : pending_) {
      v1::RecordHeader header;
      header.ParseFromString(entry.envelope().header());
      if (carry != nullptr && carry->bodies_in.count(header.record_id())) {
        BodyIn(header.record_id(), /*sent_now=*/false);
        continue;
      }
      if (header.attachments().empty()) {
        if (!previous_cut || entry.state() == v1::RECORD_STATE_COMMITTED) continue;
      } else if (!previous_cut && closes_attachments) {
        continue;
      }
      to_commit.push_back(&entry);
    }
    return to_commit;
  }

  // Commitments in batch form, to a server that takes them: ~56 B a record up and one
  // device signature a batch, where a Commitment is ~220 B; one commitment batch
  // receipt down, where a commitment receipt is ~150 B a record (issue 13).
  absl::Status SendCommitmentBatches(const std::vector<const v1::OutboxEntry*>& to_commit) {
    std::vector<v1::CommitmentLeaf> leaves;
    for (const v1::OutboxEntry* entry : to_commit) {
      v1::RecordHeader header;
      // One malformed leaf would refuse its whole batch, and so every later sync's: a
      // record whose header does not parse goes without a commitment, and its body is
      // refused on its own.
      if (!header.ParseFromString(entry->envelope().header()) ||
          header.record_id().size() != crypto::kRecordIdBytes) {
        continue;
      }
      v1::CommitmentLeaf& leaf = leaves.emplace_back();
      leaf.set_record_id(header.record_id());
      leaf.set_digest(crypto::RecordDigest(entry->envelope()));
      leaf.set_device_seq(header.device_seq());
    }
    if (leaves.empty()) return absl::OkStatus();
    TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault_));
    absl::StatusOr<crypto::SigningKey> device_key = DeviceSigningKey(profile);
    crypto::WipeString(*profile.mutable_signing_secret_key());  // held by the key alone now
    crypto::WipeString(*profile.mutable_box_secret_key());
    if (!device_key.ok()) return device_key.status();
    CommitmentBatches batches(std::move(leaves), std::move(*device_key));
    auto next_batch = [&](size_t max_bytes, v1::UploadRequest& request) {
      const size_t bytes = batches.Next(max_bytes, request);
      commitment_bytes_ += bytes;
      return bytes > 0;
    };
    auto take_answer = [&](const v1::UploadResponse& response) -> absl::Status {
      TEMOIN_ASSIGN_OR_RETURN(CommitmentBatches::Answer answer, batches.Expand(response));
      TEMOIN_ASSIGN_OR_RETURN(
          const size_t fixed,
          ApplyCommitmentBatchReceipt(vault_, response.commitment_batch_receipt(), answer.covered));
      report_.committed += fixed;
      return TakeCommitmentResults(answer.results);
    };
    return StreamBatches(connection_, options_, next_batch, take_answer, /*closing=*/nullptr,
                         std::exchange(sign_in_, nullptr));
  }

  absl::Status TakeCommitmentResults(const std::vector<v1::RecordResult>& results) {
    std::vector<std::pair<std::string, v1::Receipt>> receipts, committed;
    for (const v1::RecordResult& result : results) {
      if (result.code() != 0) {
        NoteRefusal(result, report_);
        refused_.insert(result.record_id());
      } else if (result.has_receipt()) {
        receipts.emplace_back(result.record_id(), result.receipt());
      } else if (result.has_commitment_receipt()) {
        committed.emplace_back(result.record_id(), result.commitment_receipt());
      }
      if (result.awaiting_attachments()) BodyIn(result.record_id(), /*sent_now=*/false);
    }
    TEMOIN_ASSIGN_OR_RETURN(const size_t fixed, ApplyCommitmentReceipts(vault_, committed));
    TEMOIN_RETURN_IF_ERROR(ApplyReceipts(vault_, receipts));
    for (const auto& [id, receipt] : receipts) {
      if (uint64_t index = ReceiptLogIndex(receipt); index != 0) asked_log_indexes_.insert(index);
    }
    report_.committed += fixed;
    report_.receipted += receipts.size();
    for (const auto& [id, receipt] : receipts) RecordDone(id);
    ReportProgress();
    return absl::OkStatus();
  }

  // 2. Bodies the server does not hold yet, oldest first.
  absl::Status SendBodies() {
    std::vector<std::pair<const std::string*, const v1::OutboxEntry*>> bodies;  // id, entry
    for (const auto& [id, entry] : by_id_) {
      if (!done_.count(id) && !body_in_.count(id) && !refused_.count(id))
        bodies.emplace_back(&id, entry);
    }
    if (bodies.empty()) return absl::OkStatus();
    std::sort(bodies.begin(), bodies.end(), [](const auto& a, const auto& b) {
      return a.second->device_seq() < b.second->device_seq();
    });
    TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::UploadRequest> closing, ClosingRequest(bodies));
    size_t next = 0;
    auto next_bodies = [&](size_t max_bytes, v1::UploadRequest& request) {
      if (next == bodies.size()) {
        // The closing request takes this batch id: its answer (from a server that
        // proves nothing there, an empty one) expands to no result.
        if (closing.has_value()) sent_.Remember(request.batch_id(), {});
        return false;
      }
      size_t bytes = 0;
      std::vector<std::string> ids;
      while (next < bodies.size() &&
             static_cast<size_t>(request.records_size()) < options_.max_batch_records) {
        const auto& [id, entry] = bodies[next];
        size_t size = entry->envelope().ByteSizeLong();
        if (request.records_size() > 0 && bytes + size > max_bytes) break;
        *request.add_records() = entry->envelope();
        ids.push_back(*id);
        ++next;
        bytes += size;
      }
      bodies_sent_bytes_ += bytes;
      request.set_positional_results(true);
      sent_.Remember(request.batch_id(), std::move(ids));
      return request.records_size() > 0;
    };
    return StreamBatches(
        connection_, SizedForTheLink(), next_bodies,
        [&](const v1::UploadResponse& response) { return TakeBodyAnswers(response); },
        closing.has_value() ? &*closing : nullptr, std::exchange(sign_in_, nullptr));
  }

  // The bodies stream's closing request, when its proofs fit one answer: the newest
  // checkpoint, a consistency proof from the one held, and inclusion of the leaves
  // owed from before, those the commitments receipted and those this stream will.
  // None when attachments follow: their stream closes with the proofs of everything
  // (LogProofsRequest), one set of proofs a sync.
  absl::StatusOr<std::optional<v1::UploadRequest>> ClosingRequest(
      const std::vector<std::pair<const std::string*, const v1::OutboxEntry*>>& bodies) {
    if (!ClosingFits(asked_log_indexes_.size(), bodies.size())) return std::nullopt;
    TEMOIN_ASSIGN_OR_RETURN(const bool closes_attachments, ServerClosesAttachments(vault_));
    bool attachments_follow = false;
    for (const std::string& id : body_in_) attachments_follow |= !done_.count(id);
    for (const auto& [id, entry] : bodies) attachments_follow |= HasAttachments(*entry);
    if (attachments_follow && closes_attachments) return std::nullopt;
    v1::UploadRequest closing;
    TEMOIN_ASSIGN_OR_RETURN(*closing.mutable_log(), LogProofsRequest());
    return closing;
  }

  // What a stream's closing asks the log to prove: the newest checkpoint, consistent
  // with the one held, and the leaves owed from before, those the commitments
  // receipted and those the bodies stream did (the stream adds its own).
  absl::StatusOr<v1::GetLogProofsRequest> LogProofsRequest() {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<VerifiedCheckpoint> held, HeldCheckpoint(vault_));
    v1::GetLogProofsRequest log = SyncLogRequest(held);
    for (uint64_t index : asked_log_indexes_) log.add_log_indexes(index);
    for (uint64_t index : stream_log_indexes_) log.add_log_indexes(index);
    return log;
  }

  absl::Status TakeBodyAnswers(const v1::UploadResponse& response) {
    if (response.has_log()) {
      std::set<uint64_t> proven = asked_log_indexes_;
      proven.insert(stream_log_indexes_.begin(), stream_log_indexes_.end());
      stream_proofs_ = StreamProofs{std::move(proven), response.log()};
      return absl::OkStatus();
    }
    TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::RecordResult> results, sent_.Expand(response));
    std::vector<std::pair<std::string, v1::Receipt>> receipts, committed;
    std::vector<std::pair<std::string, uint64_t>> leaves;  // of the batch receipt
    for (const v1::RecordResult& result : results) {
      if (result.code() != 0) {
        NoteRefusal(result, report_);
        refused_.insert(result.record_id());
      } else if (result.has_receipt()) {
        receipts.emplace_back(result.record_id(), result.receipt());
      } else if (result.log_index() != 0) {
        leaves.emplace_back(result.record_id(), result.log_index());
      } else if (result.awaiting_attachments()) {
        BodyIn(result.record_id(), /*sent_now=*/true);
        if (result.has_commitment_receipt()) {
          committed.emplace_back(result.record_id(), result.commitment_receipt());
        }
        if (result.no_attachment_bytes_held()) nothing_held_.insert(result.record_id());
      }
    }
    TEMOIN_ASSIGN_OR_RETURN(const size_t fixed, ApplyCommitmentReceipts(vault_, committed));
    report_.committed += fixed;
    TEMOIN_RETURN_IF_ERROR(ApplyBatchReceipt(vault_, response.batch_receipt(), leaves));
    TEMOIN_RETURN_IF_ERROR(ApplyReceipts(vault_, receipts));
    for (const auto& [id, receipt] : receipts) stream_log_indexes_.insert(ReceiptLogIndex(receipt));
    for (const auto& [id, index] : leaves) stream_log_indexes_.insert(index);
    stream_log_indexes_.erase(0);
    report_.receipted += receipts.size() + leaves.size();
    for (const auto& [id, receipt] : receipts) RecordDone(id);
    for (const auto& [id, index] : leaves) RecordDone(id);
    ReportProgress();
    return absl::OkStatus();
  }

  // 3. Attachments of records whose body is in.
  absl::Status SendAttachments() {
    if (options_.carry != nullptr) {
      options_.carry->bodies_in.insert(body_in_.begin(), body_in_.end());
    }
    std::vector<v1::OutboxEntry> with_attachments;
    for (const std::string& id : body_in_) {
      if (!done_.count(id)) with_attachments.push_back(*by_id_[id]);
    }
    AttachmentUploadPlan plan{.entries = std::move(with_attachments),
                              .nothing_held = nothing_held_,
                              .acknowledged = options_.carry != nullptr
                                                  ? &options_.carry->attachments_acknowledged
                                                  : nullptr};
    TEMOIN_ASSIGN_OR_RETURN(const bool closes_attachments, ServerClosesAttachments(vault_));
    if (closes_attachments &&
        ClosingFits(asked_log_indexes_.size(), stream_log_indexes_.size() + plan.entries.size())) {
      TEMOIN_ASSIGN_OR_RETURN(plan.closing, LogProofsRequest());
    }
    AttachmentUploadStats stats;
    absl::Status uploaded = UploadAttachments(
        vault_, connection_, plan, options_.attachments,
        [&](uint64_t bytes, bool already_held) {
          progress_.bytes_done += bytes;
          if (!already_held) progress_.bytes_sent += bytes;
          ReportProgress();
        },
        stats);
    if (stats.log.has_value()) {
      stream_proofs_ = StreamProofs{std::move(stats.proven_log_indexes), std::move(*stats.log)};
    }
    report_.receipted += stats.receipted;
    report_.attachment_bytes += stats.bytes_sent;
    progress_.records_done += stats.receipted;
    ReportProgress();
    return uploaded;
  }

  Vault& vault_;
  Connection& connection_;
  const SyncOptions& options_;
  const std::vector<v1::OutboxEntry>& pending_;
  SyncReport& report_;
  SyncProgress progress_;
  std::map<std::string, const v1::OutboxEntry*> by_id_;
  std::set<std::string> done_, body_in_, refused_;
  // Bodies this attempt stored, whose attachments the server holds no byte of yet.
  std::set<std::string> nothing_held_;
  size_t bodies_sent_bytes_ = 0, commitment_bytes_ = 0;
  PositionalAnswers sent_;  // which record sits where in each batch, for the answers
  // Log indexes the closing request names (owed, and receipted by the commitments), and
  // those the bodies stream receipted, which the server adds itself.
  std::set<uint64_t> asked_log_indexes_, stream_log_indexes_;
  std::optional<StreamProofs> stream_proofs_;
  UploadSignIn* const opening_;  // the sign-in the first stream carried, if any
  UploadSignIn* sign_in_;        // until the first stream takes it
  bool previous_cut_ = true;     // until RunSteps reads the cut mark
};

// Uploads `pending`; `stream_proofs` receives the log proofs that came on the upload
// stream, if any (see StreamProofs). `sign_in`, when given, opens the first stream.
absl::Status Upload(Vault& vault, Connection& connection, const SyncOptions& options,
                    const std::vector<v1::OutboxEntry>& pending,
                    const std::vector<crypto::LogLeaf>& owed, SyncReport& report,
                    std::optional<StreamProofs>& stream_proofs, UploadSignIn* sign_in) {
  RecordUpload upload(vault, connection, options, pending, owed, report, sign_in);
  absl::Status status = upload.Run();
  stream_proofs = std::move(upload.stream_proofs());
  return status;
}

// Bundles this device carries for others (RelayBundles, read before signing in) go up
// at each sync; a bundle is forgotten once the server has taken it (its records then
// answer their own devices' syncs).
absl::Status RelayCarried(Vault& vault, Connection& connection,
                          const std::vector<std::pair<std::string, std::string>>& bundles,
                          SyncReport& report) {
  for (const auto& [name, file] : bundles) {
    auto context = connection.NewContext(Connection::kTransferDeadline);
    v1::RelayResponse response;
    auto writer = connection.sync().Relay(context.get(), &response);
    // 32 KiB: 26 s at 10 kbit/s, well inside the server's first-message deadline.
    constexpr size_t kPiece = 32 << 10;
    for (size_t at = 0; at < file.size(); at += kPiece) {
      v1::RelayRequest piece;
      piece.set_data(file.substr(at, kPiece));
      if (!writer->Write(piece)) break;
    }
    writer->WritesDone();
    TEMOIN_RETURN_IF_ERROR(FromGrpc(writer->Finish(), connection.address()));
    TEMOIN_RETURN_IF_ERROR(ForgetRelayBundle(vault, name));
    report.relayed += response.records() + response.duplicates();
  }
  return absl::OkStatus();
}

// The record ids of `pending`.
std::vector<std::string> RecordIds(const std::vector<v1::OutboxEntry>& pending) {
  std::vector<std::string> ids;
  for (const v1::OutboxEntry& entry : pending) {
    v1::RecordHeader header;
    if (header.ParseFromString(entry.envelope().header())) ids.push_back(header.record_id());
  }
  return ids;
}

std::vector<std::string> RecordIdsOf(const std::vector<crypto::LogLeaf>& leaves) {
  std::vector<std::string> ids;
  for (const crypto::LogLeaf& leaf : leaves) ids.push_back(leaf.record_id);
  return ids;
}

// The log leaves of the records `record_ids` that now hold a full receipt, rebuilt from
// the receipt and the device's own data (what the server's leaf commits to).
absl::StatusOr<std::vector<crypto::LogLeaf>> ReceiptedLeaves(
    Vault& vault, const v1::Profile& profile, const std::vector<std::string>& record_ids) {
  std::vector<crypto::LogLeaf> leaves;
  for (const std::string& record_id : record_ids) {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> bytes, vault.Get(kOutboxNs, record_id));
    v1::OutboxEntry now;
    v1::ReceiptBody body;
    if (!bytes.has_value() || !now.ParseFromString(*bytes) || !now.has_receipt() ||
        !body.ParseFromString(now.receipt().body()) || body.log_index() == 0) {
      continue;
    }
    leaves.push_back({.log_index = body.log_index(),
                      .record_id = body.record_id(),
                      .digest = body.digest(),
                      .device_id = profile.device_id(),
                      .device_seq = now.device_seq(),
                      .received_hour = body.received_at()});
  }
  std::sort(leaves.begin(), leaves.end(),
            [](const auto& a, const auto& b) { return a.log_index < b.log_index; });
  return leaves;
}

// Each page of fetched records is proven in the transparency log before it is stored
// (fetched_proofs.h).
absl::Status PullReviews(Vault& vault, Connection& connection, const v1::Profile& profile,
                         SyncReport& report) {
  v1::GetGrantsResponse grants;
  TEMOIN_RETURN_IF_ERROR(FromGrpc(
      connection.review().GetGrants(connection.NewContext().get(), v1::GetGrantsRequest(), &grants),
      connection.address()));
  for (const v1::Grant& grant : grants.grants()) {
    TEMOIN_RETURN_IF_ERROR(StoreGrant(vault, grant));
    ++report.grants;
  }
  uint64_t after = 0;
  for (;;) {
    v1::ListRecordsRequest list_request;
    list_request.set_after_log_index(after);
    v1::ListRecordsResponse page;
    TEMOIN_RETURN_IF_ERROR(FromGrpc(
        connection.review().ListRecords(connection.NewContext().get(), list_request, &page),
        connection.address()));
    std::vector<std::string> missing;
    for (const v1::RecordSummary& summary : page.records()) {
      after = std::max(after, summary.log_index());
      TEMOIN_ASSIGN_OR_RETURN(bool have, HasFetched(vault, summary.record_id()));
      if (!have) missing.push_back(summary.record_id());
    }
    for (size_t start = 0; start < missing.size(); start += 256) {
      v1::FetchRecordsRequest fetch;
      for (size_t i = start; i < missing.size() && i < start + 256; ++i) {
        fetch.add_record_ids(missing[i]);
      }
      auto context = connection.NewContext(Connection::kTransferDeadline);
      auto reader = connection.review().FetchRecords(context.get(), fetch);
      std::vector<v1::FetchedRecord> records;
      v1::FetchedRecord record;
      while (reader->Read(&record)) records.push_back(std::move(record));
      TEMOIN_RETURN_IF_ERROR(FromGrpc(reader->Finish(), connection.address()));
      std::vector<std::string> log_refusals;
      TEMOIN_RETURN_IF_ERROR(ProveFetched(vault, connection, profile, records, log_refusals));
      for (size_t i = 0; i < records.size(); ++i) {
        if (log_refusals[i].empty()) continue;
        report.refusals.push_back(absl::StrCat("record ", ToHex(records[i].summary().record_id()),
                                               " is not in the server's log: ", log_refusals[i]));
      }
      TEMOIN_RETURN_IF_ERROR(StoreFetched(vault, records, log_refusals));
      report.fetched += records.size();
    }
    if (!page.more() || page.records().empty()) break;
  }
  return absl::OkStatus();
}

// Signs in with the next-sign-in nonce kept in `vault`. With `pull_settings`, the
// settings pull rides on sign-in (Sync.GetSettings for a server that does not answer it
// there) and its answer is stored; `profile` then follows a receipt-key rotation
// (FollowReceiptKey). With `no_session` (only with `pull_settings`) the server issues no
// token: the connection can make no further call.
// Not connected yet: to the enrolled address (or the override), accepting the pinned key
// and, during a TLS key rotation, the announced next one.
absl::StatusOr<std::unique_ptr<Connection>> NewConnection(const v1::Profile& profile,
                                                          const SyncOptions& options) {
  SyncCarry* carry = options.carry.get();
  std::string address =
      options.server_override.empty() ? profile.server_address() : options.server_override;
  const std::string trust = absl::StrCat(address, "\n", ToHex(profile.tls_spki_sha256()), "\n",
                                         ToHex(profile.next_tls_spki_sha256()));
  if (carry != nullptr && carry->connection != nullptr && carry->connection_trust == trust &&
      std::chrono::steady_clock::now() - carry->connection_used < SyncCarry::kConnectionIdle) {
    return carry->connection->OnSameChannel();
  }
  if (carry != nullptr) carry->connection.reset();
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          Connection::Create(address, profile.tls_spki_sha256(),
                                             /*bulk_downloads=*/profile.role() == v1::ROLE_REVIEWER,
                                             profile.next_tls_spki_sha256()));
  if (carry == nullptr || !carry->keep_connection) return connection;
  carry->connection = std::move(connection);
  carry->connection_trust = trust;
  carry->connection_used = std::chrono::steady_clock::now();
  return carry->connection->OnSameChannel();
}

// A sign-in call on `connection` that pulls settings and checks the log riding on them
// (setting `*log_checked` as TakeSignInSettings does).
absl::Status SignInWithSettings(Connection& connection, v1::Profile& profile, Vault& vault,
                                bool no_session, bool* log_checked) {
  TEMOIN_ASSIGN_OR_RETURN(v1::GetSettingsRequest request, SettingsRequest(vault, no_session));
  v1::GetSettingsResponse response;
  TEMOIN_RETURN_IF_ERROR(SignInDevice(connection, vault, profile, &request, &response, no_session));
  // Unset: an older server, which ignores no_session too and so gave a token.
  if (response.ByteSizeLong() == 0) {
    TEMOIN_RETURN_IF_ERROR(
        FromGrpc(connection.sync().GetSettings(connection.NewContext().get(), request, &response),
                 connection.address()));
  }
  return TakeSignInSettings(vault, profile, request, response, /*sent=*/false, log_checked);
}

absl::StatusOr<std::unique_ptr<Connection>> SignedIn(v1::Profile& profile,
                                                     const SyncOptions& options, Vault& vault,
                                                     bool pull_settings = false,
                                                     bool no_session = false,
                                                     bool* log_checked = nullptr) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, NewConnection(profile, options));
  if (!pull_settings) {
    TEMOIN_RETURN_IF_ERROR(SignInDevice(*connection, vault, profile));
    return connection;
  }
  TEMOIN_RETURN_IF_ERROR(SignInWithSettings(*connection, profile, vault, no_session, log_checked));
  return connection;
}

}  // namespace

SyncCarry::~SyncCarry() { crypto::WipeString(token); }

void SyncCarry::TakeToken(const std::string& fresh) {
  crypto::WipeString(token);
  token = fresh;
  token_taken = std::chrono::steady_clock::now();
}

bool SyncCarry::TokenOlderThan(std::chrono::seconds age) const {
  return !token.empty() && std::chrono::steady_clock::now() - token_taken > age;
}

void SyncCarry::Forget() {
  crypto::WipeString(token);
  token.clear();
  log_checked = false;
  bodies_in.clear();
  attachments_acknowledged.clear();
}

absl::StatusOr<bool> HasWorkToSend(Vault& vault) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  if (profile.role() == v1::ROLE_MONITOR) {
    TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::OutboxEntry> pending, PendingRecords(vault));
    TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> owed, OwedProofs(vault));
    if (!pending.empty() || !owed.empty()) return true;
  }
  TEMOIN_ASSIGN_OR_RETURN(auto bundles, RelayBundles(vault));
  return !bundles.empty();
}

absl::StatusOr<SyncReport> PullForReview(Vault& vault, const SyncOptions& options) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  // Settings too: the reviewer needs the org-signed server-key statement for its checks
  // and its evidence packages.
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          SignedIn(profile, options, vault, /*pull_settings=*/true));
  TEMOIN_RETURN_IF_ERROR(CheckLog(vault, *connection, profile.server_signing_key()));
  SyncReport report;
  TEMOIN_RETURN_IF_ERROR(PullReviews(vault, *connection, profile, report));
  return report;
}

namespace {

// A connection for this attempt: the carried session when there is one (no sign-in
// call; settings were pulled by the attempt that signed in), otherwise a sign-in that
// pulls settings (and checks the log, setting `log_checked`). `no_session` as for SignedIn.
absl::StatusOr<std::unique_ptr<Connection>> AttemptConnection(v1::Profile& profile,
                                                              const SyncOptions& options,
                                                              Vault& vault, bool no_session,
                                                              bool& log_checked) {
  SyncCarry* carry = options.carry.get();
  if (carry != nullptr && !carry->token.empty() && !no_session) {
    TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                            NewConnection(profile, options));
    connection->AdoptToken(carry->token);
    return connection;
  }
  if (carry != nullptr) carry->Forget();
  TEMOIN_ASSIGN_OR_RETURN(
      std::unique_ptr<Connection> connection,
      SignedIn(profile, options, vault, /*pull_settings=*/true, no_session, &log_checked));
  if (carry != nullptr && !no_session) carry->TakeToken(connection->token());
  if (carry != nullptr && log_checked) carry->log_checked = true;
  return connection;
}

// Before anything goes up or is purged: the server's log must extend the checkpoint
// this device holds. Once per carried session (see SyncCarry).
absl::Status CheckLogBeforeUpload(Vault& vault, Connection& connection, const v1::Profile& profile,
                                  SyncCarry* carry) {
  if (carry != nullptr && carry->log_checked) return absl::OkStatus();
  TEMOIN_RETURN_IF_ERROR(NothingSent(CheckLog(vault, connection, profile.server_signing_key())));
  if (carry != nullptr) carry->log_checked = true;
  return absl::OkStatus();
}

// Whether this attempt signs in on its first Upload call (UploadSignIn) rather than
// with a call of its own: a monitor with records to send, nothing to relay (Relay
// needs the session first), no carried session, and a pre-issued nonce. A device that
// requires witness cosignatures, or that once caught this server's log forked or
// rolled back, checks the log before anything goes up: it pays the round trip.
absl::StatusOr<bool> SignsInOnUpload(Vault& vault, const v1::Profile& profile,
                                     const SyncOptions& options, size_t pending, size_t bundles) {
  if (profile.role() != v1::ROLE_MONITOR || pending == 0 || bundles != 0) return false;
  if (options.carry != nullptr && !options.carry->token.empty()) return false;
  if (LoadSignInNonce(vault).value_or("").empty()) return false;
  TEMOIN_ASSIGN_OR_RETURN(WitnessPolicy witnesses, LoadWitnessPolicy(vault));
  if (witnesses.min > 0 || !witnesses.vkeys.empty()) return false;
  TEMOIN_ASSIGN_OR_RETURN(bool forked, HoldsLogEvidence(vault));
  return !forked;
}

// The sign-in for this attempt's first Upload call on `connection`: its answer's
// settings and log check are taken as a sign-in call's are (setting `log_checked`),
// and the session it brings is carried (SyncCarry) once the log checked.
absl::StatusOr<std::unique_ptr<UploadSignIn>> PrepareUploadSignIn(Vault& vault,
                                                                  v1::Profile& profile,
                                                                  Connection& connection,
                                                                  SyncCarry* carry,
                                                                  bool& log_checked) {
  if (carry != nullptr) carry->Forget();
  TEMOIN_ASSIGN_OR_RETURN(v1::GetSettingsRequest request,
                          SettingsRequest(vault, /*no_session=*/false));
  auto take_settings = [&vault, &profile, &connection, carry, &log_checked,
                        request](const v1::GetSettingsResponse& settings) -> absl::Status {
    TEMOIN_RETURN_IF_ERROR(
        TakeSignInSettings(vault, profile, request, settings, /*sent=*/true, &log_checked));
    if (!log_checked) {
      return absl::DataLossError(
          "the server's answer to the sign-in left out the log check; this sync purged nothing");
    }
    if (carry != nullptr) {
      carry->TakeToken(connection.token());
      carry->log_checked = true;
    }
    return absl::OkStatus();
  };
  return UploadSignIn::Prepare(vault, profile, connection, request, std::move(take_settings));
}

// Proves that each of `leaves` is in the server's log, marking them proven as they
// verify: with the proofs that came on the upload stream when they cover exactly these
// leaves, otherwise with one GetLogProofs call per group of kProofsPerAnswer.
absl::Status ProveReceipted(Vault& vault, Connection& connection, const v1::Profile& profile,
                            const std::vector<crypto::LogLeaf>& leaves,
                            const std::optional<StreamProofs>& stream_proofs) {
  std::set<uint64_t> indexes;
  for (const crypto::LogLeaf& leaf : leaves) indexes.insert(leaf.log_index);
  if (stream_proofs.has_value() && !leaves.empty() && stream_proofs->log_indexes == indexes) {
    TEMOIN_RETURN_IF_ERROR(AcceptLogAnswerForLeaves(vault, profile.server_signing_key(), leaves,
                                                    stream_proofs->answer));
    return MarkProven(vault, RecordIdsOf(leaves));
  }
  for (size_t at = 0; at < leaves.size(); at += kProofsPerAnswer) {
    std::vector<crypto::LogLeaf> group(
        leaves.begin() + at, leaves.begin() + std::min(leaves.size(), at + kProofsPerAnswer));
    TEMOIN_RETURN_IF_ERROR(CheckLog(vault, connection, profile.server_signing_key(), group));
    TEMOIN_RETURN_IF_ERROR(MarkProven(vault, RecordIdsOf(group)));
  }
  return absl::OkStatus();
}

// One attempt at a sync on `connection` (made here; the caller explains what it met).
// `sign_in_refused`: in, sign in apart (a retry); out, the sign-in on the upload was
// refused as unauthenticated, so the caller's retry should.
absl::StatusOr<SyncReport> SyncAttemptOn(Vault& vault, const SyncOptions& options,
                                         v1::Profile profile, bool& sign_in_refused,
                                         std::unique_ptr<Connection>& connection) {
  // What there is to send, read before signing in (Upload and RelayCarried would read
  // it anyway): a device with nothing to send and nothing to pull makes no call after
  // signing in, so it asks for no session token (~70 B less down a no-op sync).
  // Reviewers always pull.
  std::vector<v1::OutboxEntry> pending;
  std::vector<crypto::LogLeaf> owed;  // receipted, but a cut sync left the proofs owed
  if (profile.role() == v1::ROLE_MONITOR) {
    TEMOIN_ASSIGN_OR_RETURN(pending, PendingRecords(vault));
    TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> marked, OwedProofs(vault));
    TEMOIN_ASSIGN_OR_RETURN(owed, ReceiptedLeaves(vault, profile, marked));
  }
  TEMOIN_ASSIGN_OR_RETURN(auto bundles, RelayBundles(vault));
  // A watch keeps its session between syncs, so that its next record goes up at once.
  const bool keeps_session = options.carry != nullptr && options.carry->keep_connection;
  const bool no_session = profile.role() != v1::ROLE_REVIEWER && pending.empty() &&
                          bundles.empty() && owed.empty() && !keeps_session;
  bool log_checked = false;  // on sign-in, with the settings
  std::unique_ptr<UploadSignIn> sign_in;
  TEMOIN_ASSIGN_OR_RETURN(bool on_upload,
                          SignsInOnUpload(vault, profile, options, pending.size(), bundles.size()));
  on_upload = on_upload && !sign_in_refused;
  if (on_upload) {
    TEMOIN_ASSIGN_OR_RETURN(connection, NewConnection(profile, options));
    TEMOIN_ASSIGN_OR_RETURN(sign_in, PrepareUploadSignIn(vault, profile, *connection,
                                                         options.carry.get(), log_checked));
  }
  if (sign_in == nullptr) {
    TEMOIN_ASSIGN_OR_RETURN(connection,
                            AttemptConnection(profile, options, vault, no_session, log_checked));
    // A server before the log rode on settings answered none: check it apart, except
    // on a no-op sync (no session), which sends and purges nothing.
    if (!no_session && !log_checked) {
      TEMOIN_RETURN_IF_ERROR(
          CheckLogBeforeUpload(vault, *connection, profile, options.carry.get()));
    }
  }
  SyncReport report;
  TEMOIN_RETURN_IF_ERROR(RelayCarried(vault, *connection, bundles, report));
  if (profile.role() == v1::ROLE_MONITOR) {
    // Each record sent owes a proof until one verifies, so that a sync cut after its
    // receipts and before its proofs leaves them to the next sync.
    TEMOIN_RETURN_IF_ERROR(MarkProofsOwed(vault, RecordIds(pending)));
    std::optional<StreamProofs> stream_proofs;
    absl::Status uploaded =
        Upload(vault, *connection, options, pending, owed, report, stream_proofs, sign_in.get());
    sign_in_refused = sign_in != nullptr && sign_in->nonce_refused();
    TEMOIN_RETURN_IF_ERROR(uploaded);
    if (sign_in != nullptr && !sign_in->answered()) {
      // Defensive: every monitor with records to send opens a stream (commitments or
      // bodies), and StreamBatches fails when its sign-in goes unanswered.
      TEMOIN_RETURN_IF_ERROR(SignInWithSettings(*connection, profile, vault, false, &log_checked));
      if (!log_checked) {
        TEMOIN_RETURN_IF_ERROR(
            CheckLogBeforeUpload(vault, *connection, profile, options.carry.get()));
      }
    }
    // Receipts purged the sealed copies as they came (each one is the server's
    // signature already); the proofs now show each receipted record is in the log,
    // those of this sync and those an earlier one left owed.
    TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> marked, OwedProofs(vault));
    TEMOIN_ASSIGN_OR_RETURN(std::vector<crypto::LogLeaf> leaves,
                            ReceiptedLeaves(vault, profile, marked));
    TEMOIN_RETURN_IF_ERROR(ProveReceipted(vault, *connection, profile, leaves, stream_proofs));
    // Proven, or not receipted (refused, or cut: still pending, marked again next time).
    TEMOIN_RETURN_IF_ERROR(MarkProven(vault, marked));
    report.proven = leaves.size();
  } else if (profile.role() == v1::ROLE_REVIEWER) {
    TEMOIN_RETURN_IF_ERROR(PullReviews(vault, *connection, profile, report));
  }
  return report;
}

// A connection refused for the server's TLS key fails as unavailable on whichever call
// dialled it; only a sign-in call explained it. An attempt on a carried session (a
// watch, `--until-done`) makes none, and would retry a key it must not trust forever.
absl::StatusOr<SyncReport> SyncAttempt(Vault& vault, const SyncOptions& options,
                                       v1::Profile profile, bool& sign_in_refused) {
  std::unique_ptr<Connection> connection;
  absl::StatusOr<SyncReport> report =
      SyncAttemptOn(vault, options, std::move(profile), sign_in_refused, connection);
  if (report.ok() || connection == nullptr) return report;
  return connection->ExplainRefusedKey(report.status());
}

}  // namespace

absl::StatusOr<SyncReport> SyncDevice(Vault& vault, const SyncOptions& options) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  const bool carried = options.carry != nullptr && !options.carry->token.empty();
  bool sign_in_refused = false;
  absl::StatusOr<SyncReport> report = SyncAttempt(vault, options, profile, sign_in_refused);
  const absl::StatusCode code = report.status().code();
  if (!report.ok() &&
      (((carried || sign_in_refused) && code == absl::StatusCode::kUnauthenticated) ||
       (carried && code == absl::StatusCode::kPermissionDenied))) {
    // The carried session is gone (expired, or a restarted server), or the nonce the
    // upload signed in with was refused: sign in again at once (with a challenge, the
    // nonce forgotten), and check everything a fresh sign-in checks. A session refused
    // because the device was revoked signs in too: only a sign-in's refusal carries the
    // admin's wipe order, which a revoked device must obey.
    if (options.carry != nullptr) options.carry->Forget();
    report = SyncAttempt(vault, options, profile, sign_in_refused);
  }
  if (options.carry != nullptr) {
    if (!report.ok()) options.carry->connection.reset();
    options.carry->connection_used = std::chrono::steady_clock::now();
  }
  TEMOIN_RETURN_IF_ERROR(report.status());
  // Reload: receipts changed the vault, and the profile must not roll anything back.
  TEMOIN_ASSIGN_OR_RETURN(profile, LoadProfile(vault));
  profile.set_last_sync(SystemClock::Get().NowSeconds());
  VaultBatch batch;
  PutProfile(batch, profile);
  TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
  return report;
}

absl::StatusOr<uint64_t> ExportAttachments(Vault& vault, const SyncOptions& options,
                                           const std::vector<OpenedRecord>& records,
                                           const std::string& dir,
                                           std::vector<RecordFailure>& failures) {
  std::unique_ptr<Connection> connection;
  uint64_t written = 0;
  for (const OpenedRecord& record : records) {
    if (record.testimony.attachments_size() == 0) continue;
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                            vault.Get(kFetchedNs, record.record_id));
    v1::FetchedEntry entry;
    v1::RecordHeader header;
    if (!bytes.has_value() || !entry.ParseFromString(*bytes) ||
        !header.ParseFromString(entry.envelope().header())) {
      failures.push_back({record.record_id, "fetched record is damaged"});
      continue;
    }
    if (connection == nullptr) {
      TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
      TEMOIN_ASSIGN_OR_RETURN(connection, SignedIn(profile, options, vault));
    }
    const std::string record_dir = absl::StrCat(dir, "/", ToHex(record.record_id));
    TEMOIN_RETURN_IF_ERROR(MakeDirectories(record_dir, 0700));
    std::set<std::string> names;
    for (const v1::AttachmentInfo& info : record.testimony.attachments()) {
      const v1::AttachmentRef* ref = nullptr;
      for (const v1::AttachmentRef& candidate : header.attachments()) {
        if (candidate.blob_id() == info.blob_id()) ref = &candidate;
      }
      if (ref == nullptr) {
        failures.push_back({record.record_id, "attachment is not in the signed header"});
        continue;
      }
      // Names come from the (attacker-influenced) testimony: sanitised, and never two
      // files under one name.
      std::string name = SanitizeFileName(info.file_name());
      for (int n = 2; !names.insert(name).second; ++n) {
        name = absl::StrCat(n, "-", SanitizeFileName(info.file_name()));
      }
      absl::Status s = DownloadAttachment(*connection, record.record_id, *ref, info,
                                          absl::StrCat(record_dir, "/", name));
      if (!s.ok()) {
        if (s.code() == absl::StatusCode::kUnavailable ||
            s.code() == absl::StatusCode::kDeadlineExceeded) {
          return s;
        }
        failures.push_back({record.record_id, std::string(s.message())});
        continue;
      }
      ++written;
    }
  }
  return written;
}

absl::StatusOr<std::string> FetchAttachmentPlaintext(Vault& vault, const SyncOptions& options,
                                                     const OpenedRecord& record, int index) {
  if (index < 0 || index >= record.testimony.attachments_size()) {
    return absl::NotFoundError("no such attachment");
  }
  const v1::AttachmentInfo& info = record.testimony.attachments(index);
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                          vault.Get(kFetchedNs, record.record_id));
  v1::FetchedEntry entry;
  v1::RecordHeader header;
  if (!bytes.has_value() || !entry.ParseFromString(*bytes) ||
      !header.ParseFromString(entry.envelope().header())) {
    return absl::DataLossError("fetched record is damaged");
  }
  const v1::AttachmentRef* ref = nullptr;
  for (const v1::AttachmentRef& candidate : header.attachments()) {
    if (candidate.blob_id() == info.blob_id()) ref = &candidate;
  }
  if (ref == nullptr) return absl::DataLossError("attachment is not in the signed header");
  if (info.size() > ref->size()) return absl::DataLossError("attachment size is implausible");
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          SignedIn(profile, options, vault));
  std::string plaintext;
  plaintext.reserve(info.size());  // no reallocation: no unwiped copy left behind
  absl::Status s = DownloadAttachmentTo(
      *connection, record.record_id, *ref, info, [&](absl::string_view piece) -> absl::Status {
        if (plaintext.size() + piece.size() > info.size()) {
          return absl::DataLossError("attachment is larger than its record says");
        }
        plaintext.append(piece.data(), piece.size());
        return absl::OkStatus();
      });
  if (!s.ok()) {
    crypto::WipeString(plaintext);
    return s;
  }
  return plaintext;
}

}  // namespace temoin::client

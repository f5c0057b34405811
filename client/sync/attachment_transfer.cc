#include "client/sync/attachment_transfer.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/core/attachments.h"
#include "client/core/outbox.h"
#include "client/sync/piece_ledger.h"
#include "client/sync/piece_window.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/attachment_stream.h"

namespace temoin::client {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t StopAfterFromEnv() {
  const char* value = std::getenv("TEMOIN_TEST_STOP_AFTER_CHUNKS");
  return value == nullptr ? 0 : std::strtoull(value, nullptr, 10);
}

// The log index a receipt names (0 when it does not parse).
uint64_t LogIndexOf(const v1::Receipt& receipt) {
  v1::ReceiptBody body;
  return body.ParseFromString(receipt.body()) ? body.log_index() : 0;
}

// Tells the progress and the person where `job` resumes, when not from its start.
void NoteResume(const BlobJob& job,
                const std::function<void(uint64_t bytes, bool already_held)>& on_bytes) {
  if (job.from == 0 && job.from_offset == 0) return;
  // Every slice before job.from is whole (only the last may be shorter).
  if (on_bytes) on_bytes(job.from * kUploadChunkBytes + job.from_offset, true);
  std::cerr << "sync: attachment " << ToHex(job.ref.blob_id()).substr(0, 8)
            << ": resuming at slice " << job.from << " + " << job.from_offset << " B of "
            << SliceCount(job.ref.size()) << (job.unasked ? " (as last acknowledged)" : "") << "\n";
}

// The bytes of the blobs of `jobs` left out of `todo`: whole on the server.
uint64_t HeldWhole(const std::vector<BlobJob>& jobs, const std::vector<BlobJob>& todo) {
  uint64_t bytes = 0;
  for (const BlobJob& job : jobs) bytes += job.ref.size();
  for (const BlobJob& job : todo) bytes -= job.ref.size();
  return bytes;
}

// Where each blob resumes, from one QueryAttachments call unless it is known without
// one (KnownResumePoints): the blobs still to send (in `todo`) and the receipts of
// records already complete (applied to the vault).
absl::StatusOr<std::vector<BlobJob>> ResumePoints(
    Vault& vault, Connection& connection, const AttachmentUploadPlan& plan,
    const std::function<void(uint64_t bytes, bool already_held)>& on_bytes,
    AttachmentUploadStats& stats) {
  std::vector<BlobJob> jobs = AllBlobs(plan);
  if (jobs.empty()) return jobs;
  if (std::optional<std::vector<BlobJob>> known = KnownResumePoints(plan, jobs)) {
    if (on_bytes) on_bytes(HeldWhole(jobs, *known), true);
    for (const BlobJob& job : *known) NoteResume(job, on_bytes);
    RememberResumePoints(plan.acknowledged, *known, {});
    return *std::move(known);
  }
  v1::QueryAttachmentsRequest query;
  for (const BlobJob& job : jobs) query.add_blob_ids(job.ref.blob_id());
  v1::QueryAttachmentsResponse where;
  TEMOIN_RETURN_IF_ERROR(
      FromGrpc(connection.sync().QueryAttachments(connection.NewContext().get(), query, &where),
               connection.address()));
  std::map<std::string, v1::BlobStatus> by_blob;
  for (const v1::BlobStatus& status : where.blobs()) by_blob[status.blob_id()] = status;
  std::vector<std::pair<std::string, v1::Receipt>> receipts;
  std::vector<BlobJob> todo, whole;
  for (BlobJob& job : jobs) {
    auto it = by_blob.find(job.ref.blob_id());
    if (it == by_blob.end() || it->second.code() != 0) continue;  // body not in yet
    if (it->second.has_receipt()) receipts.emplace_back(job.record_id, it->second.receipt());
    if (it->second.complete()) {
      whole.push_back(job);
      continue;
    }
    const uint64_t slices = SliceCount(job.ref.size());
    job.from = std::min(it->second.next_index(), slices);
    // An offset past the slice's end (a server bug) restarts the slice: the server
    // checks what overlaps the bytes it holds.
    job.from_offset =
        job.from < slices && it->second.next_offset() < SliceSize(job.ref.size(), job.from)
            ? it->second.next_offset()
            : 0;
    NoteResume(job, on_bytes);
    todo.push_back(job);
  }
  RememberResumePoints(plan.acknowledged, todo, whole);
  TEMOIN_RETURN_IF_ERROR(ApplyReceipts(vault, receipts));
  stats.receipted += receipts.size();
  for (const auto& [id, receipt] : receipts) stats.proven_log_indexes.insert(LogIndexOf(receipt));
  return todo;
}

// One UploadAttachment stream: a writer thread sends the pieces of every blob within
// the window while this thread reads the answers. Pipelining: pieces stream without
// waiting for each answer. At a cut what was unacknowledged is sent again (the server
// keeps what it had taken), so the window bounds what a cut costs, and it is kept
// small on a slow link. Which pieces ask for an answer, and what each answer
// acknowledges, is the ledger's (client/sync/piece_ledger.h).
class PieceUpload {
 public:
  // `todo` must outlive the upload.
  PieceUpload(Vault& vault, Connection& connection, const AttachmentUploadOptions& options,
              AcknowledgedBlobs* acknowledged, const std::vector<BlobJob>& todo,
              const std::function<void(uint64_t bytes, bool already_held)>& on_bytes,
              AttachmentUploadStats& stats)
      : vault_(vault),
        connection_(connection),
        todo_(todo),
        ledger_(acknowledged, todo),
        piece_bytes_(std::clamp<uint64_t>(options.piece_bytes, 1024, kUploadChunkBytes)),
        window_(options.window_bytes, piece_bytes_),
        on_bytes_(on_bytes),
        stats_(stats),
        context_(connection.NewContext(Connection::kTransferDeadline)),
        stream_(connection.sync().UploadAttachment(context_.get())) {}

  absl::Status Run(const std::optional<v1::GetLogProofsRequest>& closing) {
    std::thread writer([&] { SendBlobs(closing); });
    ReadAnswers();
    {
      std::lock_guard lock(mu_);
      reader_done_ = true;
    }
    window_open_.notify_all();
    if (!apply_error_.ok()) context_->TryCancel();
    writer.join();
    grpc::Status status = stream_->Finish();
    TEMOIN_RETURN_IF_ERROR(apply_error_);
    TEMOIN_RETURN_IF_ERROR(read_error_);
    return FromGrpc(status, connection_.address());
  }

 private:
  // Every blob, then the closing that asks for the log proofs, written at once: the
  // server answers it after the last piece's receipt.
  void SendBlobs(const std::optional<v1::GetLogProofsRequest>& closing) {
    for (const BlobJob& job : todo_) {
      if (!SendBlob(job)) return;
    }
    if (closing.has_value()) {
      v1::AttachmentChunk last;
      *last.mutable_log() = *closing;
      if (!stream_->Write(last)) return;
    }
    stream_->WritesDone();
  }

  enum class Sent { kPiece, kBlobDone, kStreamOver };

  // False when the stream is over (the reader stopped, or a write failed).
  bool SendBlob(const BlobJob& job) {
    bool first = true;  // of this blob in this stream: the ids go with it
    for (uint64_t i = job.from; i < SliceCount(job.ref.size()); ++i) {
      absl::StatusOr<std::optional<std::string>> slice = LoadSlice(vault_, job.ref.blob_id(), i);
      if (!slice.ok() || !slice->has_value()) return MissingSlice(job);
      const Sent sent = SendSlice(job, i, **slice, first);
      sodium_memzero((*slice)->data(), (*slice)->size());  // ciphertext, but no copies kept
      if (sent != Sent::kPiece) return sent == Sent::kBlobDone;
    }
    return true;
  }

  // A slice gone from the vault: its record's receipt came meanwhile and purged it (an
  // unasked blob that was whole), and the blob is done; otherwise the stream fails.
  bool MissingSlice(const BlobJob& job) {
    std::lock_guard lock(mu_);
    if (ledger_.Receipted(job.record_id)) return true;
    read_error_ = absl::DataLossError("attachment slice missing from the vault");
    context_->TryCancel();
    return false;
  }

  // The pieces of slice `index` (`bytes`), from where `job` resumes in it.
  Sent SendSlice(const BlobJob& job, uint64_t index, const std::string& bytes, bool& first) {
    const bool last_slice = index + 1 == SliceCount(job.ref.size());
    for (uint64_t at = index == job.from ? job.from_offset : 0; at < bytes.size();
         at += piece_bytes_) {
      v1::AttachmentChunk chunk;
      if (std::exchange(first, false)) {
        chunk.set_record_id(job.record_id);
        chunk.set_blob_id(job.ref.blob_id());
      }
      chunk.set_index(index);
      chunk.set_offset(static_cast<uint32_t>(at));
      chunk.set_data(bytes.substr(at, piece_bytes_));
      const bool ends_slice = at + chunk.data().size() == bytes.size();
      const Sent sent = SendPiece(job, chunk, ends_slice, ends_slice && last_slice);
      if (sent != Sent::kPiece) return sent;
    }
    return Sent::kPiece;
  }

  // Waits for room in the window, then writes `chunk` of `job`, unless its blob is
  // done (PieceLedger::BlobDone).
  Sent SendPiece(const BlobJob& job, v1::AttachmentChunk& chunk, bool ends_slice, bool ends_blob) {
    const uint64_t size = chunk.data().size();
    {
      std::unique_lock lock(mu_);
      window_open_.wait(lock, [&] {
        const uint64_t in_flight = ledger_.bytes_in_flight();
        return reader_done_ || in_flight == 0 || in_flight + size <= window_.bytes();
      });
      if (reader_done_) return Sent::kStreamOver;
      if (ledger_.BlobDone(job)) return Sent::kBlobDone;
      const PieceLedger::Piece piece{chunk.index(), chunk.offset(), size, ends_slice, ends_blob};
      chunk.set_quiet(!ledger_.Write(job, piece, window_.bytes(), piece_bytes_, Clock::now()));
    }
    return stream_->Write(chunk) ? Sent::kPiece : Sent::kStreamOver;
  }

  void ReadAnswers() {
    const uint64_t stop_after = StopAfterFromEnv();
    v1::BlobStatus answer;
    while (stream_->Read(&answer)) {
      if (stats_.log.has_value()) {
        apply_error_ = absl::DataLossError(
            "the server answered after its answer to the stream's closing message");
        break;
      }
      if (answer.has_log()) {  // the closing's answer, which must be the stream's last
        stats_.log = std::move(*answer.mutable_log());
        continue;
      }
      const bool new_receipt = answer.has_receipt() && TakeReceipt(answer.record_id());
      const uint64_t bytes = Acknowledge(answer.complete());
      window_open_.notify_all();
      ++stats_.pieces_acked;
      stats_.bytes_sent += bytes;
      if (on_bytes_) on_bytes_(bytes, false);
      if (new_receipt) {
        apply_error_ = ApplyReceipts(vault_, {{answer.record_id(), answer.receipt()}});
        if (!apply_error_.ok()) break;
        ++stats_.receipted;
        stats_.proven_log_indexes.insert(LogIndexOf(answer.receipt()));
      }
      if (stop_after > 0 && stats_.slices_done >= stop_after) {
        std::cerr << "sync: stopping after " << stats_.slices_done << " slices (test hook)\n";
        std::_Exit(75);
      }
    }
  }

  // The server answers every repeated piece of a whole blob with its receipt.
  bool TakeReceipt(const std::string& record_id) {
    std::lock_guard lock(mu_);
    return ledger_.TakeReceipt(record_id);
  }

  // One answer; returns the bytes it acknowledged.
  uint64_t Acknowledge(bool blob_whole) {
    std::lock_guard lock(mu_);
    const PieceLedger::Acknowledged acked = ledger_.Answer(blob_whole, Clock::now());
    stats_.slices_done += acked.slices;
    if (acked.took.has_value()) {
      window_.OnAck(std::chrono::duration<double>(*acked.took).count(), acked.bytes);
    }
    return acked.bytes;
  }

  Vault& vault_;
  Connection& connection_;
  const std::vector<BlobJob>& todo_;
  PieceLedger ledger_;  // under mu_
  const uint64_t piece_bytes_;
  PieceWindow window_;
  const std::function<void(uint64_t, bool)>& on_bytes_;
  AttachmentUploadStats& stats_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AttachmentChunk, v1::BlobStatus>> stream_;

  std::mutex mu_;
  std::condition_variable window_open_;
  bool reader_done_ = false;
  absl::Status read_error_;   // the writer's, under mu_
  absl::Status apply_error_;  // the reader's
};

}  // namespace

absl::Status UploadAttachments(
    Vault& vault, Connection& connection, const AttachmentUploadPlan& plan,
    const AttachmentUploadOptions& options,
    const std::function<void(uint64_t bytes, bool already_held)>& on_bytes,
    AttachmentUploadStats& stats) {
  TEMOIN_ASSIGN_OR_RETURN(std::vector<BlobJob> todo,
                          ResumePoints(vault, connection, plan, on_bytes, stats));
  if (todo.empty()) return absl::OkStatus();
  // The closing names the receipts QueryAttachments brought too: the server proves only
  // what it is asked and what the stream itself answers.
  std::optional<v1::GetLogProofsRequest> closing = plan.closing;
  if (closing.has_value()) {
    for (uint64_t index : stats.proven_log_indexes) {
      if (index != 0) closing->add_log_indexes(index);
    }
    stats.proven_log_indexes.insert(closing->log_indexes().begin(), closing->log_indexes().end());
  }
  absl::Status uploaded =
      PieceUpload(vault, connection, options, plan.acknowledged, todo, on_bytes, stats)
          .Run(closing);
  stats.proven_log_indexes.erase(0);
  if (!stats.log.has_value()) stats.proven_log_indexes.clear();
  // What the run remembers of these blobs may be wrong after such a refusal. When one
  // went on without asking, that may be the cause: the attempt ends as one to retry at
  // once (a run would stop on the refusal itself), and the next attempt asks.
  if (RefusedThePieces(uploaded) && ForgetResumePoints(plan.acknowledged, todo)) {
    return absl::AbortedError(
        absl::StrCat(uploaded.message(), "; the next attempt asks where the attachments resume"));
  }
  return uploaded;
}

absl::Status DownloadAttachmentTo(Connection& connection, const std::string& record_id,
                                  const v1::AttachmentRef& ref, const v1::AttachmentInfo& info,
                                  const std::function<absl::Status(absl::string_view)>& sink) {
  if (info.key().size() != 32) return absl::DataLossError("attachment key has wrong length");
  crypto::SecretBuffer key = crypto::SecretBuffer::Random(32);
  std::memcpy(key.data(), info.key().data(), 32);
  v1::FetchAttachmentRequest request;
  request.set_record_id(record_id);
  request.set_blob_id(ref.blob_id());
  auto context = connection.NewContext(Connection::kTransferDeadline);
  auto reader = connection.sync().FetchAttachment(context.get(), request);
  crypto_generichash_state hash;
  crypto_generichash_init(&hash, nullptr, 0, crypto_generichash_BYTES);
  std::optional<crypto::AttachmentReader> stream;
  std::string buffer;
  uint64_t received = 0;
  constexpr size_t kPiece = crypto::kAttachmentChunkBytes + crypto::kAttachmentChunkOverhead;
  absl::Status error;
  auto drain = [&](bool at_end) -> absl::Status {
    if (!stream.has_value()) {
      if (buffer.size() < crypto::kAttachmentHeaderBytes) return absl::OkStatus();
      TEMOIN_ASSIGN_OR_RETURN(
          crypto::AttachmentReader made,
          crypto::AttachmentReader::Create(key, ref.blob_id(),
                                           buffer.substr(0, crypto::kAttachmentHeaderBytes)));
      stream.emplace(std::move(made));
      buffer.erase(0, crypto::kAttachmentHeaderBytes);
    }
    while (buffer.size() > kPiece || (at_end && !buffer.empty())) {
      size_t take = std::min(buffer.size(), kPiece);
      TEMOIN_ASSIGN_OR_RETURN(std::string plain, stream->Pull(buffer.substr(0, take)));
      buffer.erase(0, take);
      absl::Status written = sink(plain);
      sodium_memzero(plain.data(), plain.size());
      TEMOIN_RETURN_IF_ERROR(written);
    }
    return absl::OkStatus();
  };
  v1::AttachmentChunk chunk;
  while (error.ok() && reader->Read(&chunk)) {
    received += chunk.data().size();
    if (received > ref.size()) {
      error = absl::DataLossError("attachment is larger than its header says");
      break;
    }
    crypto_generichash_update(&hash, reinterpret_cast<const unsigned char*>(chunk.data().data()),
                              chunk.data().size());
    buffer += chunk.data();
    error = drain(false);
  }
  if (!error.ok()) {
    context->TryCancel();
    reader->Finish().ok();
    return error;
  }
  if (absl::Status s = FromGrpc(reader->Finish(), connection.address()); !s.ok()) return s;
  std::string digest(crypto_generichash_BYTES, '\0');
  crypto_generichash_final(&hash, reinterpret_cast<unsigned char*>(digest.data()), digest.size());
  if (received != ref.size() || digest != ref.ciphertext_hash()) {
    return absl::DataLossError("attachment does not match the hash in its record");
  }
  if (absl::Status s = drain(true); !s.ok()) return s;
  if (!stream.has_value() || !stream->Finish().ok()) {
    return absl::DataLossError("attachment stream truncated");
  }
  return absl::OkStatus();
}

absl::Status DownloadAttachment(Connection& connection, const std::string& record_id,
                                const v1::AttachmentRef& ref, const v1::AttachmentInfo& info,
                                const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", path));
  absl::Status s = DownloadAttachmentTo(
      connection, record_id, ref, info, [&](absl::string_view plain) -> absl::Status {
        if (::write(fd, plain.data(), plain.size()) != static_cast<ssize_t>(plain.size())) {
          return absl::InternalError(absl::StrCat("cannot write ", path));
        }
        return absl::OkStatus();
      });
  if (s.ok() && ::fsync(fd) != 0) s = absl::InternalError(absl::StrCat("cannot write ", path));
  ::close(fd);
  if (!s.ok()) ::unlink(path.c_str());
  return s;
}

}  // namespace temoin::client

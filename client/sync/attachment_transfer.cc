#include "client/sync/attachment_transfer.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/core/attachments.h"
#include "client/core/outbox.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/attachment_stream.h"

namespace temoin::client {
namespace {

using Clock = std::chrono::steady_clock;

struct BlobJob {
  std::string record_id;
  v1::AttachmentRef ref;
  uint64_t from = 0;         // slice
  uint64_t from_offset = 0;  // within it
};

struct InFlight {
  uint64_t bytes;
  Clock::time_point sent;
};

uint64_t StopAfterFromEnv() {
  const char* value = std::getenv("TEMOIN_TEST_STOP_AFTER_CHUNKS");
  return value == nullptr ? 0 : std::strtoull(value, nullptr, 10);
}

uint64_t SliceSize(uint64_t ciphertext_size, uint64_t index) {
  return std::min(kUploadChunkBytes, ciphertext_size - index * kUploadChunkBytes);
}

// The byte window of unacknowledged pieces, kept near what the path holds without
// queueing (TCP Vegas): from the shortest acknowledgement time seen, the bytes that
// queue in front of the link (a modem's buffer, lost at a cut) are estimated as
// window × (1 − shortest / latest). Under half a piece queued the window grows by a
// piece, over one piece it shrinks by one; between two pieces and `max_bytes`. On a
// 2G link it stays at two pieces (one on the air, one waiting); on a fast one it grows
// to fill the bandwidth-delay product.
class PieceWindow {
 public:
  explicit PieceWindow(uint64_t max_bytes)
      : max_(std::max<uint64_t>(max_bytes, kUploadPieceBytes)),
        min_(std::min<uint64_t>(2 * kUploadPieceBytes, max_)),
        bytes_(min_) {}

  uint64_t bytes() const { return bytes_; }

  void OnAck(Clock::duration took) {
    double sample = std::max(std::chrono::duration<double>(took).count(), 1e-6);
    shortest_ = std::min(shortest_, sample);
    double queued = static_cast<double>(bytes_) * (1 - shortest_ / sample);
    if (queued < kUploadPieceBytes / 2.0) {
      bytes_ = std::min(bytes_ + kUploadPieceBytes, max_);
    } else if (queued > static_cast<double>(kUploadPieceBytes)) {
      bytes_ = std::max(bytes_ - std::min(bytes_, kUploadPieceBytes), min_);
    }
  }

 private:
  const uint64_t max_;
  const uint64_t min_;
  uint64_t bytes_;
  double shortest_ = 1e9;
};

}  // namespace

absl::Status UploadAttachments(
    Vault& vault, Connection& connection, const std::vector<v1::OutboxEntry>& entries,
    uint64_t window_bytes, const std::function<void(uint64_t bytes, bool already_held)>& on_bytes,
    AttachmentUploadStats& stats) {
  std::vector<BlobJob> jobs;
  v1::QueryAttachmentsRequest query;
  for (const v1::OutboxEntry& entry : entries) {
    v1::RecordHeader header;
    if (!header.ParseFromString(entry.envelope().header())) continue;
    for (const v1::AttachmentRef& ref : header.attachments()) {
      jobs.push_back({header.record_id(), ref});
      query.add_blob_ids(ref.blob_id());
    }
  }
  if (jobs.empty()) return absl::OkStatus();
  v1::QueryAttachmentsResponse where;
  TEMOIN_RETURN_IF_ERROR(
      FromGrpc(connection.sync().QueryAttachments(connection.NewContext().get(), query, &where),
               connection.address()));
  std::map<std::string, v1::BlobStatus> by_blob;
  for (const v1::BlobStatus& status : where.blobs()) by_blob[status.blob_id()] = status;
  std::vector<std::pair<std::string, v1::Receipt>> receipts;
  std::vector<BlobJob> todo;
  for (BlobJob& job : jobs) {
    auto it = by_blob.find(job.ref.blob_id());
    if (it == by_blob.end() || it->second.code() != 0) continue;  // body not in yet
    if (it->second.has_receipt()) receipts.emplace_back(job.record_id, it->second.receipt());
    if (it->second.complete()) continue;
    const uint64_t slices = SliceCount(job.ref.size());
    job.from = std::min(it->second.next_index(), slices);
    // An offset past the slice's end (a server bug) restarts the slice: the server
    // checks what overlaps the bytes it holds.
    job.from_offset =
        job.from < slices && it->second.next_offset() < SliceSize(job.ref.size(), job.from)
            ? it->second.next_offset()
            : 0;
    if (job.from > 0 || job.from_offset > 0) {
      // Every slice before job.from is whole (only the last may be shorter).
      if (on_bytes) on_bytes(job.from * kUploadChunkBytes + job.from_offset, true);
      std::cerr << "sync: attachment " << ToHex(job.ref.blob_id()).substr(0, 8)
                << ": resuming at slice " << job.from << " + " << job.from_offset << " B of "
                << slices << "\n";
    }
    todo.push_back(job);
  }
  TEMOIN_RETURN_IF_ERROR(ApplyReceipts(vault, receipts));
  stats.receipted += receipts.size();
  if (todo.empty()) return absl::OkStatus();

  auto context = connection.NewContext(Connection::kTransferDeadline);
  auto stream = connection.sync().UploadAttachment(context.get());
  std::mutex mu;
  std::condition_variable window_open;
  PieceWindow window(window_bytes);
  std::deque<InFlight> in_flight;  // in the order written; acks come back in that order
  uint64_t bytes_in_flight = 0;
  bool reader_done = false;
  absl::Status read_error;
  // Pipelining: pieces stream without waiting for each ack, within a byte window. At a
  // cut what was unacknowledged is sent again (the server keeps what it had taken), so
  // the window bounds what a cut costs, and it is kept small on a slow link.
  std::thread writer([&] {
    for (const BlobJob& job : todo) {
      for (uint64_t i = job.from; i < SliceCount(job.ref.size()); ++i) {
        absl::StatusOr<std::optional<std::string>> slice = LoadSlice(vault, job.ref.blob_id(), i);
        if (!slice.ok() || !slice->has_value()) {
          std::lock_guard lock(mu);
          read_error = absl::DataLossError("attachment slice missing from the vault");
          context->TryCancel();
          return;
        }
        const std::string& bytes = **slice;
        for (uint64_t at = i == job.from ? job.from_offset : 0; at < bytes.size();
             at += kUploadPieceBytes) {
          v1::AttachmentChunk chunk;
          chunk.set_record_id(job.record_id);
          chunk.set_blob_id(job.ref.blob_id());
          chunk.set_index(i);
          chunk.set_offset(static_cast<uint32_t>(at));
          chunk.set_data(bytes.substr(at, kUploadPieceBytes));
          {
            std::unique_lock lock(mu);
            window_open.wait(lock, [&] {
              return reader_done || bytes_in_flight == 0 ||
                     bytes_in_flight + chunk.data().size() <= window.bytes();
            });
            if (reader_done) return;
            bytes_in_flight += chunk.data().size();
            in_flight.push_back({chunk.data().size(), Clock::now()});
          }
          if (!stream->Write(chunk)) return;
        }
      }
    }
    stream->WritesDone();
  });

  const uint64_t stop_after = StopAfterFromEnv();
  absl::Status apply_error;
  v1::BlobStatus ack;
  while (stream->Read(&ack)) {
    uint64_t bytes = 0;
    {
      std::lock_guard lock(mu);
      if (!in_flight.empty()) {
        bytes = in_flight.front().bytes;
        window.OnAck(Clock::now() - in_flight.front().sent);
        bytes_in_flight -= bytes;
        in_flight.pop_front();
      }
    }
    window_open.notify_all();
    ++stats.pieces_acked;
    stats.bytes_sent += bytes;
    if (on_bytes) on_bytes(bytes, false);
    if (ack.next_offset() == 0) ++stats.slices_done;
    if (ack.has_receipt()) {
      apply_error = ApplyReceipts(vault, {{ack.record_id(), ack.receipt()}});
      if (!apply_error.ok()) break;
      ++stats.receipted;
    }
    if (stop_after > 0 && stats.slices_done >= stop_after) {
      std::cerr << "sync: stopping after " << stats.slices_done << " slices (test hook)\n";
      std::_Exit(75);
    }
  }
  {
    std::lock_guard lock(mu);
    reader_done = true;
  }
  window_open.notify_all();
  if (!apply_error.ok()) context->TryCancel();
  writer.join();
  grpc::Status status = stream->Finish();
  TEMOIN_RETURN_IF_ERROR(apply_error);
  TEMOIN_RETURN_IF_ERROR(read_error);
  return FromGrpc(status, connection.address());
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

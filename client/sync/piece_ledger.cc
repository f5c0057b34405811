#include "client/sync/piece_ledger.h"

#include <algorithm>

#include "client/core/attachments.h"

namespace temoin::client {

PieceLedger::PieceLedger(AcknowledgedBlobs* acknowledged, const std::vector<BlobJob>& todo)
    : acknowledged_(acknowledged) {
  for (const BlobJob& job : todo) {
    if (job.unasked) unconfirmed_.insert(&job);
  }
}

bool PieceLedger::BlobDone(const BlobJob& job) const {
  return whole_.count(&job) > 0 || receipted_.count(job.record_id) > 0;
}

bool PieceLedger::Write(const BlobJob& job, const Piece& piece, uint64_t window_bytes,
                        uint64_t piece_bytes, Clock::time_point now) {
  bytes_in_flight_ += piece.bytes;
  unanswered_ += piece.bytes;
  const bool asks = piece.ends_blob || unconfirmed_.count(&job) > 0 ||
                    unanswered_ >= window_bytes / 2 ||
                    bytes_in_flight_ + piece_bytes > window_bytes;
  if (asks) unanswered_ = 0;
  in_flight_.push_back({&job, piece, asks, now});
  return asks;
}

bool PieceLedger::TakeReceipt(const std::string& record_id) {
  return receipted_.insert(record_id).second;
}

PieceLedger::Acknowledged PieceLedger::Answer(bool blob_whole, Clock::time_point now) {
  Acknowledged acked;
  while (!in_flight_.empty()) {
    const InFlight written = in_flight_.front();
    in_flight_.pop_front();
    acked.bytes += written.piece.bytes;
    if (written.piece.ends_slice) ++acked.slices;
    Remember(written);
    if (written.asks) {
      unconfirmed_.erase(written.job);
      if (blob_whole) Whole(*written.job);
      acked.took = now - written.written;
      break;
    }
  }
  bytes_in_flight_ -= std::min(bytes_in_flight_, acked.bytes);
  return acked;
}

void PieceLedger::Whole(const BlobJob& job) {
  whole_.insert(&job);
  if (acknowledged_ != nullptr)
    (*acknowledged_)[job.ref.blob_id()] = {SliceCount(job.ref.size()), 0};
}

void PieceLedger::Remember(const InFlight& acked) {
  if (acknowledged_ == nullptr) return;
  const Piece& piece = acked.piece;
  (*acknowledged_)[acked.job->ref.blob_id()] =
      piece.ends_slice ? BlobAcknowledged{piece.index + 1, 0}
                       : BlobAcknowledged{piece.index, piece.offset + piece.bytes};
}

}  // namespace temoin::client

#ifndef TEMOIN_CLIENT_SYNC_PIECE_LEDGER_H_
#define TEMOIN_CLIENT_SYNC_PIECE_LEDGER_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/sync/attachment_resume.h"

namespace temoin::client {

// The bookkeeping of one attachment stream (client/sync/attachment_transfer.cc): which
// pieces are written and not yet acknowledged, which ask for an answer, and what each
// answer acknowledges. The server answers only pieces that ask, and an answer covers
// every piece up to the one that asked (server/core/piece_stream.h), so the device
// must never receive an answer it did not ask for:
// - a blob resumed without asking (BlobJob.unasked) may be further along on the
//   server, or whole, and the server answers every piece of a whole blob, asked or
//   quiet: its pieces ask each until the first answer is back;
// - once an answer says a blob is whole, or brings its record's receipt, no more of
//   that blob's (or record's) pieces are written.
// Each acknowledged piece moves its blob's entry in `acknowledged` (when not null), so
// that a later attempt of the run goes on from there. Not thread-safe: the stream's
// writer and reader share it under their lock.
class PieceLedger {
 public:
  using Clock = std::chrono::steady_clock;

  struct Piece {
    uint64_t index = 0;   // slice
    uint64_t offset = 0;  // within it
    uint64_t bytes = 0;
    bool ends_slice = false;
    bool ends_blob = false;
  };

  // What one answer acknowledged.
  struct Acknowledged {
    uint64_t bytes = 0;
    uint64_t slices = 0;  // made whole on the server
    // Since the piece that asked was written; none when nothing was in flight.
    std::optional<Clock::duration> took;
  };

  // `todo` must outlive the ledger: its jobs are known by address.
  PieceLedger(AcknowledgedBlobs* acknowledged, const std::vector<BlobJob>& todo);

  uint64_t bytes_in_flight() const { return bytes_in_flight_; }

  // Whether no more of `job`'s pieces are to be written: an answer said its blob is
  // whole, or its record's receipt came.
  bool BlobDone(const BlobJob& job) const;
  bool Receipted(const std::string& record_id) const { return receipted_.count(record_id) > 0; }

  // Notes `piece` of `job` as written and returns whether it asks for an answer: at a
  // blob's end (that answer carries the receipt), while an unasked blob is unconfirmed,
  // every half `window_bytes`, and when the window would otherwise fill with quiet
  // pieces.
  bool Write(const BlobJob& job, const Piece& piece, uint64_t window_bytes, uint64_t piece_bytes,
             Clock::time_point now);

  // Whether `record_id`'s receipt is new to this stream. Marked before the receipt is
  // applied (which purges the record's slices), so that a writer that checks first
  // sends none of them.
  bool TakeReceipt(const std::string& record_id);

  // One answer: every piece up to the first that asked is acknowledged. `blob_whole`:
  // the answer says that piece's blob is whole on the server.
  Acknowledged Answer(bool blob_whole, Clock::time_point now);

 private:
  struct InFlight {
    const BlobJob* job;
    Piece piece;
    bool asks;
    Clock::time_point written;
  };
  void Remember(const InFlight& acked);
  // An answer said `job`'s blob is whole on the server: to its end, whatever piece asked.
  void Whole(const BlobJob& job);

  AcknowledgedBlobs* const acknowledged_;
  std::deque<InFlight> in_flight_;  // in the order written; answers come in that order
  uint64_t bytes_in_flight_ = 0;
  uint64_t unanswered_ = 0;               // bytes written since the last piece that asked
  std::set<const BlobJob*> unconfirmed_;  // unasked blobs no answer has confirmed yet
  std::set<const BlobJob*> whole_;        // blobs an answer said are whole
  std::set<std::string> receipted_;       // records whose receipt came on this stream
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_PIECE_LEDGER_H_

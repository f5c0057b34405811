#ifndef TEMOIN_CLIENT_SYNC_POSITIONAL_ANSWERS_H_
#define TEMOIN_CLIENT_SYNC_POSITIONAL_ANSWERS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::client {

// The device's half of positional answers (UploadRequest.positional_results): the
// server names records by their position in the batch and says nothing of the ones it
// stored, beyond the first log index. This remembers which record went where in each
// batch in flight and turns an answer back into one result per record, with its id.
//
// Nothing here is trusted: the log indexes it infers become leaves that the device
// rebuilds from its own digests and checks against the batch receipt's one signature
// (crypto::VerifyBatchReceipts), so a wrong or forged answer fails there.
// Thread-safe: batches are remembered by the writer and expanded by the reader.
class PositionalAnswers {
 public:
  // `record_ids` in the order of the batch's `records`.
  void Remember(uint64_t batch_id, std::vector<std::string> record_ids);

  // One result per record of the batch, in request order, each with its record_id;
  // a record the answer leaves out gets the next log index from first_log_index.
  // An answer that names its records (a server without positional answers) is
  // returned as sent. kDataLoss for an unknown batch, a position out of range or
  // given twice, or a record left out of an answer that has no batch receipt.
  // Forgets the batch.
  absl::StatusOr<std::vector<v1::RecordResult>> Expand(const v1::UploadResponse& response);

 private:
  std::mutex mu_;
  std::map<uint64_t, std::vector<std::string>> batches_;
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_POSITIONAL_ANSWERS_H_

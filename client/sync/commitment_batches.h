#ifndef TEMOIN_CLIENT_SYNC_COMMITMENT_BATCHES_H_
#define TEMOIN_CLIENT_SYNC_COMMITMENT_BATCHES_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::client {

// The most commitments one request carries, single or in a batch (the server takes up
// to 1,024).
inline constexpr int kMaxCommitmentsPerRequest = 1000;

// The device's half of commitment batches (UploadRequest.commitment_batch, issue 13):
// after a cut, every record not yet committed is committed first, as (record id,
// digest, device_seq) leaves under one device signature a batch. This cuts the leaves
// into batches as the upload window asks for them, signs each, and turns each answer
// back into results per leaf.
//
// Nothing in an answer is trusted here: the leaves it leaves without a result are
// rebuilt by the caller from its own ids and digests and checked against the one
// commitment batch receipt (ApplyCommitmentBatchReceipt), so a wrong or forged answer
// fails there. Thread-safe: batches are made by the upload's writer and answers read
// by its reader.
class CommitmentBatches {
 public:
  CommitmentBatches(std::vector<v1::CommitmentLeaf> leaves, crypto::SigningKey device_key);

  // Fills `request.commitment_batch` with the next leaves (at least one, then while they
  // fit `max_bytes`), signs them and remembers them under `request.batch_id()`. Returns
  // the bytes added, 0 when no leaf is left.
  size_t Next(size_t max_bytes, v1::UploadRequest& request);

  struct Answer {
    std::vector<v1::RecordResult> results;  // leaves with a result, record_id set
    // (record id, digest) of the leaves the commitment batch receipt covers, in order.
    std::vector<std::pair<std::string, std::string>> covered;
  };
  // The answer to a batch this made. kDataLoss for an unknown batch, a position out of
  // range or given twice, or leaves left without a result and no batch receipt.
  // Forgets the batch.
  absl::StatusOr<Answer> Expand(const v1::UploadResponse& response);

 private:
  const std::vector<v1::CommitmentLeaf> leaves_;
  const crypto::SigningKey device_key_;
  size_t next_ = 0;  // writer only
  std::mutex mu_;
  std::map<uint64_t, std::vector<v1::CommitmentLeaf>> in_flight_;
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_COMMITMENT_BATCHES_H_

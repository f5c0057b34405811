#include "client/sync/commitment_batches.h"

#include "crypto/commitment_batch.h"

namespace temoin::client {

CommitmentBatches::CommitmentBatches(std::vector<v1::CommitmentLeaf> leaves,
                                     crypto::SigningKey device_key)
    : leaves_(std::move(leaves)), device_key_(std::move(device_key)) {}

size_t CommitmentBatches::Next(size_t max_bytes, v1::UploadRequest& request) {
  std::vector<v1::CommitmentLeaf> taken;
  size_t bytes = crypto::kSignatureBytes;
  while (next_ < leaves_.size() && taken.size() < static_cast<size_t>(kMaxCommitmentsPerRequest)) {
    const size_t size = leaves_[next_].ByteSizeLong() + 2;  // and its tag and length
    if (!taken.empty() && bytes + size > max_bytes) break;
    taken.push_back(leaves_[next_++]);
    bytes += size;
  }
  if (taken.empty()) return 0;
  v1::CommitmentBatch& batch = *request.mutable_commitment_batch();
  batch.set_signature(crypto::SignCommitmentBatch(taken, device_key_));
  for (const v1::CommitmentLeaf& leaf : taken) *batch.add_leaves() = leaf;
  std::lock_guard lock(mu_);
  in_flight_[request.batch_id()] = std::move(taken);
  return bytes;
}

absl::StatusOr<CommitmentBatches::Answer> CommitmentBatches::Expand(
    const v1::UploadResponse& response) {
  std::vector<v1::CommitmentLeaf> sent;
  {
    std::lock_guard lock(mu_);
    auto it = in_flight_.find(response.batch_id());
    if (it == in_flight_.end()) return absl::DataLossError("server answered an unknown batch");
    sent = std::move(it->second);
    in_flight_.erase(it);
  }
  Answer answer;
  std::vector<bool> answered(sent.size(), false);
  for (const v1::RecordResult& result : response.results()) {
    if (result.position() >= sent.size() || answered[result.position()]) {
      return absl::DataLossError("server answered a commitment position twice or out of range");
    }
    answered[result.position()] = true;
    answer.results.push_back(result);
    answer.results.back().set_record_id(sent[result.position()].record_id());
  }
  for (size_t i = 0; i < sent.size(); ++i) {
    if (answered[i]) continue;
    if (!response.has_commitment_batch_receipt()) {
      return absl::DataLossError("server left a commitment of the batch unanswered");
    }
    answer.covered.emplace_back(sent[i].record_id(), sent[i].digest());
  }
  return answer;
}

}  // namespace temoin::client

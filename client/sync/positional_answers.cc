#include "client/sync/positional_answers.h"

#include <utility>

namespace temoin::client {

void PositionalAnswers::Remember(uint64_t batch_id, std::vector<std::string> record_ids) {
  std::lock_guard lock(mu_);
  batches_[batch_id] = std::move(record_ids);
}

absl::StatusOr<std::vector<v1::RecordResult>> PositionalAnswers::Expand(
    const v1::UploadResponse& response) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    auto it = batches_.find(response.batch_id());
    if (it == batches_.end()) return absl::DataLossError("server answered an unknown batch");
    ids = std::move(it->second);
    batches_.erase(it);
  }
  for (const v1::RecordResult& result : response.results()) {
    if (!result.record_id().empty()) {
      return std::vector<v1::RecordResult>(response.results().begin(), response.results().end());
    }
  }
  std::vector<v1::RecordResult> results(ids.size());
  std::vector<bool> answered(ids.size(), false);
  for (const v1::RecordResult& result : response.results()) {
    if (result.position() >= ids.size() || answered[result.position()]) {
      return absl::DataLossError("server answered a record position twice or out of range");
    }
    answered[result.position()] = true;
    results[result.position()] = result;
  }
  uint64_t next_log_index = response.first_log_index();
  for (size_t i = 0; i < ids.size(); ++i) {
    results[i].set_record_id(ids[i]);
    if (answered[i]) continue;
    if (!response.has_batch_receipt() || next_log_index == 0) {
      return absl::DataLossError("server left a record of the batch unanswered");
    }
    results[i].set_log_index(next_log_index++);
  }
  return results;
}

}  // namespace temoin::client

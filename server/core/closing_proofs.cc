#include "server/core/closing_proofs.h"

#include <algorithm>
#include <utility>

namespace temoin::server {

void ReceiptedIndexes::Add(const v1::Receipt* receipt, uint64_t leaf_index) {
  if (indexes_.size() > kMaxProvenIndexes) return;  // too many for a closing answer anyway
  uint64_t index = leaf_index;
  v1::ReceiptBody body;
  if (index == 0 && receipt != nullptr && body.ParseFromString(receipt->body())) {
    index = body.log_index();
  }
  if (index != 0) indexes_.push_back(index);
}

absl::StatusOr<std::optional<v1::GetLogProofsResponse>> ProveClosing(
    Core& core, const Session& session, v1::GetLogProofsRequest asked,
    const ReceiptedIndexes& receipted, uint64_t opened_tree_size) {
  if (opened_tree_size > asked.old_size()) asked.set_old_size(opened_tree_size);
  auto& indexes = *asked.mutable_log_indexes();
  for (uint64_t index : receipted.indexes()) asked.add_log_indexes(index);
  std::sort(indexes.begin(), indexes.end());
  indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
  if (indexes.empty() || static_cast<size_t>(indexes.size()) > kMaxProvenIndexes) {
    return std::nullopt;
  }
  asked.set_joint(true);
  asked.set_checkpoint_only(false);
  absl::StatusOr<v1::GetLogProofsResponse> log =
      core.GetLogProofs(session, asked, LogProofsVia::kUploadStream);
  if (!log.ok()) return log.status();
  return std::move(*log);
}

}  // namespace temoin::server

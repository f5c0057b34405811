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

std::optional<v1::GetLogProofsResponse> ProveClosing(Core& core, const Session& session,
                                                     const v1::GetLogProofsRequest& asked,
                                                     const ReceiptedIndexes& receipted,
                                                     uint64_t opened_tree_size) {
  // Untrusted: a closing that names more than one answer holds gets none, before any
  // copying or sorting.
  if (static_cast<size_t>(asked.log_indexes_size()) > kMaxProvenIndexes) return std::nullopt;
  v1::GetLogProofsRequest proofs = asked;
  if (opened_tree_size > proofs.old_size()) proofs.set_old_size(opened_tree_size);
  auto& indexes = *proofs.mutable_log_indexes();
  for (uint64_t index : receipted.indexes()) proofs.add_log_indexes(index);
  std::sort(indexes.begin(), indexes.end());
  indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
  if (indexes.empty() || static_cast<size_t>(indexes.size()) > kMaxProvenIndexes) {
    return std::nullopt;
  }
  proofs.set_joint(true);
  proofs.set_checkpoint_only(false);
  absl::StatusOr<v1::GetLogProofsResponse> log =
      core.GetLogProofs(session, proofs, LogProofsVia::kUploadStream);
  if (!log.ok()) return std::nullopt;
  return std::move(*log);
}

}  // namespace temoin::server

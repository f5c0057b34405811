#include "crypto/commitment_batch.h"

#include <optional>

#include "common/status_macros.h"
#include "crypto/batch_tree.h"
#include "crypto/envelope.h"

namespace temoin::crypto {
namespace {

constexpr absl::string_view kLeafContext = "temoin/commitment-batch/leaf/v1";
constexpr absl::string_view kNodeContext = "temoin/commitment-batch/node/v1";
constexpr absl::string_view kSignatureContext = "temoin/commitment-batch/v1";

std::string LeafHash(const v1::CommitmentLeaf& leaf) {
  std::string encoded;
  batch_tree::AppendBytes(encoded, leaf.record_id());
  batch_tree::AppendBytes(encoded, leaf.digest());
  batch_tree::AppendU64(encoded, leaf.device_seq());
  return Hash256(kLeafContext, encoded);
}

template <typename Leaves>
std::string RootMessage(const Leaves& leaves, std::vector<std::vector<std::string>>* paths) {
  std::vector<std::string> hashes;
  hashes.reserve(leaves.size());
  for (const v1::CommitmentLeaf& leaf : leaves) hashes.push_back(LeafHash(leaf));
  return batch_tree::SignedMessage(hashes.size(), batch_tree::Root(kNodeContext, hashes, paths));
}

absl::Status CheckLeaves(const v1::CommitmentBatch& batch) {
  if (batch.leaves().empty() || static_cast<size_t>(batch.leaves_size()) > batch_tree::kMaxLeaves) {
    return absl::InvalidArgumentError("commitment batch is empty or too large");
  }
  for (const v1::CommitmentLeaf& leaf : batch.leaves()) {
    if (leaf.record_id().size() != kRecordIdBytes || leaf.digest().size() != kDigestBytes) {
      return absl::InvalidArgumentError("commitment leaf has a wrong-length record id or digest");
    }
  }
  return absl::OkStatus();
}

absl::Status Refused() {
  return absl::UnauthenticatedError("commitment batch signature verification failed");
}

}  // namespace

std::string SignCommitmentBatch(const std::vector<v1::CommitmentLeaf>& leaves,
                                const SigningKey& device_key) {
  if (leaves.empty() || leaves.size() > batch_tree::kMaxLeaves) return {};
  return device_key.Sign(kSignatureContext, RootMessage(leaves, nullptr));
}

absl::StatusOr<std::vector<v1::CommitmentProof>> VerifyCommitmentBatch(
    const v1::CommitmentBatch& batch, absl::string_view device_public_key) {
  TEMOIN_RETURN_IF_ERROR(CheckLeaves(batch));
  std::vector<std::vector<std::string>> paths;
  const std::string message = RootMessage(batch.leaves(), &paths);
  if (!VerifySignature(device_public_key, kSignatureContext, message, batch.signature()).ok()) {
    return Refused();
  }
  std::vector<v1::CommitmentProof> proofs(batch.leaves_size());
  for (int i = 0; i < batch.leaves_size(); ++i) {
    *proofs[i].mutable_leaf() = batch.leaves(i);
    proofs[i].set_signature(batch.signature());
    proofs[i].set_leaf_index(static_cast<uint32_t>(i));
    proofs[i].set_leaf_count(static_cast<uint32_t>(batch.leaves_size()));
    for (std::string& hash : paths[i]) proofs[i].add_path(std::move(hash));
  }
  return proofs;
}

absl::Status VerifyCommitmentProof(const v1::CommitmentProof& proof,
                                   absl::string_view device_public_key) {
  std::optional<std::string> root = batch_tree::RootFromPath(
      kNodeContext, LeafHash(proof.leaf()), proof.leaf_index(), proof.leaf_count(), proof.path());
  if (!root.has_value()) return Refused();
  if (!VerifySignature(device_public_key, kSignatureContext,
                       batch_tree::SignedMessage(proof.leaf_count(), *root), proof.signature())
           .ok()) {
    return Refused();
  }
  return absl::OkStatus();
}

}  // namespace temoin::crypto

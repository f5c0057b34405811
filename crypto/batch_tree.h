#ifndef TEMOIN_CRYPTO_BATCH_TREE_H_
#define TEMOIN_CRYPTO_BATCH_TREE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"

// The Merkle tree under one signature for a whole batch: the server's batch receipts
// (crypto/receipt.h) and the device's batches of commitments (crypto/commitment_batch.h).
// The RFC 9162 tree shape (n = 1: the leaf; else split at the largest power of two
// below n) with keyed hashes: each use names its own node context, so no node of one
// kind of batch passes for a node of another.
namespace temoin::crypto::batch_tree {

inline constexpr size_t kMaxLeaves = 1u << 20;
inline constexpr int kMaxPathLength = 32;
inline constexpr size_t kHashBytes = 32;

// Root of `leaves` (at least one). With `paths` (resized to one per leaf), fills each
// leaf's audit path, leaf level first: O(n log n) for a batch.
std::string Root(absl::string_view node_context, const std::vector<std::string>& leaves,
                 std::vector<std::vector<std::string>>* paths);

// The root from one leaf and its path (untrusted), or nullopt when the path does not
// fit (index, count) or a hash has the wrong length.
std::optional<std::string> RootFromPath(
    absl::string_view node_context, const std::string& leaf, uint64_t index, uint64_t count,
    const google::protobuf::RepeatedPtrField<std::string>& path);

// What a batch signature signs: u32be(n) || root.
std::string SignedMessage(size_t count, absl::string_view root);

// Encoding helpers for leaf hashes: big-endian integers, u32be(len) || bytes.
void AppendU32(std::string& out, uint32_t v);
void AppendU64(std::string& out, uint64_t v);
void AppendBytes(std::string& out, absl::string_view bytes);

}  // namespace temoin::crypto::batch_tree

#endif  // TEMOIN_CRYPTO_BATCH_TREE_H_

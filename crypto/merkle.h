#ifndef TEMOIN_CRYPTO_MERKLE_H_
#define TEMOIN_CRYPTO_MERKLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Merkle tree hashing of RFC 9162 §2 (the RFC 6962 tree) with SHA-256, shared by the
// server (which builds the log and its proofs) and the devices and verifiers (which check
// them). Standard tools check the same tree: leaf H(0x00 || leaf), node H(0x01 || l || r).
//
// Proofs are generated from stored *complete subtree* hashes: Node(level, index) is the
// root of the 2^level leaves [index << level, (index + 1) << level). Every node of a tree
// of any size is such a subtree or a hash of a few of them, so a root or a proof at a
// million leaves costs O(log n) reads.
namespace temoin::crypto::merkle {

inline constexpr size_t kHashBytes = 32;

std::string HashLeaf(absl::string_view leaf);
std::string HashChildren(absl::string_view left, absl::string_view right);
// The root of the empty tree: SHA-256 of nothing.
std::string EmptyRoot();

// Reads the stored hash of the complete subtree (level, index). The caller guarantees
// it exists (it lies inside the tree); a store error or a missing node is an error.
using NodeReader = std::function<absl::StatusOr<std::string>(int level, uint64_t index)>;

// A complete subtree that a new leaf completes, to be stored.
struct Node {
  int level;
  uint64_t index;
  std::string hash;
};

// The subtrees that leaf `leaf_index` (0-based) with hash `leaf_hash` completes: the
// leaf itself at level 0, then one node per level while it is a right child. Reads the
// left siblings through `read` (which must see earlier leaves, those of the same batch
// included). Amortised: two nodes written and one read per leaf.
absl::StatusOr<std::vector<Node>> NodesCompletedBy(const NodeReader& read, uint64_t leaf_index,
                                                   std::string leaf_hash);

// MTH(D[0:size]). EmptyRoot() for size 0.
absl::StatusOr<std::string> Root(const NodeReader& read, uint64_t size);

// PATH(index, D[0:size]) of RFC 9162 §2.1.3.1. kInvalidArgument unless index < size.
absl::StatusOr<std::vector<std::string>> InclusionProof(const NodeReader& read, uint64_t index,
                                                        uint64_t size);

// PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1. kInvalidArgument unless
// 0 < old_size <= new_size. Empty when the sizes are equal.
absl::StatusOr<std::vector<std::string>> ConsistencyProof(const NodeReader& read, uint64_t old_size,
                                                          uint64_t new_size);

// One proof for several leaves at once (not in RFC 9162, built on its tree): the roots of
// the largest subtrees of MTH's recursion that hold none of `indexes`, depth first, left
// to right. A verifier who knows those leaves rebuilds the root from them. For a run of
// k adjacent leaves it is O(log n) hashes where k paths are O(k log n): 300 records a
// device just sent cost ~1 KB of proof instead of ~125 KB (issue 13). `indexes` must be
// strictly increasing and below `size` (kInvalidArgument otherwise).
absl::StatusOr<std::vector<std::string>> MultiInclusionProof(const NodeReader& read,
                                                             const std::vector<uint64_t>& indexes,
                                                             uint64_t size);

// A leaf a verifier knows: its 0-based index and its hash.
struct KnownLeaf {
  uint64_t index;
  std::string hash;
};

// Checks a MultiInclusionProof (untrusted) for `leaves` (any order; one index twice is
// kInvalidArgument) against `root` of a tree of `size`. kInvalidArgument for a malformed
// proof (hashes of the wrong length, too few or too many), kDataLoss ("root does not
// match") when the leaves and the proof do not lead to `root`.
absl::Status VerifyMultiInclusion(std::vector<KnownLeaf> leaves, uint64_t size,
                                  const std::vector<std::string>& proof, absl::string_view root);

// RFC 9162 §2.1.3.2. All inputs untrusted. kInvalidArgument for a malformed proof or
// sizes, kDataLoss ("root does not match") when the proof does not lead to `root`.
absl::Status VerifyInclusion(absl::string_view leaf_hash, uint64_t index, uint64_t size,
                             const std::vector<std::string>& proof, absl::string_view root);

// RFC 9162 §2.1.4.2. All inputs untrusted. A proof from the empty tree is refused
// (meaningless: every tree extends it). Equal sizes need an empty proof and equal roots.
// kInvalidArgument for a malformed proof or sizes, kDataLoss when the roots do not
// follow from the proof (the two trees are not one history).
absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size, absl::string_view old_root,
                               absl::string_view new_root, const std::vector<std::string>& proof);

}  // namespace temoin::crypto::merkle

#endif  // TEMOIN_CRYPTO_MERKLE_H_

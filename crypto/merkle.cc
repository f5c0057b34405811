#include "crypto/merkle.h"

#include <sodium.h>

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace temoin::crypto::merkle {
namespace {

std::string Sha256Of(unsigned char prefix, absl::string_view a, absl::string_view b) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, &prefix, 1);
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(a.data()), a.size());
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(b.data()), b.size());
  std::string out(kHashBytes, '\0');
  crypto_hash_sha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// The largest power of two strictly below `n` (n >= 2): RFC 9162's split point k.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// MTH(D[begin:begin+size]). The recursion of the RFC only ever asks for ranges whose
// left parts are complete subtrees aligned on their size, so each step is one read.
absl::StatusOr<std::string> RangeHash(const NodeReader& read, uint64_t begin, uint64_t size) {
  if (std::has_single_bit(size)) {
    if (begin % size != 0) return absl::InternalError("merkle range is not aligned");
    int level = std::countr_zero(size);
    return read(level, begin >> level);
  }
  uint64_t k = SplitPoint(size);
  TEMOIN_ASSIGN_OR_RETURN(std::string left, RangeHash(read, begin, k));
  TEMOIN_ASSIGN_OR_RETURN(std::string right, RangeHash(read, begin + k, size - k));
  return HashChildren(left, right);
}

// PATH(index, D[begin:begin+size]), deepest sibling first.
absl::Status AppendPath(const NodeReader& read, uint64_t index, uint64_t begin, uint64_t size,
                        std::vector<std::string>& proof) {
  if (size <= 1) return absl::OkStatus();
  uint64_t k = SplitPoint(size);
  if (index < k) {
    TEMOIN_RETURN_IF_ERROR(AppendPath(read, index, begin, k, proof));
    TEMOIN_ASSIGN_OR_RETURN(std::string sibling, RangeHash(read, begin + k, size - k));
    proof.push_back(std::move(sibling));
  } else {
    TEMOIN_RETURN_IF_ERROR(AppendPath(read, index - k, begin + k, size - k, proof));
    TEMOIN_ASSIGN_OR_RETURN(std::string sibling, RangeHash(read, begin, k));
    proof.push_back(std::move(sibling));
  }
  return absl::OkStatus();
}

// SUBPROOF(old_size, D[begin:begin+size], whole) of RFC 9162 §2.1.4.1.
absl::Status AppendSubproof(const NodeReader& read, uint64_t old_size, uint64_t begin,
                            uint64_t size, bool whole, std::vector<std::string>& proof) {
  if (old_size == size) {
    if (whole) return absl::OkStatus();
    TEMOIN_ASSIGN_OR_RETURN(std::string hash, RangeHash(read, begin, size));
    proof.push_back(std::move(hash));
    return absl::OkStatus();
  }
  uint64_t k = SplitPoint(size);
  if (old_size <= k) {
    TEMOIN_RETURN_IF_ERROR(AppendSubproof(read, old_size, begin, k, whole, proof));
    TEMOIN_ASSIGN_OR_RETURN(std::string right, RangeHash(read, begin + k, size - k));
    proof.push_back(std::move(right));
  } else {
    TEMOIN_RETURN_IF_ERROR(AppendSubproof(read, old_size - k, begin + k, size - k, false, proof));
    TEMOIN_ASSIGN_OR_RETURN(std::string left, RangeHash(read, begin, k));
    proof.push_back(std::move(left));
  }
  return absl::OkStatus();
}

absl::Status CheckHashes(const std::vector<std::string>& proof) {
  for (const std::string& hash : proof) {
    if (hash.size() != kHashBytes) {
      return absl::InvalidArgumentError("merkle proof has a hash of the wrong length");
    }
  }
  return absl::OkStatus();
}

absl::Status RootsMatch(absl::string_view computed, absl::string_view expected) {
  if (computed.size() != expected.size() ||
      sodium_memcmp(computed.data(), expected.data(), computed.size()) != 0) {
    return absl::DataLossError("merkle root does not match");
  }
  return absl::OkStatus();
}

// Both sizes one level up until fn is a right child again (or the root's left edge).
void ClimbWhileLeftChild(uint64_t& fn, uint64_t& sn) {
  while ((fn & 1) == 0 && fn != 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

// The multi-proof's recursion over D[begin:begin+size], where indexes[lo:hi] are the
// known leaves inside it: a subtree with none is one proof hash, a known leaf is none.
absl::Status AppendMultiPath(const NodeReader& read, const std::vector<uint64_t>& indexes,
                             size_t lo, size_t hi, uint64_t begin, uint64_t size,
                             std::vector<std::string>& proof) {
  if (lo == hi) {
    TEMOIN_ASSIGN_OR_RETURN(std::string hash, RangeHash(read, begin, size));
    proof.push_back(std::move(hash));
    return absl::OkStatus();
  }
  if (size == 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(size);
  size_t mid = lo;
  while (mid < hi && indexes[mid] < begin + k) ++mid;
  TEMOIN_RETURN_IF_ERROR(AppendMultiPath(read, indexes, lo, mid, begin, k, proof));
  return AppendMultiPath(read, indexes, mid, hi, begin + k, size - k, proof);
}

// The verifier's side of the same recursion: the subtree's hash from known leaves and
// the proof hashes taken in order from `next`.
absl::StatusOr<std::string> MultiRoot(const std::vector<KnownLeaf>& leaves, size_t lo, size_t hi,
                                      uint64_t begin, uint64_t size,
                                      const std::vector<std::string>& proof, size_t& next) {
  if (lo == hi) {
    if (next == proof.size()) return absl::InvalidArgumentError("multi-leaf proof is too short");
    return proof[next++];
  }
  if (size == 1) return leaves[lo].hash;
  const uint64_t k = SplitPoint(size);
  size_t mid = lo;
  while (mid < hi && leaves[mid].index < begin + k) ++mid;
  TEMOIN_ASSIGN_OR_RETURN(std::string left, MultiRoot(leaves, lo, mid, begin, k, proof, next));
  TEMOIN_ASSIGN_OR_RETURN(std::string right,
                          MultiRoot(leaves, mid, hi, begin + k, size - k, proof, next));
  return HashChildren(left, right);
}

}  // namespace

std::string HashLeaf(absl::string_view leaf) { return Sha256Of(0x00, leaf, {}); }

std::string HashChildren(absl::string_view left, absl::string_view right) {
  return Sha256Of(0x01, left, right);
}

std::string EmptyRoot() {
  std::string out(kHashBytes, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), nullptr, 0);
  return out;
}

absl::StatusOr<std::vector<Node>> NodesCompletedBy(const NodeReader& read, uint64_t leaf_index,
                                                   std::string leaf_hash) {
  std::vector<Node> nodes;
  nodes.push_back(Node{0, leaf_index, std::move(leaf_hash)});
  for (uint64_t index = leaf_index; (index & 1) == 1; index >>= 1) {
    const Node& right = nodes.back();
    TEMOIN_ASSIGN_OR_RETURN(std::string left, read(right.level, index - 1));
    nodes.push_back(Node{right.level + 1, index >> 1, HashChildren(left, right.hash)});
  }
  return nodes;
}

absl::StatusOr<std::string> Root(const NodeReader& read, uint64_t size) {
  if (size == 0) return EmptyRoot();
  return RangeHash(read, 0, size);
}

absl::StatusOr<std::vector<std::string>> InclusionProof(const NodeReader& read, uint64_t index,
                                                        uint64_t size) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf ", index, " is not in a tree of size ", size));
  }
  std::vector<std::string> proof;
  TEMOIN_RETURN_IF_ERROR(AppendPath(read, index, 0, size, proof));
  return proof;
}

absl::StatusOr<std::vector<std::string>> ConsistencyProof(const NodeReader& read, uint64_t old_size,
                                                          uint64_t new_size) {
  if (old_size == 0 || old_size > new_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("no consistency proof from size ", old_size, " to size ", new_size));
  }
  std::vector<std::string> proof;
  TEMOIN_RETURN_IF_ERROR(AppendSubproof(read, old_size, 0, new_size, true, proof));
  return proof;
}

absl::Status VerifyInclusion(absl::string_view leaf_hash, uint64_t index, uint64_t size,
                             const std::vector<std::string>& proof, absl::string_view root) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf ", index, " is not in a tree of size ", size));
  }
  if (leaf_hash.size() != kHashBytes) {
    return absl::InvalidArgumentError("leaf hash has the wrong length");
  }
  TEMOIN_RETURN_IF_ERROR(CheckHashes(proof));
  uint64_t fn = index;
  uint64_t sn = size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) return absl::InvalidArgumentError("inclusion proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = HashChildren(p, r);
      ClimbWhileLeftChild(fn, sn);
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::InvalidArgumentError("inclusion proof is too short");
  return RootsMatch(r, root);
}

absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size, absl::string_view old_root,
                               absl::string_view new_root, const std::vector<std::string>& proof) {
  if (old_size > new_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree size went down from ", old_size, " to ", new_size));
  }
  if (old_size == 0) {
    return absl::InvalidArgumentError("a consistency proof from the empty tree is meaningless");
  }
  if (old_size == new_size) {
    if (!proof.empty()) return absl::InvalidArgumentError("equal sizes need an empty proof");
    return RootsMatch(old_root, new_root);
  }
  if (proof.empty()) return absl::InvalidArgumentError("consistency proof is empty");
  TEMOIN_RETURN_IF_ERROR(CheckHashes(proof));
  if (old_root.size() != kHashBytes) return absl::InvalidArgumentError("old root has wrong length");
  // When the old tree is a complete subtree its root is the proof's implicit first node.
  std::vector<std::string> c;
  c.reserve(proof.size() + 1);
  if (std::has_single_bit(old_size)) c.emplace_back(old_root);
  c.insert(c.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = c[0];
  std::string sr = c[0];
  for (size_t i = 1; i < c.size(); ++i) {
    if (sn == 0) return absl::InvalidArgumentError("consistency proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      fr = HashChildren(c[i], fr);
      sr = HashChildren(c[i], sr);
      ClimbWhileLeftChild(fn, sn);
    } else {
      sr = HashChildren(sr, c[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::InvalidArgumentError("consistency proof is too short");
  TEMOIN_RETURN_IF_ERROR(RootsMatch(fr, old_root));
  return RootsMatch(sr, new_root);
}

absl::StatusOr<std::vector<std::string>> MultiInclusionProof(const NodeReader& read,
                                                             const std::vector<uint64_t>& indexes,
                                                             uint64_t size) {
  for (size_t i = 0; i < indexes.size(); ++i) {
    if (indexes[i] >= size || (i > 0 && indexes[i] <= indexes[i - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("leaf ", indexes[i], " is out of order or not in a tree of size ", size));
    }
  }
  std::vector<std::string> proof;
  if (indexes.empty()) return proof;
  TEMOIN_RETURN_IF_ERROR(AppendMultiPath(read, indexes, 0, indexes.size(), 0, size, proof));
  return proof;
}

absl::Status VerifyMultiInclusion(std::vector<KnownLeaf> leaves, uint64_t size,
                                  const std::vector<std::string>& proof, absl::string_view root) {
  if (leaves.empty()) return absl::InvalidArgumentError("a multi-leaf proof needs a leaf");
  std::sort(leaves.begin(), leaves.end(),
            [](const KnownLeaf& a, const KnownLeaf& b) { return a.index < b.index; });
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (leaves[i].index >= size) {
      return absl::InvalidArgumentError(
          absl::StrCat("leaf ", leaves[i].index, " is not in a tree of size ", size));
    }
    if (i > 0 && leaves[i].index == leaves[i - 1].index) {
      return absl::InvalidArgumentError(absl::StrCat("leaf ", leaves[i].index, " given twice"));
    }
    if (leaves[i].hash.size() != kHashBytes) {
      return absl::InvalidArgumentError("leaf hash has the wrong length");
    }
  }
  TEMOIN_RETURN_IF_ERROR(CheckHashes(proof));
  size_t next = 0;
  TEMOIN_ASSIGN_OR_RETURN(std::string computed,
                          MultiRoot(leaves, 0, leaves.size(), 0, size, proof, next));
  if (next != proof.size()) return absl::InvalidArgumentError("multi-leaf proof is too long");
  return RootsMatch(computed, root);
}

}  // namespace temoin::crypto::merkle

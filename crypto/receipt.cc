#include "crypto/receipt.h"

#include <optional>
#include <string>

#include "crypto/bytes.h"

namespace temoin::crypto {
namespace {

constexpr absl::string_view kReceiptContext = "temoin/receipt/v1";
constexpr absl::string_view kBatchContext = "temoin/batch-receipt/v1";
constexpr absl::string_view kLeafContext = "temoin/batch-receipt/leaf/v1";
constexpr absl::string_view kNodeContext = "temoin/batch-receipt/node/v1";
// A ReceiptBody is well under 200 bytes; anything far larger is not one.
constexpr size_t kMaxReceiptBodyBytes = 4096;
constexpr size_t kMaxBatchLeaves = 1u << 20;
constexpr int kMaxPathLength = 32;
constexpr size_t kHashBytes = 32;

void AppendU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void AppendU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void AppendBytes(std::string& out, absl::string_view bytes) {
  AppendU32(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes.data(), bytes.size());
}

std::string LeafHash(const v1::ReceiptBody& body) {
  std::string encoded;
  AppendU32(encoded, body.format_version());
  AppendBytes(encoded, body.record_id());
  AppendBytes(encoded, body.digest());
  AppendU64(encoded, body.log_index());
  AppendU64(encoded, static_cast<uint64_t>(body.received_at()));
  AppendBytes(encoded, body.server_key_id());
  return Hash256(kLeafContext, encoded);
}

std::string NodeHash(absl::string_view left, absl::string_view right) {
  std::string both(left);
  both.append(right.data(), right.size());
  return Hash256(kNodeContext, both);
}

size_t SplitPoint(size_t n) {  // the largest power of two below n (n >= 2)
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// Root of leaves[begin, end). With `paths` (one per leaf), appends to each leaf's
// audit path its sibling at every level, leaf level first: O(n log n) for a batch.
std::string Root(const std::vector<std::string>& leaves, size_t begin, size_t end,
                 std::vector<std::vector<std::string>>* paths) {
  if (end - begin == 1) return leaves[begin];
  size_t mid = begin + SplitPoint(end - begin);
  std::string left = Root(leaves, begin, mid, paths);
  std::string right = Root(leaves, mid, end, paths);
  if (paths != nullptr) {
    for (size_t i = begin; i < mid; ++i) (*paths)[i].push_back(right);
    for (size_t i = mid; i < end; ++i) (*paths)[i].push_back(left);
  }
  return NodeHash(left, right);
}

// The root from one leaf and its path (leaf level first), or nullopt when the path
// does not fit (index, count).
std::optional<std::string> RootFromPath(const std::string& leaf, size_t index, size_t count,
                                        const google::protobuf::RepeatedPtrField<std::string>& path,
                                        int depth) {
  if (count == 1) {
    if (depth != 0) return std::nullopt;
    return leaf;
  }
  if (depth == 0) return std::nullopt;
  const std::string& sibling = path[depth - 1];
  if (sibling.size() != kHashBytes) return std::nullopt;
  size_t k = SplitPoint(count);
  if (index < k) {
    std::optional<std::string> left = RootFromPath(leaf, index, k, path, depth - 1);
    if (!left.has_value()) return std::nullopt;
    return NodeHash(*left, sibling);
  }
  std::optional<std::string> right = RootFromPath(leaf, index - k, count - k, path, depth - 1);
  if (!right.has_value()) return std::nullopt;
  return NodeHash(sibling, *right);
}

std::string BatchMessage(size_t count, absl::string_view root) {
  std::string message;
  AppendU32(message, static_cast<uint32_t>(count));
  message.append(root.data(), root.size());
  return message;
}

// The signed root of `leaves` and one self-contained Receipt per body.
std::vector<v1::Receipt> BatchReceipts(const std::vector<v1::ReceiptBody>& bodies,
                                       const std::vector<std::string>& leaves,
                                       const std::string& signature,
                                       std::vector<std::vector<std::string>>& paths) {
  std::vector<v1::Receipt> receipts(bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) {
    receipts[i].set_body(bodies[i].SerializeAsString());
    receipts[i].set_signature(signature);
    receipts[i].set_leaf_index(static_cast<uint32_t>(i));
    receipts[i].set_leaf_count(static_cast<uint32_t>(bodies.size()));
    for (std::string& hash : paths[i]) receipts[i].add_path(std::move(hash));
  }
  return receipts;
}

}  // namespace

std::vector<v1::Receipt> SignBatchReceipts(const std::vector<v1::ReceiptBody>& bodies,
                                           const SigningKey& server_key) {
  if (bodies.empty() || bodies.size() > kMaxBatchLeaves) return {};
  std::vector<std::string> leaves;
  leaves.reserve(bodies.size());
  for (const v1::ReceiptBody& body : bodies) leaves.push_back(LeafHash(body));
  std::vector<std::vector<std::string>> paths(leaves.size());
  std::string root = Root(leaves, 0, leaves.size(), &paths);
  std::string signature = server_key.Sign(kBatchContext, BatchMessage(leaves.size(), root));
  return BatchReceipts(bodies, leaves, signature, paths);
}

absl::StatusOr<std::vector<v1::Receipt>> VerifyBatchReceipts(
    const std::vector<v1::ReceiptBody>& bodies, absl::string_view signature,
    absl::string_view server_public_key) {
  if (bodies.empty() || bodies.size() > kMaxBatchLeaves) {
    return absl::InvalidArgumentError("batch receipt is empty or too large");
  }
  std::vector<std::string> leaves;
  leaves.reserve(bodies.size());
  for (const v1::ReceiptBody& body : bodies) leaves.push_back(LeafHash(body));
  std::vector<std::vector<std::string>> paths(leaves.size());
  std::string root = Root(leaves, 0, leaves.size(), &paths);
  if (!VerifySignature(server_public_key, kBatchContext, BatchMessage(leaves.size(), root),
                       signature)
           .ok()) {
    return absl::UnauthenticatedError("receipt verification failed");
  }
  return BatchReceipts(bodies, leaves, std::string(signature), paths);
}

v1::Receipt SignReceipt(const v1::ReceiptBody& body, const SigningKey& server_key) {
  v1::Receipt receipt;
  // Signed as serialized here and never re-serialized: protobuf is not canonical.
  receipt.set_body(body.SerializeAsString());
  receipt.set_signature(server_key.Sign(kReceiptContext, receipt.body()));
  return receipt;
}

absl::StatusOr<v1::ReceiptBody> VerifyReceipt(const v1::Receipt& receipt,
                                              absl::string_view server_public_key,
                                              absl::string_view record_id,
                                              absl::string_view digest) {
  VerifiedBatchSignatures none;
  return VerifyReceipt(receipt, server_public_key, record_id, digest, none);
}

absl::StatusOr<v1::ReceiptBody> VerifyReceipt(const v1::Receipt& receipt,
                                              absl::string_view server_public_key,
                                              absl::string_view record_id, absl::string_view digest,
                                              VerifiedBatchSignatures& verified) {
  if (receipt.body().size() > kMaxReceiptBodyBytes) {
    return absl::InvalidArgumentError("receipt body too large");
  }
  v1::ReceiptBody body;
  if (receipt.leaf_count() == 0) {
    // Signature first: nothing in an unsigned body is worth parsing.
    if (!VerifySignature(server_public_key, kReceiptContext, receipt.body(), receipt.signature())
             .ok()) {
      return absl::UnauthenticatedError("receipt verification failed");
    }
    if (!body.ParseFromString(receipt.body())) {
      return absl::InvalidArgumentError("receipt body does not parse");
    }
  } else {
    // A batch receipt signs the root, not these bytes: every field the body holds is
    // bound through its leaf, so the body is parsed first and checked through the root.
    if (!body.ParseFromString(receipt.body())) {
      return absl::InvalidArgumentError("receipt body does not parse");
    }
    std::optional<std::string> root;
    if (receipt.leaf_index() < receipt.leaf_count() && receipt.leaf_count() <= kMaxBatchLeaves &&
        receipt.path_size() <= kMaxPathLength) {
      root = RootFromPath(LeafHash(body), receipt.leaf_index(), receipt.leaf_count(),
                          receipt.path(), receipt.path_size());
    }
    if (!root.has_value()) return absl::UnauthenticatedError("receipt verification failed");
    const std::string message = BatchMessage(receipt.leaf_count(), *root);
    if (!verified.Contains(server_public_key, message, receipt.signature())) {
      if (!VerifySignature(server_public_key, kBatchContext, message, receipt.signature()).ok()) {
        return absl::UnauthenticatedError("receipt verification failed");
      }
      verified.Add(server_public_key, message, receipt.signature());
    }
  }
  if (!internal::ConstantTimeEquals(body.record_id(), record_id)) {
    return absl::InvalidArgumentError("receipt record_id names another record");
  }
  if (!internal::ConstantTimeEquals(body.digest(), digest)) {
    return absl::InvalidArgumentError("receipt digest names another digest");
  }
  return body;
}

}  // namespace temoin::crypto

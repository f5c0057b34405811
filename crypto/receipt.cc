#include "crypto/receipt.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "crypto/batch_tree.h"
#include "crypto/bytes.h"

namespace temoin::crypto {
namespace {

// A ReceiptBody is well under 200 bytes; anything far larger is not one.
constexpr size_t kMaxReceiptBodyBytes = 4096;

struct Contexts {
  absl::string_view single;
  absl::string_view batch;
  absl::string_view leaf;
  absl::string_view node;
};

// Full and commitment receipts share no context, down to their leaves and nodes: no
// signature, path or cached verification of one kind says anything of the other.
Contexts ContextsOf(ReceiptKind kind) {
  if (kind == ReceiptKind::kCommitment) {
    return {"temoin/commitment-receipt/v1", "temoin/commitment-batch-receipt/v1",
            "temoin/commitment-batch-receipt/leaf/v1", "temoin/commitment-batch-receipt/node/v1"};
  }
  return {"temoin/receipt/v1", "temoin/batch-receipt/v1", "temoin/batch-receipt/leaf/v1",
          "temoin/batch-receipt/node/v1"};
}

std::string LeafHash(const Contexts& contexts, const v1::ReceiptBody& body) {
  using batch_tree::AppendBytes, batch_tree::AppendU32, batch_tree::AppendU64;
  std::string encoded;
  AppendU32(encoded, body.format_version());
  AppendBytes(encoded, body.record_id());
  AppendBytes(encoded, body.digest());
  AppendU64(encoded, body.log_index());
  AppendU64(encoded, static_cast<uint64_t>(body.received_at()));
  AppendBytes(encoded, body.server_key_id());
  return Hash256(contexts.leaf, encoded);
}

// The signed root of `leaves` and one self-contained Receipt per body.
std::vector<v1::Receipt> BatchReceipts(const std::vector<v1::ReceiptBody>& bodies,
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

// The root message of `bodies` and each body's audit path.
std::string RootMessage(const Contexts& contexts, const std::vector<v1::ReceiptBody>& bodies,
                        std::vector<std::vector<std::string>>& paths) {
  std::vector<std::string> leaves;
  leaves.reserve(bodies.size());
  for (const v1::ReceiptBody& body : bodies) leaves.push_back(LeafHash(contexts, body));
  return batch_tree::SignedMessage(leaves.size(), batch_tree::Root(contexts.node, leaves, &paths));
}

}  // namespace

std::vector<v1::Receipt> SignBatchReceipts(const std::vector<v1::ReceiptBody>& bodies,
                                           const SigningKey& server_key, ReceiptKind kind) {
  if (bodies.empty() || bodies.size() > batch_tree::kMaxLeaves) return {};
  const Contexts contexts = ContextsOf(kind);
  std::vector<std::vector<std::string>> paths;
  const std::string message = RootMessage(contexts, bodies, paths);
  return BatchReceipts(bodies, server_key.Sign(contexts.batch, message), paths);
}

absl::StatusOr<std::vector<v1::Receipt>> VerifyBatchReceipts(
    const std::vector<v1::ReceiptBody>& bodies, absl::string_view signature,
    absl::string_view server_public_key, ReceiptKind kind) {
  if (bodies.empty() || bodies.size() > batch_tree::kMaxLeaves) {
    return absl::InvalidArgumentError("batch receipt is empty or too large");
  }
  const Contexts contexts = ContextsOf(kind);
  std::vector<std::vector<std::string>> paths;
  const std::string message = RootMessage(contexts, bodies, paths);
  if (!VerifySignature(server_public_key, contexts.batch, message, signature).ok()) {
    return absl::UnauthenticatedError("receipt verification failed");
  }
  return BatchReceipts(bodies, std::string(signature), paths);
}

v1::Receipt SignReceipt(const v1::ReceiptBody& body, const SigningKey& server_key,
                        ReceiptKind kind) {
  v1::Receipt receipt;
  // Signed as serialized here and never re-serialized: protobuf is not canonical.
  receipt.set_body(body.SerializeAsString());
  receipt.set_signature(server_key.Sign(ContextsOf(kind).single, receipt.body()));
  return receipt;
}

absl::StatusOr<v1::ReceiptBody> VerifyReceipt(const v1::Receipt& receipt,
                                              absl::string_view server_public_key,
                                              absl::string_view record_id, absl::string_view digest,
                                              ReceiptKind kind) {
  VerifiedBatchSignatures none;
  return VerifyReceipt(receipt, server_public_key, record_id, digest, none, kind);
}

absl::StatusOr<v1::ReceiptBody> VerifyReceipt(const v1::Receipt& receipt,
                                              absl::string_view server_public_key,
                                              absl::string_view record_id, absl::string_view digest,
                                              VerifiedBatchSignatures& verified, ReceiptKind kind) {
  const Contexts contexts = ContextsOf(kind);
  if (receipt.body().size() > kMaxReceiptBodyBytes) {
    return absl::InvalidArgumentError("receipt body too large");
  }
  v1::ReceiptBody body;
  if (receipt.leaf_count() == 0) {
    // Signature first: nothing in an unsigned body is worth parsing.
    if (!VerifySignature(server_public_key, contexts.single, receipt.body(), receipt.signature())
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
    std::optional<std::string> root =
        batch_tree::RootFromPath(contexts.node, LeafHash(contexts, body), receipt.leaf_index(),
                                 receipt.leaf_count(), receipt.path());
    if (!root.has_value()) return absl::UnauthenticatedError("receipt verification failed");
    const std::string message = batch_tree::SignedMessage(receipt.leaf_count(), *root);
    // The cache names the signature context with the message: the roots of the two
    // kinds already differ (leaf and node contexts), and a hit of one kind must never
    // stand for the other even if they did not.
    const std::string cached = absl::StrCat(contexts.batch, "|", message);
    if (!verified.Contains(server_public_key, cached, receipt.signature())) {
      if (!VerifySignature(server_public_key, contexts.batch, message, receipt.signature()).ok()) {
        return absl::UnauthenticatedError("receipt verification failed");
      }
      verified.Add(server_public_key, cached, receipt.signature());
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

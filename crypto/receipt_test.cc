#include "crypto/receipt.h"

#include <gtest/gtest.h>

#include <vector>

#include "crypto/test_util.h"

namespace temoin::crypto {
namespace {

using ::absl::StatusCode;
using test::Filled;

class ReceiptTest : public ::testing::Test {
 protected:
  v1::ReceiptBody Body() const {
    v1::ReceiptBody body;
    body.set_format_version(1);
    body.set_record_id(record_id_);
    body.set_digest(digest_);
    body.set_log_index(42);
    body.set_received_at(1795800000);
    body.set_server_key_id(KeyId(server_.public_key()));
    return body;
  }

  SigningKey server_ = SigningKey::Generate();
  const std::string record_id_ = Filled(16, 'r');
  const std::string digest_ = Filled(32, 'g');
};

TEST_F(ReceiptTest, SignedReceiptVerifies) {
  v1::Receipt receipt = SignReceipt(Body(), server_);
  absl::StatusOr<v1::ReceiptBody> body =
      VerifyReceipt(receipt, server_.public_key(), record_id_, digest_);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->log_index(), 42u);
}

TEST_F(ReceiptTest, ReceiptForAnotherRecordOrDigestIsRejected) {
  v1::Receipt receipt = SignReceipt(Body(), server_);
  EXPECT_EQ(VerifyReceipt(receipt, server_.public_key(), Filled(16, 'x'), digest_).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      VerifyReceipt(receipt, server_.public_key(), record_id_, Filled(32, 'x')).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      VerifyReceipt(receipt, server_.public_key(), record_id_, digest_.substr(1)).status().code(),
      StatusCode::kInvalidArgument);
}

TEST_F(ReceiptTest, ForgedSignatureIsRejected) {
  v1::Receipt forged = SignReceipt(Body(), SigningKey::Generate());
  absl::Status status = VerifyReceipt(forged, server_.public_key(), record_id_, digest_).status();
  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "receipt verification failed");

  v1::Receipt tampered = SignReceipt(Body(), server_);
  (*tampered.mutable_body())[tampered.body().size() - 1] ^= 1;
  EXPECT_EQ(VerifyReceipt(tampered, server_.public_key(), record_id_, digest_).status().code(),
            StatusCode::kUnauthenticated);
  tampered = SignReceipt(Body(), server_);
  tampered.clear_signature();
  EXPECT_EQ(VerifyReceipt(tampered, server_.public_key(), record_id_, digest_).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(ReceiptTest, SignatureFromAnotherPurposeIsRejected) {
  // A record signature over the same bytes must not pass as a receipt.
  v1::Receipt receipt;
  receipt.set_body(Body().SerializeAsString());
  receipt.set_signature(server_.Sign("temoin/record/v1", receipt.body()));
  EXPECT_EQ(VerifyReceipt(receipt, server_.public_key(), record_id_, digest_).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(ReceiptTest, SignedBodyThatDoesNotParseIsInvalid) {
  v1::Receipt receipt;
  receipt.set_body("\xff\xff\xff");
  receipt.set_signature(server_.Sign("temoin/receipt/v1", receipt.body()));
  EXPECT_EQ(VerifyReceipt(receipt, server_.public_key(), record_id_, digest_).status().code(),
            StatusCode::kInvalidArgument);
}

std::string Hex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::vector<v1::ReceiptBody> BatchBodies(size_t n) {
  std::vector<v1::ReceiptBody> bodies(n);
  for (size_t i = 0; i < n; ++i) {
    bodies[i].set_format_version(1);
    bodies[i].set_record_id(Filled(16, static_cast<char>('a' + i % 26)) +
                            std::string(i / 26 > 0 ? 1 : 0, static_cast<char>(i / 26)));
    bodies[i].set_digest(Filled(32, 'd'));
    bodies[i].set_log_index(100 + i);
    bodies[i].set_received_at(1795798800);
    bodies[i].set_server_key_id(Filled(16, 'k'));
  }
  return bodies;
}

TEST_F(ReceiptTest, BatchReceiptPathsMatchKnownAnswers) {
  // Expected values computed independently (Python hashlib.blake2b) from the
  // construction in receipt.h: leaves of records 'a'*16, 'b'*16, 'c'*16.
  std::vector<v1::Receipt> receipts = SignBatchReceipts(BatchBodies(3), server_);
  ASSERT_EQ(receipts.size(), 3u);
  ASSERT_EQ(receipts[0].path_size(), 2);
  EXPECT_EQ(Hex(receipts[0].path(0)),
            "dd13358496e3174e645a13763926d4bfb0d16d96327fd0d7f6d85035c174944d");
  EXPECT_EQ(Hex(receipts[0].path(1)),
            "965aa6de12a5f5ab1dbf4d9787cb8c36e40a3595998c482a4fce73cadad68641");
  ASSERT_EQ(receipts[2].path_size(), 1);
  EXPECT_EQ(Hex(receipts[2].path(0)),
            "7b2873eed117a0729b67d97091713fbea5370820338f54bf2cf36b73de30033a");
  EXPECT_EQ(receipts[1].leaf_index(), 1u);
  EXPECT_EQ(receipts[1].leaf_count(), 3u);
}

TEST_F(ReceiptTest, EveryReceiptOfABatchVerifiesOnItsOwn) {
  for (size_t n : {1u, 2u, 3u, 5u, 7u, 8u, 9u, 128u}) {
    std::vector<v1::ReceiptBody> bodies = BatchBodies(n);
    std::vector<v1::Receipt> receipts = SignBatchReceipts(bodies, server_);
    ASSERT_EQ(receipts.size(), n);
    for (size_t i = 0; i < n; ++i) {
      absl::StatusOr<v1::ReceiptBody> body = VerifyReceipt(
          receipts[i], server_.public_key(), bodies[i].record_id(), bodies[i].digest());
      ASSERT_TRUE(body.ok()) << "n=" << n << " i=" << i << ": " << body.status();
      EXPECT_EQ(body->log_index(), 100 + i);
    }
  }
}

TEST_F(ReceiptTest, DeviceRebuildsTheBatchFromItsOwnDigests) {
  std::vector<v1::ReceiptBody> bodies = BatchBodies(5);
  std::vector<v1::Receipt> signed_receipts = SignBatchReceipts(bodies, server_);
  absl::StatusOr<std::vector<v1::Receipt>> rebuilt =
      VerifyBatchReceipts(bodies, signed_receipts[0].signature(), server_.public_key());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  for (size_t i = 0; i < bodies.size(); ++i) {
    EXPECT_EQ((*rebuilt)[i].SerializeAsString(), signed_receipts[i].SerializeAsString());
  }
  // Another digest, log index, order or time: the one signature no longer matches.
  std::vector<v1::ReceiptBody> other = bodies;
  other[3].set_digest(Filled(32, 'x'));
  EXPECT_EQ(VerifyBatchReceipts(other, signed_receipts[0].signature(), server_.public_key())
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  other = bodies;
  other[0].set_log_index(7);
  EXPECT_EQ(VerifyBatchReceipts(other, signed_receipts[0].signature(), server_.public_key())
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  other = bodies;
  std::swap(other[1], other[2]);
  EXPECT_EQ(VerifyBatchReceipts(other, signed_receipts[0].signature(), server_.public_key())
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  other = bodies;
  other.pop_back();
  EXPECT_EQ(VerifyBatchReceipts(other, signed_receipts[0].signature(), server_.public_key())
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(
      VerifyBatchReceipts({}, signed_receipts[0].signature(), server_.public_key()).status().code(),
      StatusCode::kInvalidArgument);
}

TEST_F(ReceiptTest, TamperedBatchReceiptIsRejected) {
  std::vector<v1::ReceiptBody> bodies = BatchBodies(9);
  const v1::Receipt good = SignBatchReceipts(bodies, server_)[4];
  auto verify = [&](const v1::Receipt& r) {
    return VerifyReceipt(r, server_.public_key(), bodies[4].record_id(), bodies[4].digest())
        .status()
        .code();
  };
  ASSERT_EQ(verify(good), StatusCode::kOk);
  v1::Receipt r = good;
  (*r.mutable_path(1))[0] ^= 1;
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  r = good;
  r.set_leaf_index(5);
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  r = good;
  r.set_leaf_index(9);  // out of range
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  r = good;
  r.set_leaf_count(10);
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  r = good;
  r.add_path(std::string(32, 'p'));
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  r = good;
  r.mutable_path()->RemoveLast();
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  r = good;
  r.set_path(0, r.path(0).substr(1));
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  // Any field of the body changed (here the log index and the time).
  v1::ReceiptBody body = bodies[4];
  body.set_log_index(999);
  r = good;
  r.set_body(body.SerializeAsString());
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  body = bodies[4];
  body.set_received_at(0);
  r = good;
  r.set_body(body.SerializeAsString());
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  r = good;
  r.set_signature(SignBatchReceipts(bodies, SigningKey::Generate())[4].signature());
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  // Another record of the batch asking with this receipt is told it names another.
  EXPECT_EQ(VerifyReceipt(good, server_.public_key(), bodies[3].record_id(), bodies[3].digest())
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ReceiptTest, RememberedBatchSignatureStillChecksPathAndBody) {
  std::vector<v1::ReceiptBody> bodies = BatchBodies(9);
  const std::vector<v1::Receipt> receipts = SignBatchReceipts(bodies, server_);
  VerifiedBatchSignatures verified;
  for (size_t i = 0; i < receipts.size(); ++i) {
    ASSERT_TRUE(VerifyReceipt(receipts[i], server_.public_key(), bodies[i].record_id(),
                              bodies[i].digest(), verified)
                    .ok())
        << i;
  }
  auto verify = [&](const v1::Receipt& r) {
    return VerifyReceipt(r, server_.public_key(), bodies[4].record_id(), bodies[4].digest(),
                         verified)
        .status()
        .code();
  };
  v1::Receipt r = receipts[4];
  (*r.mutable_path(1))[0] ^= 1;
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  r = receipts[4];
  v1::ReceiptBody body = bodies[4];
  body.set_log_index(999);
  r.set_body(body.SerializeAsString());
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  r = receipts[4];
  r.set_signature(SignBatchReceipts(bodies, SigningKey::Generate())[4].signature());
  EXPECT_EQ(verify(r), StatusCode::kUnauthenticated);
  // The remembered signature is for this server key only.
  EXPECT_EQ(VerifyReceipt(receipts[4], SigningKey::Generate().public_key(), bodies[4].record_id(),
                          bodies[4].digest(), verified)
                .status()
                .code(),
            StatusCode::kUnauthenticated);
}

TEST_F(ReceiptTest, BatchAndSingleReceiptsNeverPassForEachOther) {
  // A single receipt presented as a batch of one, and a batch of one as a single one.
  v1::Receipt single = SignReceipt(Body(), server_);
  single.set_leaf_count(1);
  EXPECT_EQ(VerifyReceipt(single, server_.public_key(), record_id_, digest_).status().code(),
            StatusCode::kUnauthenticated);
  v1::Receipt batch = SignBatchReceipts({Body()}, server_)[0];
  ASSERT_TRUE(VerifyReceipt(batch, server_.public_key(), record_id_, digest_).ok());
  batch.set_leaf_count(0);
  EXPECT_EQ(VerifyReceipt(batch, server_.public_key(), record_id_, digest_).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(ReceiptTest, InnerNodeDoesNotPassForALeaf) {
  // Leaf and node hashes are domain-separated: a proof that stops one level early
  // (presenting a node as the leaf) cannot be made from any body, and shortening the
  // path fails.
  std::vector<v1::ReceiptBody> bodies = BatchBodies(4);
  v1::Receipt r = SignBatchReceipts(bodies, server_)[0];
  r.set_leaf_count(2);
  r.mutable_path()->DeleteSubrange(0, 1);
  EXPECT_EQ(VerifyReceipt(r, server_.public_key(), record_id_, digest_).status().code(),
            StatusCode::kUnauthenticated);
}

// A commitment receipt says less than a full receipt: neither kind may pass for the other,
// single or batch.
TEST_F(ReceiptTest, CommitmentAndFullReceiptsDoNotPassForEachOther) {
  std::vector<v1::ReceiptBody> bodies(3, Body());
  for (auto& body : bodies) body.set_log_index(0);
  std::vector<v1::Receipt> commitments =
      SignBatchReceipts(bodies, server_, ReceiptKind::kCommitment);
  ASSERT_EQ(commitments.size(), 3u);
  EXPECT_TRUE(VerifyReceipt(commitments[1], server_.public_key(), record_id_, digest_,
                            ReceiptKind::kCommitment)
                  .ok());
  EXPECT_EQ(
      VerifyReceipt(commitments[1], server_.public_key(), record_id_, digest_).status().code(),
      StatusCode::kUnauthenticated);
  EXPECT_TRUE(VerifyBatchReceipts(bodies, commitments[0].signature(), server_.public_key(),
                                  ReceiptKind::kCommitment)
                  .ok());
  EXPECT_EQ(
      VerifyBatchReceipts(bodies, commitments[0].signature(), server_.public_key()).status().code(),
      StatusCode::kUnauthenticated);

  std::vector<v1::Receipt> full = SignBatchReceipts(bodies, server_);
  EXPECT_EQ(
      VerifyReceipt(full[2], server_.public_key(), record_id_, digest_, ReceiptKind::kCommitment)
          .status()
          .code(),
      StatusCode::kUnauthenticated);
  v1::Receipt single = SignReceipt(Body(), server_);
  EXPECT_EQ(
      VerifyReceipt(single, server_.public_key(), record_id_, digest_, ReceiptKind::kCommitment)
          .status()
          .code(),
      StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace temoin::crypto

#include "crypto/receipt.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace temoin::crypto

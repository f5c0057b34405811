#include "client/sync/commitment_batches.h"

#include <gtest/gtest.h>

#include "crypto/commitment_batch.h"
#include "crypto/sodium_init.h"

namespace temoin::client {
namespace {

std::vector<v1::CommitmentLeaf> Leaves(int n) {
  std::vector<v1::CommitmentLeaf> leaves(n);
  for (int i = 0; i < n; ++i) {
    leaves[i].set_record_id(std::string(16, static_cast<char>('a' + i % 26)));
    leaves[i].set_digest(std::string(32, static_cast<char>(i)));
    leaves[i].set_device_seq(i + 1);
  }
  return leaves;
}

class CommitmentBatchesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitializeCrypto().ok()); }
  crypto::SigningKey key_ = crypto::SigningKey::Generate();
};

// Batches are cut to the window's size, each signed so the server can check it alone.
TEST_F(CommitmentBatchesTest, BatchesFitTheAskedBytesAndEachIsSigned) {
  const std::string public_key = key_.public_key();
  CommitmentBatches batches(Leaves(100), std::move(key_));
  int leaves = 0;
  for (uint64_t id = 1;; ++id) {
    v1::UploadRequest request;
    request.set_batch_id(id);
    const size_t bytes = batches.Next(1024, request);
    if (bytes == 0) {
      EXPECT_FALSE(request.has_commitment_batch());
      break;
    }
    EXPECT_LE(bytes, 1024u);
    EXPECT_LE(request.ByteSizeLong(), 1024u + 16);
    EXPECT_TRUE(crypto::VerifyCommitmentBatch(request.commitment_batch(), public_key).ok());
    leaves += request.commitment_batch().leaves_size();
  }
  EXPECT_EQ(leaves, 100);
}

TEST_F(CommitmentBatchesTest, ALeafLargerThanTheAskedBytesStillGoes) {
  CommitmentBatches batches(Leaves(2), std::move(key_));
  v1::UploadRequest request;
  request.set_batch_id(1);
  EXPECT_GT(batches.Next(1, request), 0u);
  EXPECT_EQ(request.commitment_batch().leaves_size(), 1);
}

TEST_F(CommitmentBatchesTest, AnAnswerSplitsIntoResultsAndLeavesTheReceiptCovers) {
  CommitmentBatches batches(Leaves(4), std::move(key_));
  v1::UploadRequest request;
  request.set_batch_id(9);
  ASSERT_GT(batches.Next(4096, request), 0u);
  v1::UploadResponse response;
  response.set_batch_id(9);
  v1::RecordResult* stored = response.add_results();
  stored->set_position(2);
  stored->mutable_receipt()->set_body("b");
  response.mutable_commitment_batch_receipt()->set_signature("s");
  auto answer = batches.Expand(response);
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_EQ(answer->results.size(), 1u);
  EXPECT_EQ(answer->results[0].record_id(), request.commitment_batch().leaves(2).record_id());
  ASSERT_EQ(answer->covered.size(), 3u);
  EXPECT_EQ(answer->covered[2].first, request.commitment_batch().leaves(3).record_id());
  EXPECT_EQ(answer->covered[2].second, request.commitment_batch().leaves(3).digest());
  // Forgotten once answered.
  EXPECT_EQ(batches.Expand(response).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CommitmentBatchesTest, HostileAnswersAreRefused) {
  CommitmentBatches batches(Leaves(6), std::move(key_));
  for (uint64_t id : {1, 2, 3}) {
    v1::UploadRequest request;
    request.set_batch_id(id);
    ASSERT_GT(batches.Next(200, request), 0u);
    ASSERT_EQ(request.commitment_batch().leaves_size(), 2);
  }
  v1::UploadResponse unknown;
  unknown.set_batch_id(77);
  EXPECT_EQ(batches.Expand(unknown).status().code(), absl::StatusCode::kDataLoss);
  v1::UploadResponse out_of_range;
  out_of_range.set_batch_id(1);
  out_of_range.add_results()->set_position(2);
  EXPECT_EQ(batches.Expand(out_of_range).status().code(), absl::StatusCode::kDataLoss);
  v1::UploadResponse twice;
  twice.set_batch_id(2);
  twice.add_results()->set_position(0);
  twice.add_results()->set_position(0);
  EXPECT_EQ(batches.Expand(twice).status().code(), absl::StatusCode::kDataLoss);
  v1::UploadResponse unanswered;  // a leaf with no result and no batch receipt
  unanswered.set_batch_id(3);
  unanswered.add_results()->set_position(1);
  EXPECT_EQ(batches.Expand(unanswered).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace temoin::client

#include "crypto/commitment_batch.h"

#include <gtest/gtest.h>

#include <vector>

#include "crypto/test_util.h"

namespace temoin::crypto {
namespace {

using ::absl::StatusCode;
using test::Filled;

class CommitmentBatchTest : public ::testing::Test {
 protected:
  v1::CommitmentBatch Batch(int n) const {
    v1::CommitmentBatch batch;
    std::vector<v1::CommitmentLeaf> leaves;
    for (int i = 0; i < n; ++i) {
      v1::CommitmentLeaf leaf;
      leaf.set_record_id(Filled(16, static_cast<char>('a' + i)));
      leaf.set_digest(Filled(32, static_cast<char>('A' + i)));
      leaf.set_device_seq(100 + i);
      leaves.push_back(leaf);
      *batch.add_leaves() = leaf;
    }
    batch.set_signature(SignCommitmentBatch(leaves, device_));
    return batch;
  }

  SigningKey device_ = SigningKey::Generate();
};

TEST_F(CommitmentBatchTest, EachLeafGetsAProofThatStandsAlone) {
  for (int n : {1, 2, 3, 7, 8, 13}) {
    v1::CommitmentBatch batch = Batch(n);
    auto proofs = VerifyCommitmentBatch(batch, device_.public_key());
    ASSERT_TRUE(proofs.ok()) << proofs.status();
    ASSERT_EQ(proofs->size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ((*proofs)[i].leaf().record_id(), batch.leaves(i).record_id());
      EXPECT_EQ((*proofs)[i].leaf_index(), static_cast<uint32_t>(i));
      EXPECT_TRUE(VerifyCommitmentProof((*proofs)[i], device_.public_key()).ok()) << n << " " << i;
    }
  }
}

// The device's word binds the record id and device_seq to the digest: none of the three
// can be changed after signing, nor the order of the leaves.
TEST_F(CommitmentBatchTest, AChangedLeafOrOrderIsRefused) {
  v1::CommitmentBatch batch = Batch(5);
  for (int field = 0; field < 4; ++field) {
    v1::CommitmentBatch changed = batch;
    v1::CommitmentLeaf& leaf = *changed.mutable_leaves(2);
    if (field == 0) (*leaf.mutable_record_id())[0] ^= 1;
    if (field == 1) (*leaf.mutable_digest())[31] ^= 1;
    if (field == 2) leaf.set_device_seq(leaf.device_seq() + 1);
    if (field == 3) changed.mutable_leaves()->SwapElements(0, 1);
    absl::Status status = VerifyCommitmentBatch(changed, device_.public_key()).status();
    EXPECT_EQ(status.code(), StatusCode::kUnauthenticated) << field;
    EXPECT_EQ(status.message(), "commitment batch signature verification failed");
  }
}

TEST_F(CommitmentBatchTest, AnotherDevicesSignatureIsRefused) {
  v1::CommitmentBatch batch = Batch(3);
  EXPECT_EQ(VerifyCommitmentBatch(batch, SigningKey::Generate().public_key()).status().code(),
            StatusCode::kUnauthenticated);
  batch.mutable_signature()->clear();
  EXPECT_EQ(VerifyCommitmentBatch(batch, device_.public_key()).status().code(),
            StatusCode::kUnauthenticated);
}

// A leaf dropped from a signed batch, or one added, changes the root.
TEST_F(CommitmentBatchTest, ALeafDroppedOrAddedIsRefused) {
  v1::CommitmentBatch batch = Batch(4);
  v1::CommitmentBatch dropped = batch;
  dropped.mutable_leaves()->RemoveLast();
  EXPECT_EQ(VerifyCommitmentBatch(dropped, device_.public_key()).status().code(),
            StatusCode::kUnauthenticated);
  v1::CommitmentBatch added = batch;
  *added.add_leaves() = batch.leaves(0);
  EXPECT_EQ(VerifyCommitmentBatch(added, device_.public_key()).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(CommitmentBatchTest, MalformedBatchesAreInvalid) {
  v1::CommitmentBatch empty;
  EXPECT_EQ(VerifyCommitmentBatch(empty, device_.public_key()).status().code(),
            StatusCode::kInvalidArgument);
  v1::CommitmentBatch short_id = Batch(2);
  short_id.mutable_leaves(1)->mutable_record_id()->pop_back();
  EXPECT_EQ(VerifyCommitmentBatch(short_id, device_.public_key()).status().code(),
            StatusCode::kInvalidArgument);
  v1::CommitmentBatch long_digest = Batch(2);
  long_digest.mutable_leaves(0)->mutable_digest()->push_back('x');
  EXPECT_EQ(VerifyCommitmentBatch(long_digest, device_.public_key()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(SignCommitmentBatch({}, device_).empty());
}

TEST_F(CommitmentBatchTest, AStoredProofWithAWrongPathIsRefused) {
  v1::CommitmentBatch batch = Batch(6);
  auto proofs = VerifyCommitmentBatch(batch, device_.public_key());
  ASSERT_TRUE(proofs.ok());
  v1::CommitmentProof proof = (*proofs)[3];
  v1::CommitmentProof bad_path = proof;
  (*bad_path.mutable_path(0))[0] ^= 1;
  EXPECT_EQ(VerifyCommitmentProof(bad_path, device_.public_key()).code(),
            StatusCode::kUnauthenticated);
  v1::CommitmentProof bad_index = proof;
  bad_index.set_leaf_index(2);
  EXPECT_EQ(VerifyCommitmentProof(bad_index, device_.public_key()).code(),
            StatusCode::kUnauthenticated);
  v1::CommitmentProof out_of_range = proof;
  out_of_range.set_leaf_index(6);
  EXPECT_EQ(VerifyCommitmentProof(out_of_range, device_.public_key()).code(),
            StatusCode::kUnauthenticated);
  v1::CommitmentProof short_path = proof;
  short_path.mutable_path()->RemoveLast();
  EXPECT_EQ(VerifyCommitmentProof(short_path, device_.public_key()).code(),
            StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace temoin::crypto

// VerifyLogAnswer and VerifyInclusions against trees built here with the shared Merkle
// code and checkpoints signed with a fresh log key: a device accepts a tree that
// extends its checkpoint and refuses a rollback, a fork, a changed log key, a log key
// the receipt key did not sign, and a proof of a leaf that is not in the tree.

#include "client/core/log_state.h"

#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "crypto/merkle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace temoin::client {
namespace {

namespace merkle = crypto::merkle;
using ::testing::HasSubstr;

crypto::LogLeaf Leaf(uint64_t log_index, char salt = 'a') {
  return {.log_index = log_index,
          .record_id = std::string(16, salt),
          .digest = std::string(32, static_cast<char>(log_index)),
          .device_id = std::string(16, 'd'),
          .device_seq = log_index,
          .received_hour = 3600};
}

// A log of leaves [first, ...) with stored complete subtrees, as the server keeps it.
class Tree {
 public:
  void Append(const crypto::LogLeaf& leaf) {
    auto nodes =
        merkle::NodesCompletedBy(Reader(), size_, merkle::HashLeaf(crypto::EncodeLogLeaf(leaf)));
    ASSERT_TRUE(nodes.ok()) << nodes.status();
    for (const merkle::Node& node : *nodes) nodes_[{node.level, node.index}] = node.hash;
    ++size_;
  }
  merkle::NodeReader Reader() const {
    return [this](int level, uint64_t index) -> absl::StatusOr<std::string> {
      auto it = nodes_.find({level, index});
      if (it == nodes_.end()) return absl::NotFoundError("node");
      return it->second;
    };
  }
  uint64_t size() const { return size_; }

 private:
  std::map<std::pair<int, uint64_t>, std::string> nodes_;
  uint64_t size_ = 0;
};

class LogStateTest : public ::testing::Test {
 protected:
  // The server's answer for `tree` to a device holding `old_size`.
  v1::GetLogProofsResponse Answer(const Tree& tree, uint64_t old_size,
                                  const std::vector<uint64_t>& indexes = {},
                                  const crypto::SigningKey* log_key = nullptr,
                                  std::string origin = "") {
    const crypto::SigningKey& key = log_key != nullptr ? *log_key : log_key_;
    if (origin.empty()) origin = absl::StrCat("temoin.log/test", log_key != nullptr ? "2" : "");
    v1::GetLogProofsResponse answer;
    auto root = merkle::Root(tree.Reader(), tree.size());
    EXPECT_TRUE(root.ok());
    auto note = crypto::SignCheckpoint({origin, tree.size(), *root, {}}, key);
    EXPECT_TRUE(note.ok()) << note.status();
    answer.set_checkpoint(*note);
    answer.set_log_vkey(crypto::FormatVkey(origin, key.public_key()));
    answer.set_log_vkey_signature(receipt_key_.Sign(crypto::kLogKeyContext, answer.log_vkey()));
    if (old_size > 0 && old_size < tree.size()) {
      auto proof = merkle::ConsistencyProof(tree.Reader(), old_size, tree.size());
      EXPECT_TRUE(proof.ok());
      for (const std::string& hash : *proof) answer.add_consistency(hash);
    }
    for (uint64_t index : indexes) {
      v1::LogInclusionProof* proof = answer.add_inclusion();
      proof->set_log_index(index);
      auto path = merkle::InclusionProof(tree.Reader(), index - 1, tree.size());
      EXPECT_TRUE(path.ok());
      for (const std::string& hash : *path) proof->add_hashes(hash);
    }
    return answer;
  }

  crypto::SigningKey receipt_key_ = crypto::SigningKey::Generate();
  crypto::SigningKey log_key_ = crypto::SigningKey::Generate();
};

TEST_F(LogStateTest, AcceptsAnExtensionWithItsInclusionProofs) {
  Tree tree;
  for (uint64_t i = 1; i <= 5; ++i) tree.Append(Leaf(i));
  auto first = VerifyLogAnswer(Answer(tree, 0), receipt_key_.public_key(), std::nullopt);
  ASSERT_TRUE(first.ok()) << first.status();
  for (uint64_t i = 6; i <= 13; ++i) tree.Append(Leaf(i));
  v1::GetLogProofsResponse answer = Answer(tree, 5, {6, 13});
  auto next = VerifyLogAnswer(answer, receipt_key_.public_key(), *first);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->checkpoint.size, 13u);
  EXPECT_TRUE(VerifyInclusions(*next, {Leaf(6), Leaf(13)}, answer).ok());
  // A leaf that differs from what the tree holds (another digest) is refused.
  crypto::LogLeaf changed = Leaf(13);
  changed.digest[0] ^= 1;
  absl::Status refused = VerifyInclusions(*next, {Leaf(6), changed}, answer);
  EXPECT_EQ(refused.code(), absl::StatusCode::kDataLoss) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("log index 13"));
}

// The joint form a sync asks for: one proof for a run of leaves and a stray one.
TEST_F(LogStateTest, AcceptsAJointProofAndRefusesALeafNotInTheTree) {
  Tree tree;
  for (uint64_t i = 1; i <= 40; ++i) tree.Append(Leaf(i));
  v1::GetLogProofsResponse answer = Answer(tree, 0);
  std::vector<crypto::LogLeaf> leaves = {Leaf(3)};
  for (uint64_t i = 20; i <= 31; ++i) leaves.push_back(Leaf(i));
  std::vector<uint64_t> indexes;
  for (const crypto::LogLeaf& leaf : leaves) indexes.push_back(leaf.log_index - 1);
  auto proof = merkle::MultiInclusionProof(tree.Reader(), indexes, tree.size());
  ASSERT_TRUE(proof.ok());
  for (const std::string& hash : *proof) answer.add_joint_inclusion(hash);
  auto checked = VerifyLogAnswer(answer, receipt_key_.public_key(), std::nullopt);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_TRUE(VerifyInclusions(*checked, leaves, answer).ok());
  // 13 leaves, far fewer hashes than 13 paths of 6.
  EXPECT_LE(answer.joint_inclusion_size(), 10);
  leaves[5].record_id[0] ^= 1;  // a record the server never logged
  absl::Status refused = VerifyInclusions(*checked, leaves, answer);
  EXPECT_EQ(refused.code(), absl::StatusCode::kDataLoss) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("log indexes 3 to 31"));
  // A server that answers with no proof at all for leaves it was asked about.
  v1::GetLogProofsResponse empty = Answer(tree, 0);
  EXPECT_EQ(VerifyInclusions(*checked, {Leaf(3), Leaf(20)}, empty).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(LogStateTest, RefusesARollbackNamingBothSizes) {
  Tree tree;
  for (uint64_t i = 1; i <= 7; ++i) tree.Append(Leaf(i));
  auto held = VerifyLogAnswer(Answer(tree, 0), receipt_key_.public_key(), std::nullopt);
  ASSERT_TRUE(held.ok());
  Tree older;
  for (uint64_t i = 1; i <= 4; ++i) older.Append(Leaf(i));
  auto shown = VerifyLogAnswer(Answer(older, 7), receipt_key_.public_key(), *held);
  ASSERT_EQ(shown.status().code(), absl::StatusCode::kDataLoss) << shown.status();
  EXPECT_THAT(shown.status().message(), HasSubstr("tree of 4 leaves"));
  EXPECT_THAT(shown.status().message(), HasSubstr("checkpoint of 7 leaves"));
}

TEST_F(LogStateTest, RefusesAForkAndAnotherLogKey) {
  Tree tree, fork;
  for (uint64_t i = 1; i <= 6; ++i) {
    tree.Append(Leaf(i));
    fork.Append(Leaf(i, i == 3 ? 'z' : 'a'));  // leaf 3 rewritten
  }
  auto held = VerifyLogAnswer(Answer(tree, 0), receipt_key_.public_key(), std::nullopt);
  ASSERT_TRUE(held.ok());
  for (uint64_t i = 7; i <= 9; ++i) fork.Append(Leaf(i));
  auto forked = VerifyLogAnswer(Answer(fork, 6), receipt_key_.public_key(), *held);
  ASSERT_EQ(forked.status().code(), absl::StatusCode::kDataLoss) << forked.status();
  EXPECT_THAT(forked.status().message(), HasSubstr("forked"));
  EXPECT_THAT(forked.status().message(), HasSubstr("tree of 9 leaves"));
  EXPECT_THAT(forked.status().message(), HasSubstr("checkpoint of 6 leaves"));
  // The same size with another root is a fork too.
  Tree same_size_fork;
  for (uint64_t i = 1; i <= 6; ++i) same_size_fork.Append(Leaf(i, i == 6 ? 'z' : 'a'));
  EXPECT_EQ(
      VerifyLogAnswer(Answer(same_size_fork, 6), receipt_key_.public_key(), *held).status().code(),
      absl::StatusCode::kDataLoss);

  crypto::SigningKey other = crypto::SigningKey::Generate();
  for (uint64_t i = 7; i <= 9; ++i) tree.Append(Leaf(i));
  auto rekeyed = VerifyLogAnswer(Answer(tree, 6, {}, &other), receipt_key_.public_key(), *held);
  EXPECT_EQ(rekeyed.status().code(), absl::StatusCode::kDataLoss) << rekeyed.status();
  EXPECT_TRUE(VerifyLogAnswer(Answer(tree, 6), receipt_key_.public_key(), *held).ok());
}

// Issue 13: a sync names the log key it holds (held_log_key) and the answer leaves the
// key and its signature out. The checkpoint is then checked against the held key: one
// signed by another key, or an answer without a key to a device that holds none, is
// refused.
TEST_F(LogStateTest, AnAnswerWithoutItsKeyIsCheckedAgainstTheKeyHeld) {
  Tree tree;
  for (uint64_t i = 1; i <= 5; ++i) tree.Append(Leaf(i));
  auto held = VerifyLogAnswer(Answer(tree, 0), receipt_key_.public_key(), std::nullopt);
  ASSERT_TRUE(held.ok()) << held.status();
  for (uint64_t i = 6; i <= 9; ++i) tree.Append(Leaf(i));
  v1::GetLogProofsResponse keyless = Answer(tree, 5);
  keyless.clear_log_vkey();
  keyless.clear_log_vkey_signature();
  auto next = VerifyLogAnswer(keyless, receipt_key_.public_key(), *held);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->checkpoint.size, 9u);
  EXPECT_EQ(next->vkey, held->vkey);

  EXPECT_EQ(VerifyLogAnswer(keyless, receipt_key_.public_key(), std::nullopt).status().code(),
            absl::StatusCode::kUnauthenticated);
  crypto::SigningKey other = crypto::SigningKey::Generate();
  v1::GetLogProofsResponse other_key = Answer(tree, 5, {}, &other, "temoin.log/test");
  other_key.clear_log_vkey();
  other_key.clear_log_vkey_signature();
  EXPECT_FALSE(VerifyLogAnswer(other_key, receipt_key_.public_key(), *held).ok());
  // A fork is still a fork without the key.
  Tree fork;
  for (uint64_t i = 1; i <= 9; ++i) fork.Append(Leaf(i, i == 2 ? 'z' : 'a'));
  v1::GetLogProofsResponse forked = Answer(fork, 5);
  forked.clear_log_vkey();
  forked.clear_log_vkey_signature();
  EXPECT_EQ(VerifyLogAnswer(forked, receipt_key_.public_key(), *held).status().code(),
            absl::StatusCode::kDataLoss);
}

// temoin-server keys switch: the same tree, under the same origin, signed by a new key.
// A device follows it only when the organisation certified the new key as current, and
// still checks that the tree extends the one it holds under the old key.
TEST_F(LogStateTest, FollowsALogKeyTheOrganisationCertifiedAcrossTheSameTree) {
  Tree tree, fork;
  for (uint64_t i = 1; i <= 6; ++i) {
    tree.Append(Leaf(i));
    fork.Append(Leaf(i, i == 2 ? 'z' : 'a'));
  }
  auto held = VerifyLogAnswer(Answer(tree, 0), receipt_key_.public_key(), std::nullopt);
  ASSERT_TRUE(held.ok()) << held.status();
  for (uint64_t i = 7; i <= 9; ++i) {
    tree.Append(Leaf(i));
    fork.Append(Leaf(i));
  }
  crypto::SigningKey next = crypto::SigningKey::Generate();
  const std::string next_vkey = crypto::FormatVkey("temoin.log/test", next.public_key());
  crypto::ServerKeys certified;
  certified.log_keys.push_back({held->vkey, 0, 3600});
  certified.log_keys.push_back({next_vkey, 3600, std::nullopt});
  auto rotated = [&](const Tree& t, std::string origin, const crypto::ServerKeys* statement) {
    return VerifyLogAnswer(Answer(t, 6, {}, &next, std::move(origin)), receipt_key_.public_key(),
                           *held, statement)
        .status();
  };
  EXPECT_TRUE(rotated(tree, "temoin.log/test", &certified).ok());
  // A no-op sync's cheap check: the same tree under the new key.
  Tree same;
  for (uint64_t i = 1; i <= 6; ++i) same.Append(Leaf(i));
  const v1::GetLogProofsResponse unchanged = Answer(same, 6, {}, &next, "temoin.log/test");
  EXPECT_TRUE(CheckCheckpointAgainstHeld(unchanged, *held, &certified).ok());
  EXPECT_EQ(CheckCheckpointAgainstHeld(unchanged, *held, nullptr).code(),
            absl::StatusCode::kUnauthenticated);
  Tree smaller;
  for (uint64_t i = 1; i <= 4; ++i) smaller.Append(Leaf(i));
  EXPECT_EQ(CheckCheckpointAgainstHeld(Answer(smaller, 0, {}, &next, "temoin.log/test"), *held,
                                       &certified)
                .code(),
            absl::StatusCode::kDataLoss);
  // The organisation has not spoken (no statement, or the key is not in it): refused.
  EXPECT_EQ(rotated(tree, "temoin.log/test", nullptr).code(), absl::StatusCode::kDataLoss);
  crypto::ServerKeys old_only;
  old_only.log_keys.push_back({held->vkey, 0, std::nullopt});
  EXPECT_EQ(rotated(tree, "temoin.log/test", &old_only).code(), absl::StatusCode::kDataLoss);
  // A certified key does not excuse a fork of the held tree.
  absl::Status forked = rotated(fork, "temoin.log/test", &certified);
  EXPECT_EQ(forked.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(forked.message(), HasSubstr("forked"));
  // Nor another log's name: a certified key under another origin is another log.
  crypto::ServerKeys other_origin = certified;
  other_origin.log_keys[1].key = crypto::FormatVkey("temoin.log/elsewhere", next.public_key());
  absl::Status renamed = rotated(tree, "temoin.log/elsewhere", &other_origin);
  EXPECT_EQ(renamed.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(renamed.message(), HasSubstr("another log"));
}

TEST_F(LogStateTest, RefusesALogKeyTheReceiptKeyDidNotSign) {
  Tree tree;
  tree.Append(Leaf(1));
  crypto::SigningKey stranger = crypto::SigningKey::Generate();
  auto shown = VerifyLogAnswer(Answer(tree, 0), stranger.public_key(), std::nullopt);
  EXPECT_EQ(shown.status().code(), absl::StatusCode::kUnauthenticated) << shown.status();
  // A checkpoint whose signature does not verify.
  v1::GetLogProofsResponse answer = Answer(tree, 0);
  std::string note = answer.checkpoint();
  note[note.size() - 5] ^= 1;
  answer.set_checkpoint(note);
  EXPECT_FALSE(VerifyLogAnswer(answer, receipt_key_.public_key(), std::nullopt).ok());
}

// The figure of docs/BENCHMARKS.md: the answer a device gets after sending 300 records
// into a log that held 10,000 (proofs for all 300, consistency from 10,000).
TEST_F(LogStateTest, ProofBytesForThreeHundredRecords) {
  Tree tree;
  for (uint64_t i = 1; i <= 10'300; ++i) tree.Append(Leaf(i));
  std::vector<uint64_t> indexes;
  std::vector<crypto::LogLeaf> leaves;
  for (uint64_t i = 10'001; i <= 10'300; ++i) {
    indexes.push_back(i);
    leaves.push_back(Leaf(i));
  }
  v1::GetLogProofsResponse answer = Answer(tree, 10'000, indexes);
  auto checked = VerifyLogAnswer(answer, receipt_key_.public_key(), std::nullopt);
  ASSERT_TRUE(checked.ok()) << checked.status();
  ASSERT_TRUE(VerifyInclusions(*checked, leaves, answer).ok());
  v1::GetLogProofsResponse bare;
  bare.set_checkpoint(answer.checkpoint());
  bare.set_log_vkey(answer.log_vkey());
  bare.set_log_vkey_signature(answer.log_vkey_signature());
  std::cerr << "log proofs: checkpoint note " << answer.checkpoint().size()
            << " B; answer without proofs " << bare.ByteSizeLong() << " B; with 300 inclusion "
            << "proofs and a consistency proof " << answer.ByteSizeLong() << " B\n";
  // 300 paths of 14 hashes (a tree of 10,300 leaves) are ~135 KB at most.
  EXPECT_LT(answer.ByteSizeLong(), 150'000u);
  // What a sync asks for instead: one joint proof for the 300.
  v1::GetLogProofsResponse joint = Answer(tree, 10'000);
  std::vector<uint64_t> zero_based;
  for (uint64_t i : indexes) zero_based.push_back(i - 1);
  auto proof = merkle::MultiInclusionProof(tree.Reader(), zero_based, tree.size());
  ASSERT_TRUE(proof.ok());
  for (const std::string& hash : *proof) joint.add_joint_inclusion(hash);
  ASSERT_TRUE(VerifyInclusions(*checked, leaves, joint).ok());
  std::cerr << "log proofs: with one joint proof for the 300 instead " << joint.ByteSizeLong()
            << " B (" << joint.joint_inclusion_size() << " hashes)\n";
  EXPECT_LT(joint.ByteSizeLong(), 2'500u);
}

}  // namespace
}  // namespace temoin::client

// The device's witness requirement: a checkpoint passes only with K valid cosignatures of
// the witnesses this device was told to require; a forged one is refused by name.

#include "client/core/witness_policy.h"

#include <stdlib.h>

#include "absl/strings/str_cat.h"
#include "crypto/checkpoint.h"
#include "crypto/merkle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace temoin::client {
namespace {

using ::testing::HasSubstr;

class WitnessPolicyTest : public ::testing::Test {
 protected:
  // One vault for the suite (making one costs a second of Argon2id); each test starts
  // with no witness policy in it.
  static void SetUpTestSuite() {
    std::string pattern = ::testing::TempDir() + "/temoin_wpolicy_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    absl::StatusOr<std::unique_ptr<Vault>> vault = Vault::Create(pattern + "/home", "passphrase");
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = vault->release();
  }
  static void TearDownTestSuite() { delete vault_; }
  void SetUp() override {
    std::vector<std::string> names;
    ASSERT_TRUE(vault_
                    ->Scan(kWitnessNs,
                           [&](absl::string_view name, absl::string_view) {
                             names.emplace_back(name);
                             return true;
                           })
                    .ok());
    VaultBatch batch;
    for (const std::string& name : names) batch.Delete(kWitnessNs, name);
    ASSERT_TRUE(vault_->Commit(batch).ok());
  }

  // A checkpoint signed by the log, cosigned by `cosigners` (as the server appends them).
  VerifiedCheckpoint Checkpoint(const std::vector<const crypto::SigningKey*>& cosigners,
                                const std::vector<std::string>& names) {
    crypto::Checkpoint cp{"temoin.log/test", 3, crypto::merkle::HashLeaf("x"), {}};
    std::string note = *crypto::SignCheckpoint(cp, log_key_);
    for (size_t i = 0; i < cosigners.size(); ++i) {
      note += *crypto::Cosign(*crypto::CheckpointText(cp), names[i], *cosigners[i], 1700000000);
    }
    return {cp, note, crypto::FormatVkey(cp.origin, log_key_.public_key())};
  }

  static Vault* vault_;
  crypto::SigningKey log_key_ = crypto::SigningKey::Generate();
  crypto::SigningKey w1_ = crypto::SigningKey::Generate();
  crypto::SigningKey w2_ = crypto::SigningKey::Generate();
};

Vault* WitnessPolicyTest::vault_ = nullptr;

TEST_F(WitnessPolicyTest, NoRequirementAcceptsAnUncosignedCheckpoint) {
  absl::StatusOr<WitnessPolicy> policy = LoadWitnessPolicy(*vault_);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(CheckWitnessQuorum(Checkpoint({}, {}), *policy).ok());
}

TEST_F(WitnessPolicyTest, RequiresKOfTheConfiguredWitnesses) {
  ASSERT_TRUE(
      RequireWitness(*vault_, crypto::FormatCosignerVkey("w1.example", w1_.public_key()), -1).ok());
  ASSERT_TRUE(
      RequireWitness(*vault_, crypto::FormatCosignerVkey("w2.example", w2_.public_key()), 2).ok());
  absl::StatusOr<WitnessPolicy> policy = LoadWitnessPolicy(*vault_);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->min, 2u);
  EXPECT_EQ(policy->witnesses.size(), 2u);

  EXPECT_TRUE(
      CheckWitnessQuorum(Checkpoint({&w1_, &w2_}, {"w1.example", "w2.example"}), *policy).ok());
  absl::Status one = CheckWitnessQuorum(Checkpoint({&w1_}, {"w1.example"}), *policy);
  EXPECT_EQ(one.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(one.message(), HasSubstr("carries 1 of the 2 witness cosignatures"));
  EXPECT_THAT(one.message(), HasSubstr("missing: w2.example"));
  // A cosignature by an unknown key under w2's name does not count.
  crypto::SigningKey impostor = crypto::SigningKey::Generate();
  EXPECT_EQ(CheckWitnessQuorum(Checkpoint({&w1_, &impostor}, {"w1.example", "w2.example"}), *policy)
                .code(),
            absl::StatusCode::kFailedPrecondition);

  ASSERT_TRUE(SetWitnessMinimum(*vault_, 1).ok());
  policy = LoadWitnessPolicy(*vault_);
  EXPECT_TRUE(CheckWitnessQuorum(Checkpoint({&w1_}, {"w1.example"}), *policy).ok());
}

TEST_F(WitnessPolicyTest, AForgedCosignatureIsRefusedByName) {
  ASSERT_TRUE(
      RequireWitness(*vault_, crypto::FormatCosignerVkey("w1.example", w1_.public_key()), 1).ok());
  VerifiedCheckpoint cp = Checkpoint({&w1_}, {"w1.example"});
  // The cosignature moved onto another checkpoint of the same log.
  VerifiedCheckpoint other = cp;
  other.checkpoint.size = 4;
  other.note = *crypto::SignCheckpoint(
      crypto::Checkpoint{"temoin.log/test", 4, crypto::merkle::HashLeaf("x"), {}}, log_key_);
  other.note += cp.note.substr(cp.note.rfind("\xe2\x80\x94 w1.example"));
  absl::Status moved = CheckWitnessQuorum(other, *LoadWitnessPolicy(*vault_));
  EXPECT_EQ(moved.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(moved.message(), HasSubstr("w1.example"));
}

TEST_F(WitnessPolicyTest, RefusesImpossibleOrMalformedRequirements) {
  EXPECT_FALSE(RequireWitness(*vault_, "not a vkey", 1).ok());
  EXPECT_FALSE(RequireWitness(*vault_, crypto::FormatVkey("log", w1_.public_key()), 1).ok());
  EXPECT_FALSE(
      RequireWitness(*vault_, crypto::FormatCosignerVkey("w1.example", w1_.public_key()), 2).ok());
  EXPECT_FALSE(SetWitnessMinimum(*vault_, 1).ok());  // no witness known
  EXPECT_EQ(LoadWitnessPolicy(*vault_)->min, 0u);
}

}  // namespace
}  // namespace temoin::client

#include "client/core/server_key_statement.h"

#include <string>

#include "gtest/gtest.h"

namespace temoin::client {
namespace {

constexpr int64_t kHour = 3600;
constexpr int64_t kFivePm = 1'796'000'400;  // a whole hour (divisible by 3600)
static_assert(kFivePm % kHour == 0);

const std::string kOld(32, 'o'), kNew(32, 'n');
const std::string kOldLog = "log.example+00000001+old", kNewLog = "log.example+00000002+new";

HeldServerKeys Held(const crypto::ServerKeys& keys) {
  HeldServerKeys held;
  held.keys = keys;
  return held;
}

// The old keys current, the new ones certified beside them (the rotation's window).
HeldServerKeys InTheWindow() {
  absl::StatusOr<crypto::ServerKeys> first =
      NextServerKeyStatement(std::nullopt, kOld, "", kOldLog, "", kFivePm - 2 * kHour);
  EXPECT_TRUE(first.ok()) << first.status();
  absl::StatusOr<crypto::ServerKeys> window =
      NextServerKeyStatement(Held(*first), kOld, kNew, kOldLog, kNewLog, kFivePm - kHour);
  EXPECT_TRUE(window.ok()) << window.status();
  return Held(*window);
}

TEST(ServerKeyStatementTest, AKeyCertifiedFirstCoversEveryHourSinceTheServerBegan) {
  absl::StatusOr<crypto::ServerKeys> first =
      NextServerKeyStatement(std::nullopt, kOld, "", kOldLog, "", kFivePm + 125);
  ASSERT_TRUE(first.ok()) << first.status();
  const crypto::CertifiedKey* old_key = first->FindReceiptKey(kOld);
  ASSERT_NE(old_key, nullptr);
  EXPECT_EQ(old_key->from, 0);
  EXPECT_TRUE(old_key->current());
  EXPECT_EQ(first->issued, kFivePm + 120) << "whole minutes";
}

// Regression: a key retired in the first minute of an hour disowned the receipts it
// had signed in that hour (seen once in receipt_key_rotation_test at 17:00 UTC).
TEST(ServerKeyStatementTest, AKeyRetiredInTheFirstMinuteOfAnHourStillCoversThatHour) {
  absl::StatusOr<crypto::ServerKeys> retired =
      NextServerKeyStatement(InTheWindow(), kNew, "", kNewLog, "", kFivePm + 30);
  ASSERT_TRUE(retired.ok()) << retired.status();
  for (const crypto::CertifiedKey* old_key :
       {retired->FindReceiptKey(kOld), retired->FindLogKey(kOldLog)}) {
    ASSERT_NE(old_key, nullptr);
    ASSERT_FALSE(old_key->current());
    EXPECT_EQ(*old_key->until, kFivePm + 60) << "rounded up to the minute";
    EXPECT_TRUE(old_key->CoversHour(kFivePm)) << "a receipt of 17:00, signed at 17:00:10";
    EXPECT_FALSE(old_key->CoversHour(kFivePm + kHour)) << "nothing after its retirement";
  }
  const crypto::CertifiedKey* new_key = retired->FindReceiptKey(kNew);
  ASSERT_NE(new_key, nullptr);
  EXPECT_TRUE(new_key->current());
  EXPECT_EQ(new_key->from, kFivePm - kHour) << "from when it was certified as the next key";
}

TEST(ServerKeyStatementTest, RoundingUpNeverCoversAnHourAfterTheRetirement) {
  absl::StatusOr<crypto::ServerKeys> late =
      NextServerKeyStatement(InTheWindow(), kNew, "", kNewLog, "", kFivePm + kHour - 30);
  ASSERT_TRUE(late.ok()) << late.status();
  const crypto::CertifiedKey* old_key = late->FindReceiptKey(kOld);
  ASSERT_NE(old_key, nullptr);
  EXPECT_EQ(*old_key->until, kFivePm + kHour) << "17:59:30 rounds up to 18:00";
  EXPECT_TRUE(old_key->CoversHour(kFivePm));
  EXPECT_FALSE(old_key->CoversHour(kFivePm + kHour)) << "18:00 is after the retirement";
  absl::StatusOr<crypto::ServerKeys> on_the_minute =
      NextServerKeyStatement(InTheWindow(), kNew, "", kNewLog, "", kFivePm + 120);
  ASSERT_TRUE(on_the_minute.ok()) << on_the_minute.status();
  EXPECT_EQ(*on_the_minute->FindReceiptKey(kOld)->until, kFivePm + 120) << "already whole";
}

TEST(ServerKeyStatementTest, ARetiredKeyCannotBeCurrentAgain) {
  absl::StatusOr<crypto::ServerKeys> retired =
      NextServerKeyStatement(InTheWindow(), kNew, "", kNewLog, "", kFivePm);
  ASSERT_TRUE(retired.ok()) << retired.status();
  EXPECT_EQ(NextServerKeyStatement(Held(*retired), kOld, "", kNewLog, "", kFivePm + kHour)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(NextServerKeyStatement(Held(*retired), kNew, "", kOldLog, "", kFivePm + kHour)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace temoin::client

// One-call sign-in through the real binaries: a sync signs in with the nonce its last
// sign-in got (server/core/sessions.h), and whenever the server refuses that nonce as
// unauthenticated (spent by a copy of the vault, the server's data restored from an
// older copy, a restart after kill -9) the device falls back to a challenge: a sync
// never fails for it.

#include <filesystem>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::testing::HasSubstr;

void CopyTree(const std::string& from, const std::string& to) {
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
}

class SignInTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Deployment>> made =
        Deployment::Create("temoin-e2e-sign-in", /*monitors=*/1);
    ASSERT_TRUE(made.ok()) << made.status();
    d_ = std::move(*made);
  }

  void ExpectSyncs(const std::string& home, const char* step) {
    SCOPED_TRACE(step);
    CommandResult sync = d_->Temoin(home, {"sync"});
    EXPECT_EQ(sync.exit_code, 0) << sync.err;
  }

  std::unique_ptr<Deployment> d_;
};

TEST_F(SignInTest, SyncFallsBackToAChallengeWhenItsNonceIsRefused) {
  const std::string& monitor = d_->monitors()[0];
  TestimonyGenerator generator(/*seed=*/1201);
  ASSERT_TRUE(d_->Record(monitor, {generator.Next()}).ok());
  ExpectSyncs(monitor, "first sync (challenge; the next nonce kept)");
  ExpectSyncs(monitor, "one-call sign-in");

  // The server's data as it is now, to restore later.
  d_->StopServer();
  const std::string backup = d_->dir().Sub("server-backup");
  CopyTree(d_->server_data(), backup);
  ASSERT_TRUE(d_->StartServer().ok());
  ExpectSyncs(monitor, "after a server restart");

  // A copy of the vault holds the same nonce; whichever uses it second is refused it.
  const std::string copy = d_->dir().Sub("monitor-copy");
  CopyTree(monitor, copy);
  ExpectSyncs(monitor, "original");
  ExpectSyncs(copy, "copy, whose nonce the original spent");
  ExpectSyncs(monitor, "original, whose nonce the copy replaced");

  // The server's data restored from the older copy: the device's nonce is unknown there.
  d_->StopServer();
  std::filesystem::remove_all(d_->server_data());
  CopyTree(backup, d_->server_data());
  ASSERT_TRUE(d_->StartServer().ok());
  ExpectSyncs(monitor, "after the server's data was restored");

  // kill -9 of the server right after a sign-in: whatever the device holds, it syncs.
  ExpectSyncs(monitor, "before kill -9");
  d_->KillServer();
  ASSERT_TRUE(d_->StartServer().ok());
  ASSERT_TRUE(d_->Record(monitor, {generator.Next()}).ok());
  CommandResult sync = d_->Temoin(monitor, {"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("1 receipts verified")) << sync.err;
  absl::StatusOr<Deployment::ServerListing> listing = d_->ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->record_ids.size(), 2u);
}

// A monitor with nothing to send signs in without a session (AuthenticateRequest.
// no_session): its no-op syncs still consume and renew the nonce, and a sync with
// something to send gets a session again.
TEST_F(SignInTest, NoOpSyncsSignInWithoutASessionAndKeepTheNonceChainGoing) {
  const std::string& monitor = d_->monitors()[0];
  ExpectSyncs(monitor, "first sync: nothing to send");
  ExpectSyncs(monitor, "no-op, one call, no session");
  ExpectSyncs(monitor, "no-op again, with the nonce the last one got");
  TestimonyGenerator generator(/*seed=*/1202);
  ASSERT_TRUE(d_->Record(monitor, {generator.Next()}).ok());
  CommandResult sync = d_->Temoin(monitor, {"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("1 receipts verified")) << sync.err;
  ExpectSyncs(monitor, "no-op after the upload");
  // The nonce was renewed each time: a copy of the vault from before is refused it and
  // falls back to a challenge; the original then does too.
  const std::string copy = d_->dir().Sub("monitor-copy");
  CopyTree(monitor, copy);
  ExpectSyncs(monitor, "original");
  ExpectSyncs(copy, "copy, whose nonce the original spent");
  absl::StatusOr<Deployment::ServerListing> listing = d_->ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->record_ids.size(), 1u);
}

}  // namespace
}  // namespace temoin::e2e

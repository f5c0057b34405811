// One-call sign-in through the real binaries: a sync signs in with the nonce its last
// sign-in got (server/core/sessions.h), and whenever the server refuses that nonce as
// unauthenticated (spent by a copy of the vault, the server's data restored from an
// older copy, a restart after kill -9) the device falls back to a challenge: a sync
// never fails for it.

#include <filesystem>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "temoin/v1/sync.grpc.pb.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/raw_client.h"
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

// A monitor with records to send signs in on its first Upload call (sync.proto
// UploadResponse.sign_in) with the nonce its last sign-in got. When the server refuses
// that nonce (a copy of the vault spent it), the upload is refused before any batch is
// read and the sync signs in again with a challenge, at once: it still succeeds.
TEST_F(SignInTest, ASyncThatSignsInOnItsUploadFallsBackWhenItsNonceIsRefused) {
  const std::string& monitor = d_->monitors()[0];
  TestimonyGenerator generator(/*seed=*/1203);
  ASSERT_TRUE(d_->Record(monitor, {generator.Next()}).ok());
  ExpectSyncs(monitor, "first sync (challenge; the next nonce kept)");
  const std::string copy = d_->dir().Sub("monitor-copy");
  CopyTree(monitor, copy);
  for (const std::string* home : {&monitor, &copy}) {
    SCOPED_TRACE(*home == monitor ? "original (signs in on its upload)"
                                  : "copy, whose nonce the original spent");
    ASSERT_TRUE(d_->Record(*home, {generator.Next()}).ok());
    CommandResult sync = d_->Temoin(*home, {"sync"});
    ASSERT_EQ(sync.exit_code, 0) << sync.err;
    EXPECT_THAT(sync.err, HasSubstr("1 receipts verified")) << sync.err;
    absl::StatusOr<nlohmann::json> counts = d_->RecordCounts(*home);
    ASSERT_TRUE(counts.ok()) << counts.status();
    EXPECT_EQ((*counts)["sealed"], 0) << counts->dump();
  }
  absl::StatusOr<Deployment::ServerListing> listing = d_->ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->record_ids.size(), 3u);
}

// A revoked monitor whose sync signs in on its upload is refused before the server
// reads a batch: its record is not stored, and it obeys the wipe order that rides on
// the refusal as it does after a sign-in call.
TEST_F(SignInTest, ARevokedDeviceThatSignsInOnItsUploadIsWipedAndNothingIsStored) {
  const std::string& monitor = d_->monitors()[0];
  TestimonyGenerator generator(/*seed=*/1204);
  ASSERT_TRUE(d_->Record(monitor, {generator.Next()}).ok());
  ExpectSyncs(monitor, "first sync (the next nonce kept)");
  ASSERT_TRUE(d_->Run(d_->admin(), {"revoke", d_->monitor_ids()[0]}).ok());
  ASSERT_TRUE(d_->Record(monitor, {generator.Next()}).ok());
  CommandResult refused = d_->Temoin(monitor, {"sync"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("device has been revoked")) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("vault has been wiped")) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(monitor + "/vault.key")) << "vault.key survived the wipe";
  absl::StatusOr<Deployment::ServerListing> listing = d_->ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->record_ids.size(), 1u);
}

// The sign-in an Upload carries instead of a token, from a raw client: refused before
// any handler when it does not parse or its signature does not check; refused when it
// asks for no session; answered first, with a token and the next nonce, when valid;
// and refused when replayed (its nonce is spent).
TEST_F(SignInTest, AnUploadsSignInIsCheckedAsASignInCallIs) {
  absl::StatusOr<RawClient> raw = RawClient::For(*d_);
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_TRUE(raw->EnrolMonitor(*d_).ok());
  absl::StatusOr<std::string> nonce = raw->SignInForNextNonce();
  ASSERT_TRUE(nonce.ok()) << nonce.status();
  ASSERT_FALSE(nonce->empty());
  auto stub = v1::Sync::NewStub(raw->Channel(1));
  struct Opened {
    grpc::Status status;
    std::vector<v1::UploadResponse> answers;
  };
  auto upload = [&](const std::string& sign_in) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("temoin-sign-in-bin", sign_in);
    auto stream = stub->Upload(&ctx);
    stream->WritesDone();
    Opened opened;
    v1::UploadResponse answer;
    while (stream->Read(&answer)) opened.answers.push_back(answer);
    opened.status = stream->Finish();
    return opened;
  };

  Opened garbage = upload("not a sign-in");
  EXPECT_EQ(garbage.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(garbage.status.error_message(), HasSubstr("does not parse"));
  EXPECT_TRUE(garbage.answers.empty());

  v1::AuthenticateRequest forged = raw->SignedSignIn(*nonce);
  forged.mutable_signature()->at(0) ^= 1;
  Opened refused = upload(forged.SerializeAsString());
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << refused.status.error_message();
  EXPECT_TRUE(refused.answers.empty());

  v1::AuthenticateRequest sessionless = raw->SignedSignIn(*nonce);
  sessionless.set_no_session(true);
  Opened invalid = upload(sessionless.SerializeAsString());
  EXPECT_EQ(invalid.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << invalid.status.error_message();
  EXPECT_TRUE(invalid.answers.empty());

  // None of the above spent the nonce.
  const std::string valid = raw->SignedSignIn(*nonce).SerializeAsString();
  Opened signed_in = upload(valid);
  EXPECT_TRUE(signed_in.status.ok()) << signed_in.status.error_message();
  ASSERT_EQ(signed_in.answers.size(), 1u);
  v1::AuthenticateResponse answer;
  ASSERT_TRUE(answer.ParseFromString(signed_in.answers[0].sign_in()));
  EXPECT_FALSE(answer.token().empty());
  EXPECT_EQ(answer.next_nonce().size(), 16u);
  EXPECT_NE(answer.next_nonce(), *nonce);

  Opened replayed = upload(valid);
  EXPECT_EQ(replayed.status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << replayed.status.error_message();
  EXPECT_TRUE(replayed.answers.empty());
}

}  // namespace
}  // namespace temoin::e2e

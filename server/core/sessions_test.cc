// SessionAuthority's pre-issued next nonces: one-call sign-in (server/core/sessions.h).
//
// Devices are written straight into the store, as enrolment leaves them, so that only
// the session logic is under test. Runs on MemoryStore and on RocksStore (the latter
// reopened from disk for the restart test).

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "crypto/envelope.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"
#include "server/core/registry.h"
#include "server/core/sessions.h"
#include "server/core/testing/fake_device.h"
#include "server/storage/memory_store.h"
#include "server/storage/rocks_store.h"
#include "temoin/v1/server_store.pb.h"

namespace temoin::server {
namespace {

using ::absl::StatusCode;
using ::temoin::server::testing::FakeDevice;
using ::temoin::server::testing::Must;

constexpr int64_t kStartTime = 1'780'000'000;

class CryptoEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(crypto::InitializeCrypto().ok()); }
};
::testing::Environment* const kCryptoEnvironment =
    ::testing::AddGlobalTestEnvironment(new CryptoEnvironment);

enum class StoreKind { kMemory, kRocks };

class NextNonceTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    if (GetParam() == StoreKind::kRocks) {
      std::string pattern = ::testing::TempDir() + "/temoin_sessions_XXXXXX";
      ASSERT_NE(mkdtemp(pattern.data()), nullptr);
      dir_ = pattern;
    }
    OpenStore();
    Restart();
    Add(device_);
    Add(other_);
  }

  void TearDown() override {
    sessions_.reset();
    registry_.reset();
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void OpenStore() {
    if (GetParam() == StoreKind::kRocks) {
      store_ = Must(RocksStore::Open(dir_ + "/db"), "open rocks store");
    } else {
      store_ = std::make_unique<MemoryStore>();
    }
  }

  // A fresh authority on the same store, as after a server restart (its challenges
  // and token key are gone). With `reopen`, the RocksStore is closed and reopened.
  void Restart(bool reopen = false) {
    sessions_.reset();
    registry_.reset();
    if (reopen && GetParam() == StoreKind::kRocks) {
      store_.reset();
      OpenStore();
    }
    registry_ = std::make_unique<Registry>(store_.get());
    sessions_ = std::make_unique<SessionAuthority>(registry_.get(), &clock_);
  }

  void Add(FakeDevice& device, bool revoked = false) {
    if (device.id.empty()) device.id = device.ExpectedId();
    v1::StoredDevice stored;
    stored.set_device_id(device.id);
    stored.set_role(v1::ROLE_MONITOR);
    stored.set_signing_public_key(device.signing.public_key());
    stored.set_box_public_key(device.box.public_key());
    stored.set_revoked(revoked);
    WriteBatch batch;
    batch.Put(keys::Device(device.id), stored.SerializeAsString());
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  // The full sign-in (challenge, then authenticate); returns the next nonce.
  std::string ChallengeSignIn(const FakeDevice& device) {
    std::string nonce = Must(sessions_->IssueChallenge(device.id), "challenge");
    std::string next;
    Must(sessions_->Authenticate(device.id, nonce, device.SignChallenge(nonce), &next), "auth");
    EXPECT_EQ(next.size(), SessionAuthority::kNextNonceBytes);
    return next;
  }

  // One-call sign-in with a pre-issued nonce; the new next nonce into `next`.
  absl::StatusOr<std::string> Direct(const FakeDevice& device, const std::string& nonce,
                                     std::string* next = nullptr) {
    std::string ignored;
    return sessions_->Authenticate(device.id, nonce, device.SignChallenge(nonce),
                                   next != nullptr ? next : &ignored);
  }

  std::string dir_;
  FakeClock clock_{kStartTime};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<SessionAuthority> sessions_;
  FakeDevice device_;
  FakeDevice other_;
};

TEST_P(NextNonceTest, SignsInOnceWithoutAChallenge) {
  std::string nonce = ChallengeSignIn(device_);
  std::string next;
  absl::StatusOr<std::string> token = Direct(device_, nonce, &next);
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<Session> session = sessions_->Verify(*token);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->device.device_id(), device_.id);
  // A new one each time, and it works in turn (a chain of one-call sign-ins).
  EXPECT_EQ(next.size(), SessionAuthority::kNextNonceBytes);
  EXPECT_NE(next, nonce);
  EXPECT_TRUE(Direct(device_, next).ok());
}

TEST_P(NextNonceTest, ReuseIsRefused) {
  std::string nonce = ChallengeSignIn(device_);
  ASSERT_TRUE(Direct(device_, nonce).ok());
  absl::StatusOr<std::string> again = Direct(device_, nonce);
  EXPECT_EQ(again.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(again.status().message(), "authentication failed");
}

TEST_P(NextNonceTest, ANewSignInReplacesTheOldNonce) {
  std::string first = ChallengeSignIn(device_);
  std::string second = ChallengeSignIn(device_);
  EXPECT_EQ(Direct(device_, first).status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(Direct(device_, second).ok());
}

TEST_P(NextNonceTest, AnotherDevicesNonceIsRefused) {
  std::string mine = ChallengeSignIn(device_);
  ChallengeSignIn(other_);
  // Signed correctly by the other device, over this device's nonce: still refused.
  absl::StatusOr<std::string> stolen = Direct(other_, mine);
  EXPECT_EQ(stolen.status().code(), StatusCode::kUnauthenticated);
  // Claiming this device's id with the other device's key fails the signature, and
  // leaves the nonce to its owner.
  absl::StatusOr<std::string> forged =
      sessions_->Authenticate(device_.id, mine, other_.SignChallenge(mine), nullptr);
  EXPECT_EQ(forged.status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(Direct(device_, mine).ok());
}

TEST_P(NextNonceTest, UnknownDeviceLooksLikeAWrongNonce) {
  FakeDevice stranger;
  stranger.id = stranger.ExpectedId();
  std::string nonce = crypto::RandomBytes(crypto::kChallengeBytes);
  absl::StatusOr<std::string> unknown = Direct(stranger, nonce);
  absl::StatusOr<std::string> wrong = Direct(device_, nonce);
  EXPECT_EQ(unknown.status(), wrong.status());
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnauthenticated);
}

TEST_P(NextNonceTest, ExpiredIsRefused) {
  std::string nonce = ChallengeSignIn(device_);
  clock_.Advance(SessionAuthority::kNextNonceTtlSeconds + 1);
  EXPECT_EQ(Direct(device_, nonce).status().code(), StatusCode::kUnauthenticated);

  std::string fresh = ChallengeSignIn(device_);
  clock_.Advance(SessionAuthority::kNextNonceTtlSeconds - 1);
  EXPECT_TRUE(Direct(device_, fresh).ok());
}

TEST_P(NextNonceTest, SurvivesARestartAndIsStoredOnlyAsAHash) {
  std::string nonce = ChallengeSignIn(device_);
  Restart(/*reopen=*/true);
  std::optional<std::string> stored = Must(store_->Get(keys::NextNonce(device_.id)), "get");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->find(nonce), std::string::npos);
  std::string next;
  absl::StatusOr<std::string> token = Direct(device_, nonce, &next);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_TRUE(sessions_->Verify(*token).ok());
  // Its use survives a restart too.
  Restart(/*reopen=*/true);
  EXPECT_EQ(Direct(device_, nonce).status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(Direct(device_, next).ok());
}

TEST_P(NextNonceTest, RevokedDeviceIsRefusedWithPermissionDenied) {
  std::string nonce = ChallengeSignIn(device_);
  Add(device_, /*revoked=*/true);
  // Not before its own signature checks: another key over its nonce is no oracle.
  absl::StatusOr<std::string> forged =
      sessions_->Authenticate(device_.id, nonce, other_.SignChallenge(nonce), nullptr);
  EXPECT_EQ(forged.status().code(), StatusCode::kUnauthenticated);
  std::string next = "untouched";
  absl::StatusOr<std::string> refused = Direct(device_, nonce, &next);
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(), "device has been revoked");
  EXPECT_TRUE(next.empty());
  // The challenge path issues no next nonce to a revoked device either.
  std::string challenge = Must(sessions_->IssueChallenge(device_.id), "challenge");
  next = "untouched";
  absl::StatusOr<std::string> again =
      sessions_->Authenticate(device_.id, challenge, device_.SignChallenge(challenge), &next);
  EXPECT_EQ(again.status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(next.empty());
}

TEST_P(NextNonceTest, ConcurrentSignInsWithOneNonceHaveOneWinner) {
  for (int round = 0; round < 5; ++round) {
    std::string nonce = ChallengeSignIn(device_);
    constexpr int kThreads = 8;
    std::vector<absl::StatusCode> codes(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] { codes[i] = Direct(device_, nonce).status().code(); });
    }
    for (std::thread& thread : threads) thread.join();
    int ok = 0;
    for (absl::StatusCode code : codes) {
      if (code == StatusCode::kOk) {
        ++ok;
      } else {
        EXPECT_EQ(code, StatusCode::kUnauthenticated);
      }
    }
    EXPECT_EQ(ok, 1) << "round " << round;
  }
}

TEST_P(NextNonceTest, ChallengesStillWorkAsBefore) {
  std::string nonce = Must(sessions_->IssueChallenge(device_.id), "challenge");
  ASSERT_TRUE(
      sessions_->Authenticate(device_.id, nonce, device_.SignChallenge(nonce), nullptr).ok());
  // Single use; and a challenge is gone with a restart.
  EXPECT_EQ(sessions_->Authenticate(device_.id, nonce, device_.SignChallenge(nonce), nullptr)
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  std::string lost = Must(sessions_->IssueChallenge(device_.id), "challenge");
  Restart();
  EXPECT_EQ(sessions_->Authenticate(device_.id, lost, device_.SignChallenge(lost), nullptr)
                .status()
                .code(),
            StatusCode::kUnauthenticated);
}

TEST_P(NextNonceTest, NextNoncesAreSixteenBytesAndThirtyTwoByteOnesStillWork) {
  std::string next;
  ASSERT_TRUE(Direct(device_, ChallengeSignIn(device_), &next).ok());
  EXPECT_EQ(next.size(), 16u);
  // A 32-byte next nonce stored by the server before they were shortened.
  const std::string old = crypto::RandomBytes(32);
  WriteBatch batch;
  batch.Put(keys::NextNonce(device_.id),
            absl::StrCat(crypto::Hash256("temoin/next-nonce/v1", old),
                         EncodeU64BigEndian(static_cast<uint64_t>(
                             kStartTime + SessionAuthority::kNextNonceTtlSeconds))));
  ASSERT_TRUE(store_->Commit(batch).ok());
  EXPECT_EQ(Direct(device_, next).status().code(), StatusCode::kUnauthenticated);  // replaced
  ASSERT_TRUE(Direct(device_, old, &next).ok());
  EXPECT_EQ(next.size(), 16u);
  EXPECT_EQ(Direct(device_, old).status().code(), StatusCode::kUnauthenticated);
  // Other sizes never match, even by prefix.
  EXPECT_EQ(Direct(device_, next.substr(0, 15)).status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(Direct(device_, next).ok());
}

TEST_P(NextNonceTest, TokenTagIsSixteenBytesAndEveryBitCounts) {
  std::string token = Must(Direct(device_, ChallengeSignIn(device_)), "sign in");
  std::string raw = Must(FromBase64Url(token, "token"), "decode");
  ASSERT_EQ(raw.size(), crypto::kDeviceIdBytes + 8 + 8 + SessionAuthority::kTokenMacBytes);
  ASSERT_TRUE(sessions_->Verify(token).ok());
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string tampered = raw;
    tampered[i] ^= 0x01;
    EXPECT_EQ(sessions_->Verify(ToBase64Url(tampered)).status().code(),
              StatusCode::kUnauthenticated)
        << "byte " << i;
  }
  // Truncated, extended (a 32-byte tag as before) or from another process's key.
  EXPECT_FALSE(sessions_->Verify(ToBase64Url(raw.substr(0, raw.size() - 1))).ok());
  EXPECT_FALSE(sessions_->Verify(ToBase64Url(raw + std::string(16, '\0'))).ok());
  Restart();
  EXPECT_FALSE(sessions_->Verify(token).ok());
}

TEST_P(NextNonceTest, WithoutSessionChecksAndConsumesAsUsualButMintsNoToken) {
  std::string nonce = ChallengeSignIn(device_);
  // Another key's signature is refused, and leaves the nonce unused.
  std::string next = "untouched";
  EXPECT_EQ(
      sessions_->AuthenticateWithoutSession(device_.id, nonce, other_.SignChallenge(nonce), &next)
          .status()
          .code(),
      StatusCode::kUnauthenticated);
  EXPECT_TRUE(next.empty());
  EXPECT_EQ(
      sessions_->AuthenticateWithoutSession(device_.id, nonce, device_.SignChallenge("x"), &next)
          .status()
          .code(),
      StatusCode::kUnauthenticated);
  absl::StatusOr<Session> session =
      sessions_->AuthenticateWithoutSession(device_.id, nonce, device_.SignChallenge(nonce), &next);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->device_id(), device_.id);
  EXPECT_EQ(next.size(), SessionAuthority::kNextNonceBytes);
  // Consumed: neither path takes it again; the next one works.
  EXPECT_EQ(sessions_->AuthenticateWithoutSession(device_.id, nonce, device_.SignChallenge(nonce))
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(Direct(device_, nonce).status().code(), StatusCode::kUnauthenticated);
  // Nothing it returned verifies as a token.
  EXPECT_FALSE(sessions_->Verify(next).ok());
  EXPECT_FALSE(sessions_->Verify(ToBase64Url(next)).ok());
  EXPECT_FALSE(sessions_->Verify("").ok());
  EXPECT_TRUE(Direct(device_, next).ok());
  // A challenge works too, once.
  std::string challenge = Must(sessions_->IssueChallenge(device_.id), "challenge");
  EXPECT_TRUE(
      sessions_->AuthenticateWithoutSession(device_.id, challenge, device_.SignChallenge(challenge))
          .ok());
  EXPECT_FALSE(
      sessions_->AuthenticateWithoutSession(device_.id, challenge, device_.SignChallenge(challenge))
          .ok());
}

TEST_P(NextNonceTest, WithoutSessionRevokedIsRefusedOnlyAfterItsSignature) {
  std::string nonce = ChallengeSignIn(device_);
  Add(device_, /*revoked=*/true);
  std::string next = "untouched";
  EXPECT_EQ(
      sessions_->AuthenticateWithoutSession(device_.id, nonce, other_.SignChallenge(nonce), &next)
          .status()
          .code(),
      StatusCode::kUnauthenticated);
  absl::StatusOr<Session> refused =
      sessions_->AuthenticateWithoutSession(device_.id, nonce, device_.SignChallenge(nonce), &next);
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(), "device has been revoked");
  EXPECT_TRUE(next.empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, NextNonceTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kRocks),
                         [](const ::testing::TestParamInfo<StoreKind>& info) {
                           return info.param == StoreKind::kMemory ? "Memory" : "Rocks";
                         });

// ---------------------------------------------------------------- stateless challenges

absl::StatusCode SignInCode(SessionAuthority& sessions, const FakeDevice& signer,
                            const std::string& device_id, const std::string& nonce) {
  return sessions.Authenticate(device_id, nonce, signer.SignChallenge(nonce), nullptr)
      .status()
      .code();
}

TEST_P(NextNonceTest, AFloodOfChallengesLocksNoOneOut) {
  // 200k challenges with no sign-in, for random ids and for the device itself: the
  // server keeps nothing for them, so nothing fills up.
  for (int i = 0; i < 200'000; ++i) {
    std::string id = i % 2 == 0 ? crypto::RandomBytes(crypto::kDeviceIdBytes) : device_.id;
    ASSERT_TRUE(sessions_->IssueChallenge(id).ok()) << i;
  }
  std::string nonce = Must(sessions_->IssueChallenge(device_.id), "challenge");
  EXPECT_EQ(nonce.size(), crypto::kChallengeBytes);
  EXPECT_EQ(SignInCode(*sessions_, device_, device_.id, nonce), StatusCode::kOk);
}

TEST_P(NextNonceTest, AUsedChallengeIsRefusedEvenAfterOtherSignIns) {
  std::string nonce = Must(sessions_->IssueChallenge(device_.id), "challenge");
  ASSERT_EQ(SignInCode(*sessions_, device_, device_.id, nonce), StatusCode::kOk);
  ChallengeSignIn(device_);
  ChallengeSignIn(other_);
  EXPECT_EQ(SignInCode(*sessions_, device_, device_.id, nonce), StatusCode::kUnauthenticated);
  clock_.Advance(SessionAuthority::kChallengeTtlSeconds / 2);
  EXPECT_EQ(SignInCode(*sessions_, device_, device_.id, nonce), StatusCode::kUnauthenticated);
}

TEST_P(NextNonceTest, AnExpiredChallengeIsRefused) {
  std::string nonce = Must(sessions_->IssueChallenge(device_.id), "challenge");
  clock_.Advance(SessionAuthority::kChallengeTtlSeconds + 1);
  EXPECT_EQ(SignInCode(*sessions_, device_, device_.id, nonce), StatusCode::kUnauthenticated);
  // Even a forged expiry: the MAC covers it.
  std::string fresh = Must(sessions_->IssueChallenge(device_.id), "challenge");
  std::string later = fresh;
  later[13] = static_cast<char>(later[13] + 1);
  EXPECT_EQ(SignInCode(*sessions_, device_, device_.id, later), StatusCode::kUnauthenticated);
  EXPECT_EQ(SignInCode(*sessions_, device_, device_.id, fresh), StatusCode::kOk);
}

TEST_P(NextNonceTest, AnotherDevicesChallengeIsRefused) {
  std::string theirs = Must(sessions_->IssueChallenge(other_.id), "challenge");
  // Signed by this device for itself, or by the other device for this one: refused.
  EXPECT_EQ(SignInCode(*sessions_, device_, device_.id, theirs), StatusCode::kUnauthenticated);
  EXPECT_EQ(SignInCode(*sessions_, other_, device_.id, theirs), StatusCode::kUnauthenticated);
  // Its own device may still use it: the refusals above consumed nothing.
  EXPECT_EQ(SignInCode(*sessions_, other_, other_.id, theirs), StatusCode::kOk);
}

TEST_P(NextNonceTest, AChallengeDoesNotOutliveARestart) {
  std::string nonce = Must(sessions_->IssueChallenge(device_.id), "challenge");
  Restart();
  EXPECT_EQ(SignInCode(*sessions_, device_, device_.id, nonce), StatusCode::kUnauthenticated);
}

TEST_P(NextNonceTest, ADeviceSigningInInALoopIsStoppedAloneAndOnlyForAMinute) {
  for (size_t i = 0; i < SessionAuthority::kMaxUsedChallengesPerDevice; ++i) {
    std::string nonce = Must(sessions_->IssueChallenge(device_.id), "challenge");
    ASSERT_EQ(SignInCode(*sessions_, device_, device_.id, nonce), StatusCode::kOk) << i;
  }
  std::string one_more = Must(sessions_->IssueChallenge(device_.id), "challenge");
  EXPECT_EQ(SignInCode(*sessions_, device_, device_.id, one_more), StatusCode::kResourceExhausted);
  std::string others = Must(sessions_->IssueChallenge(other_.id), "challenge");
  EXPECT_EQ(SignInCode(*sessions_, other_, other_.id, others), StatusCode::kOk);
  clock_.Advance(SessionAuthority::kChallengeTtlSeconds + 1);
  std::string later = Must(sessions_->IssueChallenge(device_.id), "challenge");
  EXPECT_EQ(SignInCode(*sessions_, device_, device_.id, later), StatusCode::kOk);
}

}  // namespace
}  // namespace temoin::server

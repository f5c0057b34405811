#include "crypto/keys.h"

#include <gtest/gtest.h>

#include "crypto/auth.h"

#include "crypto/test_util.h"

namespace temoin::crypto {
namespace {

using test::Filled;

constexpr absl::string_view kContext = "temoin/test/v1";

TEST(SigningKeyTest, SignatureVerifiesForSameContextAndMessage) {
  SigningKey key = SigningKey::Generate();
  std::string signature = key.Sign(kContext, "message");
  EXPECT_EQ(signature.size(), kSignatureBytes);
  EXPECT_TRUE(VerifySignature(key.public_key(), kContext, "message", signature).ok());
}

TEST(SigningKeyTest, SignatureFailsForAnotherContextMessageKeyOrLength) {
  SigningKey key = SigningKey::Generate();
  SigningKey other = SigningKey::Generate();
  std::string signature = key.Sign(kContext, "message");
  auto code = [](const absl::Status& s) { return s.code(); };
  const auto kUnauth = absl::StatusCode::kUnauthenticated;
  EXPECT_EQ(code(VerifySignature(key.public_key(), "temoin/other/v1", "message", signature)),
            kUnauth);
  EXPECT_EQ(code(VerifySignature(key.public_key(), kContext, "messagf", signature)), kUnauth);
  EXPECT_EQ(code(VerifySignature(other.public_key(), kContext, "message", signature)), kUnauth);
  EXPECT_EQ(code(VerifySignature(key.public_key(), kContext, "message", signature.substr(1))),
            kUnauth);
  EXPECT_EQ(code(VerifySignature("short", kContext, "message", signature)), kUnauth);
  EXPECT_EQ(VerifySignature(key.public_key(), kContext, "messagf", signature).message(),
            "signature verification failed");
}

TEST(SigningKeyTest, ContextAndMessageBoundaryIsUnambiguous) {
  SigningKey key = SigningKey::Generate();
  std::string signature = key.Sign("temoin/a", "bc");
  EXPECT_FALSE(VerifySignature(key.public_key(), "temoin/ab", "c", signature).ok());
}

TEST(SigningKeyTest, FromSecretKeyRoundTrips) {
  SigningKey key = SigningKey::Generate();
  absl::StatusOr<SigningKey> copy = SigningKey::FromSecretKey(key.secret_key().ExposeSecret());
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(copy->public_key(), key.public_key());
  EXPECT_TRUE(VerifySignature(key.public_key(), kContext, "m", copy->Sign(kContext, "m")).ok());
}

TEST(SigningKeyTest, FromSecretKeyRejectsMismatchedPublicHalfAndWrongLength) {
  std::string secret(SigningKey::Generate().secret_key().ExposeSecret());
  secret.back() ^= 1;
  EXPECT_EQ(SigningKey::FromSecretKey(secret).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningKey::FromSecretKey(secret.substr(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BoxKeyPairTest, FromSecretKeyRecomputesPublicKey) {
  BoxKeyPair pair = BoxKeyPair::Generate();
  absl::StatusOr<BoxKeyPair> copy = BoxKeyPair::FromSecretKey(pair.secret_key().ExposeSecret());
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(copy->public_key(), pair.public_key());
  EXPECT_EQ(BoxKeyPair::FromSecretKey("short").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SealedBoxTest, OpensOnlyWithTheRecipientKey) {
  BoxKeyPair recipient = BoxKeyPair::Generate();
  BoxKeyPair other = BoxKeyPair::Generate();
  absl::StatusOr<std::string> sealed = SealToPublicKey("data key", recipient.public_key());
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  absl::StatusOr<SecretBuffer> opened = OpenSealed(*sealed, recipient);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->ExposeSecret(), "data key");
  EXPECT_EQ(OpenSealed(*sealed, other).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(OpenSealed("short", recipient).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(SealToPublicKey("x", "short").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SealedBoxTest, EmptyPlaintextRoundTrips) {
  BoxKeyPair recipient = BoxKeyPair::Generate();
  absl::StatusOr<std::string> sealed = SealToPublicKey("", recipient.public_key());
  ASSERT_TRUE(sealed.ok());
  absl::StatusOr<SecretBuffer> opened = OpenSealed(*sealed, recipient);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->empty());
  (*sealed)[40] ^= 1;
  EXPECT_EQ(OpenSealed(*sealed, recipient).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(AeadTest, RoundTripsAndRejectsTamperingOrOtherAssociatedData) {
  absl::StatusOr<Aead> aead = Aead::Create(SecretBuffer::Random(Aead::kKeyBytes));
  ASSERT_TRUE(aead.ok()) << aead.status();
  std::string sealed = aead->Seal("draft", "ad");
  absl::StatusOr<std::string> opened = aead->Open(sealed, "ad");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "draft");
  EXPECT_EQ(aead->Open(sealed, "other ad").status().code(), absl::StatusCode::kUnauthenticated);
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] ^= 0x01;
    EXPECT_EQ(aead->Open(tampered, "ad").status().code(), absl::StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(aead->Open(sealed.substr(0, 39), "ad").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AeadTest, CreateRejectsWrongKeyLength) {
  EXPECT_EQ(Aead::Create(SecretBuffer::Random(16)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KdfTest, DeriveSubkeyIsDeterministicAndSeparatedByContextAndId) {
  SecretBuffer master = SecretBuffer::CopyOf(Filled(32, '\x07'));
  SecretBuffer a = DeriveSubkey(master, "tmdraft_", 1);
  EXPECT_TRUE(a.Equals(DeriveSubkey(master, "tmdraft_", 1)));
  EXPECT_FALSE(a.Equals(DeriveSubkey(master, "tmdraft_", 2)));
  EXPECT_FALSE(a.Equals(DeriveSubkey(master, "tmattach", 1)));
}

TEST(PassphraseTest, ParametersBelowTheFloorAreRefused) {
  PassphraseParams params;
  params.salt = Filled(16, 's');
  params.opslimit = 2;
  EXPECT_EQ(DeriveKeyFromPassphrase("six diceware words", params).status().code(),
            absl::StatusCode::kInvalidArgument);
  params.opslimit = 3;
  params.memlimit = 32ull * 1024 * 1024;
  EXPECT_EQ(DeriveKeyFromPassphrase("six diceware words", params).status().code(),
            absl::StatusCode::kInvalidArgument);
  params.memlimit = 64ull * 1024 * 1024;
  params.salt = Filled(15, 's');
  EXPECT_EQ(DeriveKeyFromPassphrase("six diceware words", params).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PassphraseTest, FloorParametersDeriveADeterministicKey) {
  PassphraseParams params;
  params.salt = Filled(16, 's');
  absl::StatusOr<SecretBuffer> a = DeriveKeyFromPassphrase("six diceware words", params);
  absl::StatusOr<SecretBuffer> b = DeriveKeyFromPassphrase("six diceware words", params);
  absl::StatusOr<SecretBuffer> c = DeriveKeyFromPassphrase("six diceware wordz", params);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_TRUE(a->Equals(*b));
  EXPECT_FALSE(a->Equals(*c));
}

TEST(MacTest, VerifiesOnlyTheSameMessageAndKey) {
  SecretBuffer key = SecretBuffer::Random(32);
  std::string mac = Mac(key, "session token");
  EXPECT_TRUE(VerifyMac(key, "session token", mac));
  EXPECT_FALSE(VerifyMac(key, "session tokem", mac));
  EXPECT_FALSE(VerifyMac(SecretBuffer::Random(32), "session token", mac));
  EXPECT_FALSE(VerifyMac(key, "session token", mac.substr(1)));
}

TEST(HashTest, Hash256IsSeparatedByContext) {
  EXPECT_EQ(Hash256("temoin/a/v1", "x").size(), 32u);
  EXPECT_EQ(Hash256("temoin/a/v1", "x"), Hash256("temoin/a/v1", "x"));
  EXPECT_NE(Hash256("temoin/a/v1", "x"), Hash256("temoin/b/v1", "x"));
  EXPECT_NE(Hash256("temoin/a", "bc"), Hash256("temoin/ab", "c"));
}

TEST(KeyIdTest, IsSixteenBytesAndDiffersPerKey) {
  BoxKeyPair a = BoxKeyPair::Generate();
  BoxKeyPair b = BoxKeyPair::Generate();
  EXPECT_EQ(KeyId(a.public_key()).size(), kKeyIdBytes);
  EXPECT_NE(KeyId(a.public_key()), KeyId(b.public_key()));
}

TEST(RandomBytesTest, GivesRequestedSizeAndDiffers) {
  EXPECT_EQ(RandomBytes(16).size(), 16u);
  EXPECT_NE(RandomBytes(16), RandomBytes(16));
  EXPECT_TRUE(RandomBytes(0).empty());
}

// Issue 12's silent duress signal: it opens only for the bundle key, only with the
// nonce of the sign-in it was made for (a replay into another sign-in reads as no
// signal), only with its flag set, and is 64 bytes whatever it says.
TEST(DuressSignalTest, OpensOnlyForItsNonceItsKeyAndItsFlag) {
  const BoxKeyPair bundle = BoxKeyPair::Generate();
  const BoxKeyPair other = BoxKeyPair::Generate();
  const std::string nonce = RandomBytes(32);
  const std::string raised = SealDuressSignal(true, nonce, bundle.public_key());
  const std::string quiet = SealDuressSignal(false, nonce, bundle.public_key());
  EXPECT_EQ(raised.size(), kDuressSignalBytes);
  EXPECT_EQ(quiet.size(), kDuressSignalBytes);
  EXPECT_TRUE(OpenDuressSignal(raised, nonce, bundle));
  EXPECT_FALSE(OpenDuressSignal(quiet, nonce, bundle));
  EXPECT_FALSE(OpenDuressSignal(raised, RandomBytes(32), bundle));  // replayed
  EXPECT_FALSE(OpenDuressSignal(raised, nonce, other));
  EXPECT_FALSE(OpenDuressSignal(RandomBytes(kDuressSignalBytes), nonce, bundle));  // forged
  std::string flipped = raised;
  flipped[40] ^= 1;
  EXPECT_FALSE(OpenDuressSignal(flipped, nonce, bundle));
  EXPECT_FALSE(OpenDuressSignal(raised.substr(0, 63), nonce, bundle));
  EXPECT_FALSE(OpenDuressSignal("", nonce, bundle));
  // A device that has not learnt the bundle key sends random bytes of the same size.
  EXPECT_EQ(SealDuressSignal(true, nonce, "not a key").size(), kDuressSignalBytes);
}

}  // namespace
}  // namespace temoin::crypto

#include "crypto/cosignature.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "crypto/checkpoint.h"
#include "crypto/merkle.h"
#include "gtest/gtest.h"

namespace temoin::crypto {
namespace {

// The checkpoint of the c2sp.org/tlog-cosignature example, cosigned at the example's time.
constexpr char kSpecText[] =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
constexpr uint64_t kSpecTime = 1679315147;
constexpr char kWitnessName[] = "witness.example.com/w1";
// Made with python3-nacl (an implementation sharing no code with ours) from the seed
// 01 02 ... 20, per the spec's message and key id (the spec gives no key for its example).
constexpr char kVectorVkey[] =
    "witness.example.com/w1+8561c71e+BHm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk";
constexpr char kVectorLine[] =
    "\xe2\x80\x94 witness.example.com/w1 "
    "hWHHHgAAAABkGFDLQB2dbiQ7rPMIDjq/twq5Ixt42T+awjiYS4+fxrnLnI31x5abVjZlhDVvZAcRRLyAiG4oQlhTgi4Dsx"
    "iPwiDaDg==";

SigningKey VectorKey() {
  std::string secret;
  absl::HexStringToBytes(
      "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
      "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664")
      .swap(secret);
  absl::StatusOr<SigningKey> key = SigningKey::FromSecretKey(secret);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

CosignerVerifier Verifier(const SigningKey& key, absl::string_view name = kWitnessName) {
  absl::StatusOr<CosignerVerifier> v =
      ParseCosignerVkey(FormatCosignerVkey(name, key.public_key()));
  EXPECT_TRUE(v.ok()) << v.status();
  return *std::move(v);
}

TEST(CosignatureTest, MatchesAnIndependentImplementation) {
  SigningKey key = VectorKey();
  EXPECT_EQ(FormatCosignerVkey(kWitnessName, key.public_key()), kVectorVkey);
  absl::StatusOr<std::string> line = Cosign(kSpecText, kWitnessName, key, kSpecTime);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, absl::StrCat(kVectorLine, "\n"));

  absl::StatusOr<CosignerVerifier> verifier = ParseCosignerVkey(kVectorVkey);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  absl::StatusOr<std::vector<VerifiedCosignature>> verified =
      VerifyCosignatures(kSpecText, {std::string(kVectorLine)}, {*verifier});
  ASSERT_TRUE(verified.ok()) << verified.status();
  ASSERT_EQ(verified->size(), 1u);
  EXPECT_EQ((*verified)[0].name, kWitnessName);
  EXPECT_EQ((*verified)[0].timestamp, kSpecTime);
}

// A witness key published by transparency-dev (formats/note tests): our key id is theirs.
TEST(CosignatureTest, ParsesAPublishedWitnessVkey) {
  absl::StatusOr<CosignerVerifier> v =
      ParseCosignerVkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->key_id, 0xda77ade7u);
  EXPECT_EQ(v->name, "remora.n621.de");
  EXPECT_FALSE(
      ParseCosignerVkey("remora.n621.de+da77ade8+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
          .ok());
}

TEST(CosignatureTest, ALogVkeyIsNotAWitnessVkey) {
  SigningKey key = SigningKey::Generate();
  EXPECT_EQ(ParseCosignerVkey(FormatVkey("w", key.public_key())).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CosignatureTest, ForgedSignatureIsRefused) {
  SigningKey key = VectorKey();
  std::string blob;
  ASSERT_TRUE(absl::Base64Unescape(
      absl::string_view(kVectorLine).substr(sizeof("\xe2\x80\x94 witness.example.com/w1 ") - 1),
      &blob));
  blob.back() ^= 0x01;
  const std::string forged =
      absl::StrCat("\xe2\x80\x94 ", kWitnessName, " ", absl::Base64Escape(blob));
  absl::StatusOr<std::vector<VerifiedCosignature>> verified =
      VerifyCosignatures(kSpecText, {forged}, {Verifier(key)});
  EXPECT_EQ(verified.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verified.status().message(), "cosignature of witness.example.com/w1 does not verify");
}

TEST(CosignatureTest, ChangedTimestampIsRefused) {
  SigningKey key = VectorKey();
  std::string blob;
  ASSERT_TRUE(absl::Base64Unescape(
      absl::string_view(kVectorLine).substr(sizeof("\xe2\x80\x94 witness.example.com/w1 ") - 1),
      &blob));
  blob[11] ^= 0x01;  // the low byte of the timestamp
  const std::string moved =
      absl::StrCat("\xe2\x80\x94 ", kWitnessName, " ", absl::Base64Escape(blob));
  EXPECT_EQ(VerifyCosignatures(kSpecText, {moved}, {Verifier(key)}).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(CosignatureTest, CosignatureOfAnotherCheckpointIsRefused) {
  SigningKey key = SigningKey::Generate();
  Checkpoint a{"temoin.log/0011223344556677", 5, merkle::HashLeaf("a"), {"temoin-audit 1 AA=="}};
  Checkpoint b = a;
  b.root = merkle::HashLeaf("b");
  absl::StatusOr<std::string> line = Cosign(*CheckpointText(a), kWitnessName, key, 1700000000);
  ASSERT_TRUE(line.ok()) << line.status();
  std::string text_line = line->substr(0, line->size() - 1);
  EXPECT_TRUE(VerifyCosignatures(*CheckpointText(a), {text_line}, {Verifier(key)}).ok());
  EXPECT_EQ(VerifyCosignatures(*CheckpointText(b), {text_line}, {Verifier(key)}).status().code(),
            absl::StatusCode::kUnauthenticated);
  // Extension lines are covered too.
  Checkpoint c = a;
  c.extensions = {"temoin-audit 2 AA=="};
  EXPECT_EQ(VerifyCosignatures(*CheckpointText(c), {text_line}, {Verifier(key)}).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(CosignatureTest, UnknownCosignersAndTheLogSignatureAreIgnored) {
  SigningKey witness = SigningKey::Generate();
  SigningKey other = SigningKey::Generate();
  Checkpoint cp{"temoin.log/0011223344556677", 5, merkle::HashLeaf("a"), {}};
  // The log's own signature (type 0x01) by the same key under the same name.
  absl::StatusOr<std::string> note =
      SignCheckpoint(Checkpoint{std::string(kWitnessName), 5, merkle::HashLeaf("a"), {}}, witness);
  ASSERT_TRUE(note.ok());
  absl::StatusOr<NoteParts> parts = SplitNote(*note);
  ASSERT_TRUE(parts.ok()) << parts.status();
  absl::StatusOr<std::vector<VerifiedCosignature>> none =
      VerifyCosignatures(parts->text, parts->signature_lines, {Verifier(witness)});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  // Another key under the witness's name: ignored, not a failure.
  absl::StatusOr<std::string> impostor = Cosign(*CheckpointText(cp), kWitnessName, other, 17);
  ASSERT_TRUE(impostor.ok());
  absl::StatusOr<std::vector<VerifiedCosignature>> ignored = VerifyCosignatures(
      *CheckpointText(cp), {impostor->substr(0, impostor->size() - 1)}, {Verifier(witness)});
  ASSERT_TRUE(ignored.ok()) << ignored.status();
  EXPECT_TRUE(ignored->empty());
}

TEST(CosignatureTest, SplitNoteSeparatesTextAndSignatures) {
  absl::StatusOr<NoteParts> parts = SplitNote(absl::StrCat(kSpecText, "\n", kVectorLine, "\n"));
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_EQ(parts->text, kSpecText);
  ASSERT_EQ(parts->signature_lines.size(), 1u);
  EXPECT_EQ(parts->signature_lines[0], kVectorLine);
  EXPECT_FALSE(SplitNote(kSpecText).ok());
  EXPECT_FALSE(SplitNote("a\n\nb").ok());
}

TEST(CosignatureTest, TimestampBoundsAreEnforced) {
  SigningKey key = SigningKey::Generate();
  EXPECT_FALSE(Cosign(kSpecText, kWitnessName, key, 0).ok());
  EXPECT_FALSE(Cosign(kSpecText, kWitnessName, key, uint64_t{1} << 63).ok());
  EXPECT_FALSE(Cosign("no newline", kWitnessName, key, 1).ok());
  EXPECT_FALSE(Cosign(kSpecText, "bad name", key, 1).ok());
}

}  // namespace
}  // namespace temoin::crypto

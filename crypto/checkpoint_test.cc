#include "crypto/checkpoint.h"

#include "absl/strings/str_replace.h"
#include "crypto/merkle.h"
#include "gtest/gtest.h"

namespace temoin::crypto {
namespace {

// The example of c2sp.org/signed-note: our parser and verifier read other tools' notes.
TEST(SignedNoteTest, VerifiesTheSpecExample) {
  absl::StatusOr<NoteVerifier> verifier =
      ParseVkey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_EQ(verifier->key_id, 0x530d903au);
  const std::string note =
      "This is an example message.\n\n"
      "\xe2\x80\x94 example.com/foo "
      "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM="
      "\n";
  absl::StatusOr<std::string> text = VerifyNote(note, *verifier);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "This is an example message.\n");
  EXPECT_FALSE(
      VerifyNote(absl::StrReplaceAll(note, {{"example message", "example massage"}}), *verifier)
          .ok());
  // The vkey we print for that key is the spec's.
  EXPECT_EQ(FormatVkey("example.com/foo", verifier->public_key),
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
}

TEST(CheckpointTest, SignedCheckpointRoundTripsAndTamperingIsRefused) {
  SigningKey key = SigningKey::Generate();
  Checkpoint checkpoint{"temoin.example/log",
                        20852163,
                        merkle::HashLeaf("x"),
                        {AuditExtension(7, std::string(32, 'a'))}};
  absl::StatusOr<std::string> note = SignCheckpoint(checkpoint, key);
  ASSERT_TRUE(note.ok()) << note.status();
  absl::StatusOr<NoteVerifier> verifier =
      ParseVkey(FormatVkey("temoin.example/log", key.public_key()));
  ASSERT_TRUE(verifier.ok());
  absl::StatusOr<Checkpoint> back = VerifyCheckpoint(*note, *verifier);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->size, 20852163u);
  EXPECT_EQ(back->root, checkpoint.root);
  EXPECT_EQ(back->extensions, checkpoint.extensions);
  EXPECT_EQ(note->substr(0, note->find('\n')), "temoin.example/log");

  std::string bigger = absl::StrReplaceAll(*note, {{"\n20852163\n", "\n20852164\n"}});
  EXPECT_EQ(VerifyCheckpoint(bigger, *verifier).status().code(),
            absl::StatusCode::kUnauthenticated);
  SigningKey other = SigningKey::Generate();
  absl::StatusOr<NoteVerifier> wrong =
      ParseVkey(FormatVkey("temoin.example/log", other.public_key()));
  EXPECT_FALSE(VerifyCheckpoint(*note, *wrong).ok());
  // A witness's extra signature line is ignored.
  std::string cosigned = *note + "\xe2\x80\x94 witness.example/w AAAAAAAA\n";
  EXPECT_TRUE(VerifyCheckpoint(cosigned, *verifier).ok());
  EXPECT_FALSE(VerifyCheckpoint("garbage", *verifier).ok());
  EXPECT_FALSE(
      ParseVkey("temoin.example/log+00000000+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").ok());
}

}  // namespace
}  // namespace temoin::crypto

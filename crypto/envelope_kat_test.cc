// Known-answer tests: pin the record format, key ids, the domain-separated hash and the
// receipt signature, so that no change to the construction, the field order or a
// context string can slip through unnoticed.
//
// To regenerate after a DELIBERATE format change (which also needs a new
// format_version and a migration story): set each pinned constant below to "", run
// envelope_kat_test, and paste the "actual" values it prints. Never regenerate to make a
// failure go away without knowing which change caused it.
//
// The envelope pin includes zstd output, so a libzstd upgrade that changes its level-6
// output also fails here; that changes bytes, not the format (old envelopes still open),
// and the pin may be regenerated after checking that PinnedEnvelopesOpenAndVerify still
// passes with the old constants.
//
// Envelopes already sealed stay pinned as "still opens" vectors, never regenerated:
// records sit in device outboxes and on servers.

#include <gtest/gtest.h>
#include <sodium.h>

#include "common/encoding.h"
#include "crypto/envelope.h"
#include "crypto/envelope_testing.h"
#include "crypto/keys.h"
#include "crypto/receipt.h"
#include "crypto/test_util.h"

namespace temoin::crypto {
namespace {

using test::Filled;

constexpr char kPinnedDeviceKeyId[] = "0b2fd72ff9ae22b846bcee7850755860";
constexpr char kPinnedRecipientKeyId[] = "58eab9d1df9af39384f25c94138b8384";
constexpr char kPinnedHash256[] =
    "18aeaf6e263e662f2e80e7ead89468a98e2ca3c683255b0be7f5a4a6fd935c3f";
constexpr char kPinnedReceiptSignature[] =
    "fc6b248cf49e99905e67d05ecaf5b053bb28dc10a9906f50ca98fc997e55138a"
    "067c0d0709dde716b026f2e8a38f8b138fcbf9f7a74ba56ee8e3bd60f4595e08";
// Sealed by the first version of the format: wrapped keys repeat the header's key_id and
// epoch, the body is a whole zstd frame (magic number included), level 3.
constexpr char kFirstFormatDigest[] =
    "c1b0e340aaafe1a4edf0bf3b57e23c176c43a4c5fea8ad8e2dc598f867ca64d6";
constexpr char kFirstFormatEnvelope[] =
    "0aa30108011210303132333435363738396162636465661801221070726f6a6563742d64656d6f2d3030312a"
    "106465766963652d64656d6f2d3030303132140a1058eab9d1df9af39384f25c94138b8384100132140a105c"
    "9ac5eba7c98d52d5681358ef090a71100138900142380a10626c6f622d64656d6f2d30303030303110a98004"
    "1a20090909090909090909090909090909090909090909090909090909090909090912180505050505050505"
    "050505050505050505050505050505051aa001bcb630cce400332e895541f3dbb5cc990bbe525b3a2eff0c4a"
    "f07f40aed27b84b1247aae885c06f085fbb30f9eca848a5654ad5ace1f96267ae1e2b67123cd1eaa3ea7d10f"
    "687595adcdb146897ee704cc6d209e77a630b0d1a3e1aae779bf79310f19e366ada95e5f68df4051e765e408"
    "775e0f14bb46ac316da1dfd16fda174c4106d6176b8b4e601c8d7cb67b8c3e004f05c0a84bfafe1bb4bfbeef"
    "d20b2522760a1058eab9d1df9af39384f25c94138b838410011a6090e68be878c7cae260234f24f9745794d1"
    "605d5a13c0eec971695e44557b580063121cb9c828a2f6e6e513babde6f50e1f2703eb86130ca7fe0f1bc39f"
    "c4f55a9a01e3dcd977bb7444ee5726032f126dcb161cf46938743ad2b920f07347499922760a105c9ac5eba7"
    "c98d52d5681358ef090a7110011a60761d88ec830413919dfe9d4d1d56f17e653c8c994082df5b137b90a0ae"
    "6edf74ae43536cc1faef7eb2c5125c6fa26a8d8688d23856130c6d801a3116295ef79e424f4baf2066ee7eb6"
    "3b52699c9650edae15900290529c5eb9f6db68d3f2958d2a40051d2bc266cfb167112a0557f85fdbb0047d70"
    "fe6f3582efbb7b2cd110a19ffe94eb574000a7a60012b30cca2b4f779f0d46e283e620ee7568dc496f12339a"
    "0c";

// The format SealRecord makes now: wrapped keys leave key_id and epoch to the header,
// the body is a zstd frame without its magic number, level 6.
constexpr char kPinnedDigest[] = "59ec86c4b571d981789aa250b799d500806629a57f87736cbc4c884fbf60f13a";
constexpr char kPinnedEnvelope[] =
    "0aa30108011210303132333435363738396162636465661801221070726f6a6563742d64656d6f2d3030312a"
    "106465766963652d64656d6f2d3030303132140a1058eab9d1df9af39384f25c94138b8384100132140a105c"
    "9ac5eba7c98d52d5681358ef090a71100138900142380a10626c6f622d64656d6f2d30303030303110a98004"
    "1a20090909090909090909090909090909090909090909090909090909090909090912180505050505050505"
    "050505050505050505050505050505051aa001b48e1a35c45f3e3597b7d8f741106efd50f8c9c81c7a8cf4e6"
    "e570eab0deeef9b0b6429a0618114a932f3b736b910dd70b197f1d35ee37055ce3137708a3b2a93951a90dae"
    "59d9c9d2c1038b06c37413d2fbafae5cb85aa6963dac7d996b13c9ea5fd492580ad95fedb42c0b2cc96db22b"
    "b358016a92c4d7f56992f5d80e115f5597eacca4a2484b609c8d7cb67b8c3e949c4654530331f3cf9c4778ec"
    "dc435922621a6090e68be878c7cae260234f24f9745794d1605d5a13c0eec971695e44557b580063121cb9c8"
    "28a2f6e6e513babde6f50e1f2703eb86130ca7fe0f1bc39fc4f55a9a01e3dcd977bb7444ee5726032f126dcb"
    "161cf46938743ad2b920f07347499922621a60761d88ec830413919dfe9d4d1d56f17e653c8c994082df5b13"
    "7b90a0ae6edf74ae43536cc1faef7eb2c5125c6fa26a8d8688d23856130c6d801a3116295ef79e424f4baf20"
    "66ee7eb63b52699c9650edae15900290529c5eb9f6db68d3f2958d2a40c97d184da4e0f4afb9ceb63ae75e7d"
    "c041f3cdc16cc945aa5a9b6a821642ce25e2b701410ec5a69a05bd48c90e6fbc0ce653a34e5ab8d0bc2417d4"
    "3c6cd5250a";

std::string Unhex(absl::string_view hex) {
  absl::StatusOr<std::string> bytes = FromHex(hex, "pinned constant");
  EXPECT_TRUE(bytes.ok());
  return bytes.value_or("");
}

SigningKey SigningKeyFromSeed(char fill) {
  const std::string seed = Filled(crypto_sign_SEEDBYTES, fill);
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  std::string sk(crypto_sign_SECRETKEYBYTES, '\0');
  crypto_sign_seed_keypair(pk, reinterpret_cast<unsigned char*>(sk.data()),
                           reinterpret_cast<const unsigned char*>(seed.data()));
  absl::StatusOr<SigningKey> key = SigningKey::FromSecretKey(sk);
  sodium_memzero(sk.data(), sk.size());
  return std::move(key).value();
}

BoxKeyPair BoxKeyPairFromSeed(char fill) {
  const std::string seed = Filled(crypto_box_SEEDBYTES, fill);
  unsigned char pk[crypto_box_PUBLICKEYBYTES];
  std::string sk(crypto_box_SECRETKEYBYTES, '\0');
  crypto_box_seed_keypair(pk, reinterpret_cast<unsigned char*>(sk.data()),
                          reinterpret_cast<const unsigned char*>(seed.data()));
  absl::StatusOr<BoxKeyPair> pair = BoxKeyPair::FromSecretKey(sk);
  sodium_memzero(sk.data(), sk.size());
  return std::move(pair).value();
}

// Fixed and synthetic: changing it changes the pins.
v1::Testimony FixedTestimony() {
  v1::Testimony t;
  t.set_narrative("Synthetic test narrative: a well was poisoned near Village Y.");
  t.set_language("fr");
  t.mutable_incident()->set_date("2026-02");
  t.mutable_incident()->set_region("ML-7");
  v1::Act* act = t.add_acts();
  act->set_type("destruction_of_property");
  act->set_count(1);
  t.mutable_victim_counts()->set_total(40);
  t.mutable_source()->set_type("direct_witness");
  t.mutable_consent()->set_informed(true);
  t.set_sensitivity(v1::SENSITIVITY_NORMAL);
  return t;
}

class EnvelopeKatTest : public ::testing::Test {
 protected:
  SealParams Params() const {
    SealParams params;
    params.record_id = "0123456789abcdef";
    params.device_seq = 1;
    params.project_id = "project-demo-001";
    params.device_id = "device-demo-0001";
    params.recipients = {{reviewer_.public_key(), 1}, {restricted_.public_key(), 1}};
    v1::AttachmentRef ref;
    ref.set_blob_id("blob-demo-000001");
    ref.set_size(65577);
    ref.set_ciphertext_hash(Filled(32, '\x09'));
    params.attachments = {ref};
    // The pin is of the dictionary-free format (body_dictionary 0), which must keep
    // opening; a dictionary-1 body would also pin the trained dictionary's bytes.
    params.body_dictionary = 0;
    return params;
  }
  testing::FixedSealRandomness Randomness() const {
    return {Filled(32, '\x04'), Filled(24, '\x05'), {Filled(32, '\x06'), Filled(32, '\x07')}};
  }

  SigningKey device_ = SigningKeyFromSeed('\x01');
  BoxKeyPair reviewer_ = BoxKeyPairFromSeed('\x02');
  BoxKeyPair restricted_ = BoxKeyPairFromSeed('\x03');
};

TEST_F(EnvelopeKatTest, KeyIdsArePinned) {
  EXPECT_EQ(ToHex(KeyId(device_.public_key())), kPinnedDeviceKeyId);
  EXPECT_EQ(ToHex(KeyId(reviewer_.public_key())), kPinnedRecipientKeyId);
}

TEST_F(EnvelopeKatTest, Hash256IsPinned) {
  EXPECT_EQ(ToHex(Hash256("temoin/record-ad/v1", "header bytes")), kPinnedHash256);
}

TEST_F(EnvelopeKatTest, ReceiptSignatureIsPinned) {
  v1::ReceiptBody body;
  body.set_format_version(1);
  body.set_record_id("0123456789abcdef");
  body.set_digest(Filled(32, '\x0a'));
  body.set_log_index(7);
  body.set_received_at(1795798800);  // on the hour
  SigningKey server = SigningKeyFromSeed('\x08');
  body.set_server_key_id(KeyId(server.public_key()));
  v1::Receipt receipt = SignReceipt(body, server);
  EXPECT_EQ(ToHex(receipt.signature()), kPinnedReceiptSignature);  // Ed25519 is deterministic
  EXPECT_TRUE(VerifyReceipt(receipt, server.public_key(), body.record_id(), body.digest()).ok());
}

TEST_F(EnvelopeKatTest, FixedRandomnessSealIsPinned) {
  absl::StatusOr<v1::Envelope> envelope =
      testing::SealRecordWithFixedRandomness(FixedTestimony(), Params(), device_, Randomness());
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  EXPECT_EQ(ToHex(RecordDigest(*envelope)), kPinnedDigest);
  EXPECT_EQ(ToHex(envelope->SerializeAsString()), kPinnedEnvelope);
}

TEST_F(EnvelopeKatTest, PinnedEnvelopesOpenAndVerify) {
  struct Vector {
    const char* name;
    const char* envelope;
    const char* digest;
    bool wrapped_ids_elided;
  };
  for (const Vector& vector :
       {Vector{"first format", kFirstFormatEnvelope, kFirstFormatDigest, false},
        Vector{"current", kPinnedEnvelope, kPinnedDigest, true}}) {
    SCOPED_TRACE(vector.name);
    v1::Envelope envelope;
    ASSERT_TRUE(envelope.ParseFromString(Unhex(vector.envelope)));
    for (const v1::WrappedKey& wrapped : envelope.wrapped_keys()) {
      EXPECT_EQ(wrapped.key_id().empty(), vector.wrapped_ids_elided);
    }
    absl::StatusOr<VerifiedRecord> verified = VerifyRecord(envelope, device_.public_key());
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(ToHex(verified->digest), vector.digest);
    EXPECT_EQ(verified->header.record_id(), "0123456789abcdef");
    // Both boxes were built from seeds by the test seam; crypto_box_seal_open must
    // accept them, or the seam has drifted from libsodium's sealed-box construction.
    for (const BoxKeyPair* recipient : {&reviewer_, &restricted_}) {
      absl::StatusOr<v1::Testimony> opened = OpenRecord(envelope, *recipient);
      ASSERT_TRUE(opened.ok()) << opened.status();
      EXPECT_EQ(opened->SerializeAsString(), FixedTestimony().SerializeAsString());
    }
  }
}

TEST_F(EnvelopeKatTest, FixedRandomnessRejectsMissingSeeds) {
  testing::FixedSealRandomness randomness = Randomness();
  randomness.ephemeral_seeds.pop_back();
  EXPECT_EQ(testing::SealRecordWithFixedRandomness(FixedTestimony(), Params(), device_, randomness)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace temoin::crypto

#include "crypto/envelope.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <functional>

#include "crypto/body_codec.h"
#include "crypto/padding.h"
#include "crypto/test_util.h"

namespace temoin::crypto {
namespace {

using ::absl::StatusCode;
using test::Filled;
using test::SampleTestimony;

bool SameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

class EnvelopeTest : public ::testing::Test {
 protected:
  SealParams Params() const {
    SealParams params;
    params.device_seq = 7;
    params.project_id = Filled(kProjectIdBytes, 'p');
    params.device_id = Filled(kDeviceIdBytes, 'd');
    params.recipients = {{reviewer_.public_key(), 1}, {restricted_.public_key(), 1}};
    v1::AttachmentRef ref;
    ref.set_blob_id(Filled(16, 'b'));
    ref.set_size(1234);
    ref.set_ciphertext_hash(Filled(32, 'h'));
    params.attachments = {ref};
    return params;
  }

  v1::Envelope Seal(const v1::Testimony& testimony) const {
    absl::StatusOr<v1::Envelope> envelope = SealRecord(testimony, Params(), device_);
    EXPECT_TRUE(envelope.ok()) << envelope.status();
    return envelope.value_or(v1::Envelope());
  }

  // An envelope around an arbitrary padded body, encrypted, wrapped and signed as
  // SealRecord would: lets tests reach the decoding steps behind authentication.
  v1::Envelope SealRawBody(const std::string& padded) const {
    v1::RecordHeader header;
    header.set_format_version(kRecordFormatVersion);
    header.set_record_id(Filled(16, 'r'));
    header.set_project_id(Filled(16, 'p'));
    header.set_device_id(Filled(16, 'd'));
    v1::RecipientRef* ref = header.add_recipients();
    ref->set_key_id(KeyId(reviewer_.public_key()));
    header.set_padded_body_length(padded.size());
    header.set_body_dictionary(internal::kCurrentBodyDictionary);
    v1::Envelope envelope;
    envelope.set_header(header.SerializeAsString());
    envelope.set_nonce(Filled(kNonceBytes, 'n'));
    const std::string data_key = Filled(32, 'k');
    const std::string ad = Hash256("temoin/record-ad/v1", envelope.header());
    std::string ciphertext(padded.size() + 16, '\0');
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        reinterpret_cast<unsigned char*>(ciphertext.data()), nullptr,
        reinterpret_cast<const unsigned char*>(padded.data()), padded.size(),
        reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr,
        reinterpret_cast<const unsigned char*>(envelope.nonce().data()),
        reinterpret_cast<const unsigned char*>(data_key.data()));
    envelope.set_ciphertext(ciphertext);
    v1::WrappedKey* wrapped = envelope.add_wrapped_keys();
    wrapped->set_key_id(ref->key_id());
    wrapped->set_sealed(*SealToPublicKey(data_key + header.record_id(), reviewer_.public_key()));
    envelope.set_signature(device_.Sign("temoin/record/v1", RecordDigest(envelope)));
    return envelope;
  }

  SigningKey device_ = SigningKey::Generate();
  BoxKeyPair reviewer_ = BoxKeyPair::Generate();
  BoxKeyPair restricted_ = BoxKeyPair::Generate();
};

TEST_F(EnvelopeTest, SealVerifyOpenRoundTrips) {
  const v1::Testimony testimony = SampleTestimony();
  v1::Envelope envelope = Seal(testimony);
  absl::StatusOr<VerifiedRecord> verified = VerifyRecord(envelope, device_.public_key());
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->digest, RecordDigest(envelope));
  EXPECT_EQ(verified->header.device_seq(), 7u);
  EXPECT_EQ(verified->header.record_id().size(), kRecordIdBytes);
  EXPECT_EQ(verified->header.attachments_size(), 1);
  for (const BoxKeyPair* recipient : {&reviewer_, &restricted_}) {
    absl::StatusOr<v1::Testimony> opened = OpenRecord(envelope, *recipient);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_TRUE(SameMessage(*opened, testimony));
  }
}

TEST_F(EnvelopeTest, EmptyTestimonyRoundTrips) {
  v1::Envelope envelope = Seal(v1::Testimony());
  ASSERT_TRUE(VerifyRecord(envelope, device_.public_key()).ok());
  absl::StatusOr<v1::Testimony> opened = OpenRecord(envelope, reviewer_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(SameMessage(*opened, v1::Testimony()));
}

TEST_F(EnvelopeTest, SealDrawsAFreshRecordIdAndNonceEachTime) {
  v1::Envelope a = Seal(SampleTestimony());
  v1::Envelope b = Seal(SampleTestimony());
  EXPECT_NE(VerifyRecord(a, device_.public_key())->header.record_id(),
            VerifyRecord(b, device_.public_key())->header.record_id());
  EXPECT_NE(a.nonce(), b.nonce());
  EXPECT_NE(RecordDigest(a), RecordDigest(b));
}

TEST_F(EnvelopeTest, CommitmentCarriesHeaderDigestAndSignature) {
  v1::Envelope envelope = Seal(SampleTestimony());
  v1::Commitment commitment = MakeCommitment(envelope);
  EXPECT_EQ(commitment.header(), envelope.header());
  EXPECT_EQ(commitment.digest(), RecordDigest(envelope));
  EXPECT_EQ(commitment.signature(), envelope.signature());
  EXPECT_LT(commitment.ByteSizeLong(), 300u);
}

TEST_F(EnvelopeTest, SealRejectsMalformedParams) {
  const std::vector<std::function<void(SealParams&)>> breakages = {
      [](SealParams& p) { p.record_id = Filled(15, 'r'); },
      [](SealParams& p) { p.project_id = Filled(17, 'p'); },
      [](SealParams& p) { p.device_id.clear(); },
      [](SealParams& p) { p.recipients.clear(); },
      [](SealParams& p) { p.recipients.resize(kMaxRecipients + 1, p.recipients[0]); },
      [](SealParams& p) { p.recipients[1] = p.recipients[0]; },
      [](SealParams& p) { p.recipients[0].public_key = "short"; },
      [](SealParams& p) { p.attachments[0].set_blob_id("short"); },
      [](SealParams& p) { p.attachments.resize(kMaxAttachments + 1, p.attachments[0]); },
  };
  for (size_t i = 0; i < breakages.size(); ++i) {
    SealParams params = Params();
    breakages[i](params);
    EXPECT_EQ(SealRecord(SampleTestimony(), params, device_).status().code(),
              StatusCode::kInvalidArgument)
        << "breakage " << i;
  }
}

TEST_F(EnvelopeTest, SealRejectsOversizedTestimony) {
  v1::Testimony testimony;
  testimony.set_narrative(RandomBytes(kMaxBodyBytes));  // incompressible
  EXPECT_EQ(SealRecord(testimony, Params(), device_).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, LargeCompressibleTestimonyRoundTrips) {
  v1::Testimony testimony;
  testimony.set_narrative(std::string(kMaxBodyBytes - 100, 'a'));
  v1::Envelope envelope = Seal(testimony);
  absl::StatusOr<v1::Testimony> opened = OpenRecord(envelope, reviewer_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->narrative().size(), kMaxBodyBytes - 100);
}

// Flip every bit of every field; each must be caught. Header, nonce and ciphertext are
// covered by the signature and the AEAD; wrapped keys by the signature and the box.
TEST_F(EnvelopeTest, FlippingAnyBitIsRejectedWithATypedError) {
  const v1::Envelope original = Seal(v1::Testimony());  // small: fewer bits to flip
  ASSERT_TRUE(VerifyRecord(original, device_.public_key()).ok());
  auto flip_each_bit = [&](const char* field, std::string* (*bytes)(v1::Envelope&),
                           bool open_must_fail, const BoxKeyPair& opener) {
    v1::Envelope copy = original;
    const size_t size = bytes(copy)->size();
    for (size_t bit = 0; bit < size * 8; ++bit) {
      v1::Envelope tampered = original;
      (*bytes(tampered))[bit / 8] ^= static_cast<char>(1 << (bit % 8));
      const StatusCode verify = VerifyRecord(tampered, device_.public_key()).status().code();
      ASSERT_TRUE(verify == StatusCode::kUnauthenticated || verify == StatusCode::kInvalidArgument)
          << field << " bit " << bit << ": " << verify;
      if (!open_must_fail) continue;
      const StatusCode open = OpenRecord(tampered, opener).status().code();
      ASSERT_TRUE(open == StatusCode::kUnauthenticated || open == StatusCode::kInvalidArgument ||
                  open == StatusCode::kNotFound)
          << field << " bit " << bit << ": " << open;
    }
  };
  flip_each_bit(
      "header", [](v1::Envelope& e) { return e.mutable_header(); }, true, reviewer_);
  flip_each_bit(
      "nonce", [](v1::Envelope& e) { return e.mutable_nonce(); }, true, reviewer_);
  flip_each_bit(
      "ciphertext", [](v1::Envelope& e) { return e.mutable_ciphertext(); }, true, reviewer_);
  flip_each_bit(
      "wrapped[0].sealed",
      [](v1::Envelope& e) { return e.mutable_wrapped_keys(0)->mutable_sealed(); }, true, reviewer_);
  flip_each_bit(
      "wrapped[1].sealed",
      [](v1::Envelope& e) { return e.mutable_wrapped_keys(1)->mutable_sealed(); }, true,
      restricted_);
  // Wrapped keys carry no key_id or epoch of their own (the header's are used); filling
  // them in is WrappedKeyIdsAreLeftToTheHeader's case.
  // The signature is not an input of OpenRecord; VerifyRecord alone must catch it.
  flip_each_bit(
      "signature", [](v1::Envelope& e) { return e.mutable_signature(); }, false, reviewer_);
  for (int i = 0; i < 2; ++i) {
    v1::Envelope tampered = original;
    tampered.mutable_wrapped_keys(i)->set_epoch(original.wrapped_keys(i).epoch() ^ 1);
    EXPECT_EQ(VerifyRecord(tampered, device_.public_key()).status().code(),
              StatusCode::kInvalidArgument);
  }
}

TEST_F(EnvelopeTest, TamperedCiphertextFailsToOpenWithOneMessage) {
  v1::Envelope envelope = Seal(SampleTestimony());
  (*envelope.mutable_ciphertext())[3] ^= 0x40;
  absl::Status status = OpenRecord(envelope, reviewer_).status();
  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "authentication failed");
}

TEST_F(EnvelopeTest, RecipientNotInTheHeaderIsNotFound) {
  v1::Envelope envelope = Seal(SampleTestimony());
  EXPECT_EQ(OpenRecord(envelope, BoxKeyPair::Generate()).status().code(), StatusCode::kNotFound);
}

TEST_F(EnvelopeTest, WrappedKeyForAnotherRecipientDoesNotOpen) {
  v1::Envelope envelope = Seal(SampleTestimony());
  // The reviewer's slot now holds the box sealed to the restricted key.
  envelope.mutable_wrapped_keys(0)->set_sealed(envelope.wrapped_keys(1).sealed());
  EXPECT_EQ(OpenRecord(envelope, reviewer_).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, WrappedKeyMovedFromAnotherRecordIsRejected) {
  v1::Envelope target = Seal(SampleTestimony());
  v1::Envelope donor = Seal(SampleTestimony());
  target.mutable_wrapped_keys(0)->set_sealed(donor.wrapped_keys(0).sealed());
  absl::Status status = OpenRecord(target, reviewer_).status();
  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "authentication failed");
  EXPECT_EQ(VerifyRecord(target, device_.public_key()).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, WrappedKeyIdsAreLeftToTheHeader) {
  const v1::Envelope original = Seal(SampleTestimony());
  ASSERT_EQ(original.wrapped_keys_size(), 2);
  for (const v1::WrappedKey& wrapped : original.wrapped_keys()) {
    EXPECT_TRUE(wrapped.key_id().empty());
    EXPECT_EQ(wrapped.epoch(), 0u);
  }
  // Filling in the header's key_id and epoch after signing changes the digest.
  const v1::RecordHeader header = VerifyRecord(original, device_.public_key())->header;
  v1::Envelope filled = original;
  for (int i = 0; i < 2; ++i) {
    filled.mutable_wrapped_keys(i)->set_key_id(header.recipients(i).key_id());
    filled.mutable_wrapped_keys(i)->set_epoch(header.recipients(i).epoch());
  }
  EXPECT_EQ(VerifyRecord(filled, device_.public_key()).status().code(),
            StatusCode::kUnauthenticated);
  // Signed that way (as records were sealed before the ids were left out), it verifies
  // and opens for both recipients...
  filled.set_signature(device_.Sign("temoin/record/v1", RecordDigest(filled)));
  ASSERT_TRUE(VerifyRecord(filled, device_.public_key()).ok());
  for (const BoxKeyPair* recipient : {&reviewer_, &restricted_}) {
    absl::StatusOr<v1::Testimony> opened = OpenRecord(filled, *recipient);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_TRUE(SameMessage(*opened, SampleTestimony()));
  }
  // ...but not once the ids are taken out again, nor with any bit of an id flipped.
  v1::Envelope elided = filled;
  elided.mutable_wrapped_keys(1)->clear_key_id();
  elided.mutable_wrapped_keys(1)->clear_epoch();
  EXPECT_EQ(VerifyRecord(elided, device_.public_key()).status().code(),
            StatusCode::kUnauthenticated);
  for (int i = 0; i < 2; ++i) {
    for (size_t bit = 0; bit < kKeyIdBytes * 8; ++bit) {
      v1::Envelope tampered = filled;
      (*tampered.mutable_wrapped_keys(i)->mutable_key_id())[bit / 8] ^=
          static_cast<char>(1 << (bit % 8));
      EXPECT_EQ(VerifyRecord(tampered, device_.public_key()).status().code(),
                StatusCode::kInvalidArgument)
          << "wrap " << i << " bit " << bit;
      EXPECT_EQ(OpenRecord(tampered, i == 0 ? reviewer_ : restricted_).status().code(),
                StatusCode::kInvalidArgument)
          << "wrap " << i << " bit " << bit;
    }
  }
}

TEST_F(EnvelopeTest, ReorderedWrappedKeysAreRejected) {
  // Wrap i is for header.recipients(i); nothing else in the envelope names it. Swapping
  // the wraps breaks the signature, and each box then sits in the other recipient's slot.
  v1::Envelope envelope = Seal(SampleTestimony());
  envelope.mutable_wrapped_keys()->SwapElements(0, 1);
  EXPECT_EQ(VerifyRecord(envelope, device_.public_key()).status().code(),
            StatusCode::kUnauthenticated);
  for (const BoxKeyPair* recipient : {&reviewer_, &restricted_}) {
    absl::Status status = OpenRecord(envelope, *recipient).status();
    EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(status.message(), "authentication failed");
  }
}

TEST_F(EnvelopeTest, ValidSignatureByAnotherDeviceIsRejected) {
  SigningKey other_device = SigningKey::Generate();
  absl::StatusOr<v1::Envelope> envelope = SealRecord(SampleTestimony(), Params(), other_device);
  ASSERT_TRUE(envelope.ok());
  ASSERT_TRUE(VerifyRecord(*envelope, other_device.public_key()).ok());
  absl::Status status = VerifyRecord(*envelope, device_.public_key()).status();
  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "record signature verification failed");
}

TEST_F(EnvelopeTest, VerifyRejectsStructuralDamageNamingTheField) {
  const v1::Envelope original = Seal(SampleTestimony());
  struct Case {
    const char* expected_message;
    std::function<void(v1::Envelope&)> damage;
  };
  const std::vector<Case> cases = {
      {"header is empty", [](v1::Envelope& e) { e.clear_header(); }},
      {"header too large", [](v1::Envelope& e) { e.set_header(std::string(20000, 'x')); }},
      {"header does not parse", [](v1::Envelope& e) { e.set_header("\xff\xff\xff"); }},
      {"nonce has wrong length", [](v1::Envelope& e) { e.mutable_nonce()->pop_back(); }},
      {"ciphertext length does not match padded_body_length",
       [](v1::Envelope& e) { e.mutable_ciphertext()->pop_back(); }},
      {"wrapped_keys count does not match recipients",
       [](v1::Envelope& e) { e.mutable_wrapped_keys()->RemoveLast(); }},
      {"wrapped_keys key_id or epoch does not match recipients",
       [](v1::Envelope& e) { e.mutable_wrapped_keys(0)->set_key_id(Filled(kKeyIdBytes, 'x')); }},
      {"wrapped_keys key_id or epoch does not match recipients",
       [](v1::Envelope& e) { e.mutable_wrapped_keys(1)->set_epoch(1); }},
      {"wrapped_keys sealed has wrong length",
       [](v1::Envelope& e) { e.mutable_wrapped_keys(0)->mutable_sealed()->pop_back(); }},
      {"signature has wrong length", [](v1::Envelope& e) { e.clear_signature(); }},
  };
  for (const Case& c : cases) {
    v1::Envelope damaged = original;
    c.damage(damaged);
    absl::Status status = VerifyRecord(damaged, device_.public_key()).status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.expected_message;
    EXPECT_EQ(status.message(), c.expected_message);
  }
  EXPECT_EQ(VerifyRecord(original, "short").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, VerifyRejectsHeaderFieldsOutOfRange) {
  const v1::Envelope original = Seal(SampleTestimony());
  v1::RecordHeader parsed;
  ASSERT_TRUE(parsed.ParseFromString(original.header()));
  const std::vector<std::function<void(v1::RecordHeader&)>> damages = {
      [](v1::RecordHeader& h) { h.set_format_version(2); },
      [](v1::RecordHeader& h) { h.set_record_id("short"); },
      [](v1::RecordHeader& h) { h.set_project_id("short"); },
      [](v1::RecordHeader& h) { h.set_device_id("short"); },
      [](v1::RecordHeader& h) { h.clear_recipients(); },
      [](v1::RecordHeader& h) { h.mutable_recipients(0)->set_key_id("short"); },
      [](v1::RecordHeader& h) { h.set_padded_body_length(h.padded_body_length() + 1); },
      [](v1::RecordHeader& h) { h.set_padded_body_length(kMaxBodyBytes * 2); },
      [](v1::RecordHeader& h) { h.mutable_attachments(0)->set_ciphertext_hash("short"); },
  };
  for (size_t i = 0; i < damages.size(); ++i) {
    v1::RecordHeader header = parsed;
    damages[i](header);
    v1::Envelope damaged = original;
    damaged.set_header(header.SerializeAsString());
    EXPECT_EQ(VerifyRecord(damaged, device_.public_key()).status().code(),
              StatusCode::kInvalidArgument)
        << "damage " << i;
    EXPECT_EQ(OpenRecord(damaged, reviewer_).status().code(), StatusCode::kInvalidArgument)
        << "damage " << i;
  }
}

TEST_F(EnvelopeTest, RawBodyHelperMatchesSealRecord) {
  // Guards the helper the next tests rely on.
  absl::StatusOr<std::string> compressed =
      internal::CompressBody(SampleTestimony().SerializeAsString());
  ASSERT_TRUE(compressed.ok());
  v1::Envelope envelope = SealRawBody(internal::PadmePad(*compressed));
  ASSERT_TRUE(VerifyRecord(envelope, device_.public_key()).ok());
  absl::StatusOr<v1::Testimony> opened = OpenRecord(envelope, reviewer_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(SameMessage(*opened, SampleTestimony()));
}

TEST_F(EnvelopeTest, ZstdBombIsRejectedBeforeDecompressing) {
  // 64 MiB of zeros compresses to a few KiB and would pass every size check on the wire.
  absl::StatusOr<std::string> bomb = internal::CompressBody(std::string(64 << 20, '\0'));
  ASSERT_TRUE(bomb.ok());
  ASSERT_LT(bomb->size(), kMaxBodyBytes / 2);
  v1::Envelope envelope = SealRawBody(internal::PadmePad(*bomb));
  ASSERT_TRUE(VerifyRecord(envelope, device_.public_key()).ok());
  absl::Status status = OpenRecord(envelope, reviewer_).status();
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_EQ(status.message(), "record body does not decode");
}

TEST_F(EnvelopeTest, BodyJustOverTheLimitIsRejected) {
  absl::StatusOr<std::string> body = internal::CompressBody(std::string(kMaxBodyBytes + 1, 'a'));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(OpenRecord(SealRawBody(internal::PadmePad(*body)), reviewer_).status().code(),
            StatusCode::kDataLoss);
}

TEST_F(EnvelopeTest, BodyWithoutDeclaredSizeOrWithTrailingBytesIsRejected) {
  // A zstd frame whose header omits the content size: magic, descriptor 0x00, window
  // byte, then one raw last block of 5 bytes.
  const std::string unknown_size("\x28\xb5\x2f\xfd\x00\x00\x29\x00\x00hello", 14);
  EXPECT_EQ(internal::DecompressBody(unknown_size, kMaxBodyBytes, internal::kCurrentBodyDictionary)
                .status()
                .code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(OpenRecord(SealRawBody(internal::PadmePad(unknown_size)), reviewer_).status().code(),
            StatusCode::kDataLoss);
  absl::StatusOr<std::string> frame = internal::CompressBody("hello");
  ASSERT_TRUE(frame.ok());
  EXPECT_TRUE(
      internal::DecompressBody(*frame, kMaxBodyBytes, internal::kCurrentBodyDictionary).ok());
  EXPECT_EQ(internal::DecompressBody(*frame + "x", kMaxBodyBytes, internal::kCurrentBodyDictionary)
                .status()
                .code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(
      internal::DecompressBody(*frame + *frame, kMaxBodyBytes, internal::kCurrentBodyDictionary)
          .status()
          .code(),
      StatusCode::kDataLoss);
}

TEST_F(EnvelopeTest, BodiesLeaveOutTheFrameMagicAndWholeFramesStillOpen) {
  const std::string magic("\x28\xb5\x2f\xfd", 4);
  const std::string serialized = SampleTestimony().SerializeAsString();
  for (uint32_t dictionary : {internal::kNoBodyDictionary, internal::kCurrentBodyDictionary}) {
    absl::StatusOr<std::string> body = internal::CompressBody(serialized, dictionary);
    ASSERT_TRUE(body.ok());
    EXPECT_NE(body->substr(0, 4), magic);
    // The whole frame, as bodies were sealed before, decodes the same.
    for (const std::string& form : {*body, magic + *body}) {
      absl::StatusOr<std::string> decoded =
          internal::DecompressBody(form, kMaxBodyBytes, dictionary);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(*decoded, serialized);
    }
  }
  absl::StatusOr<std::string> body = internal::CompressBody(serialized);
  ASSERT_TRUE(body.ok());
  absl::StatusOr<v1::Testimony> opened =
      OpenRecord(SealRawBody(internal::PadmePad(magic + *body)), reviewer_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(SameMessage(*opened, SampleTestimony()));
  // Without the magic, the same strict checks: a declared size, nothing after the frame.
  const std::string unknown_size("\x00\x00\x29\x00\x00hello", 10);
  EXPECT_EQ(internal::DecompressBody(unknown_size, kMaxBodyBytes, internal::kCurrentBodyDictionary)
                .status()
                .code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(internal::DecompressBody(*body + magic, kMaxBodyBytes, internal::kCurrentBodyDictionary)
                .status()
                .code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(
      internal::DecompressBody("", kMaxBodyBytes, internal::kCurrentBodyDictionary).status().code(),
      StatusCode::kDataLoss);
}

TEST_F(EnvelopeTest, BodyWithNonPadmePaddingIsRejected) {
  absl::StatusOr<std::string> frame = internal::CompressBody("hello");
  ASSERT_TRUE(frame.ok());
  std::string padded = internal::PadmePad(*frame);
  padded.back() = '\x01';  // authentic, but not a padding we would make
  EXPECT_EQ(OpenRecord(SealRawBody(padded), reviewer_).status().code(), StatusCode::kDataLoss);
}

TEST_F(EnvelopeTest, BodyThatIsNotATestimonyIsDataLoss) {
  absl::StatusOr<std::string> frame = internal::CompressBody("\xff\xff\xff\xff");
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(OpenRecord(SealRawBody(internal::PadmePad(*frame)), reviewer_).status().code(),
            StatusCode::kDataLoss);
}

TEST_F(EnvelopeTest, BodiesUseTheShippedDictionaryAndStillOpenWithout) {
  // A testimony of realistic size: the dictionary must make it smaller, and records
  // sealed without one (body_dictionary 0) keep opening.
  v1::Testimony testimony = SampleTestimony();
  testimony.set_narrative(
      "Vers quatre heures du matin, des hommes armés sont arrivés au village. The witness "
      "says soldiers searched every compound and took the phones of the young men; the "
      "village head was summoned to the camp and came back three days later.");
  absl::StatusOr<std::string> with = internal::CompressBody(testimony.SerializeAsString());
  absl::StatusOr<std::string> without =
      internal::CompressBody(testimony.SerializeAsString(), internal::kNoBodyDictionary);
  ASSERT_TRUE(with.ok() && without.ok());
  EXPECT_LT(with->size(), without->size());
  for (uint32_t dictionary : {internal::kNoBodyDictionary, internal::kCurrentBodyDictionary}) {
    SealParams params = Params();
    params.body_dictionary = dictionary;
    absl::StatusOr<v1::Envelope> sealed = SealRecord(testimony, params, device_);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    v1::RecordHeader header;
    ASSERT_TRUE(header.ParseFromString(sealed->header()));
    EXPECT_EQ(header.body_dictionary(), dictionary);
    absl::StatusOr<v1::Testimony> opened = OpenRecord(*sealed, reviewer_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_TRUE(SameMessage(*opened, testimony));
  }
}

TEST_F(EnvelopeTest, UnknownBodyDictionaryIsRefused) {
  SealParams params = Params();
  params.body_dictionary = 7;
  EXPECT_EQ(SealRecord(SampleTestimony(), params, device_).status().code(),
            StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> compressed =
      internal::CompressBody(SampleTestimony().SerializeAsString());
  ASSERT_TRUE(compressed.ok());
  EXPECT_EQ(internal::DecompressBody(*compressed, kMaxBodyBytes, 7).status().code(),
            StatusCode::kDataLoss);
  // A body compressed with the dictionary does not decode as if it had none.
  EXPECT_FALSE(
      internal::DecompressBody(*compressed, kMaxBodyBytes, internal::kNoBodyDictionary).ok());
}

}  // namespace
}  // namespace temoin::crypto

#include "crypto/envelope.h"

#include <sodium.h>

#include <utility>

#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "crypto/body_codec.h"
#include "crypto/bytes.h"
#include "crypto/envelope_internal.h"
#include "crypto/padding.h"

namespace temoin::crypto {
namespace {

using internal::Bytes;
using internal::MutableBytes;

constexpr absl::string_view kAdContext = "temoin/record-ad/v1";
constexpr absl::string_view kDigestContext = "temoin/record-digest/v1";
constexpr absl::string_view kSignatureContext = "temoin/record/v1";
constexpr size_t kDataKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
// Sealed data_key || record_id.
constexpr size_t kWrappedKeyBytes = crypto_box_SEALBYTES + kDataKeyBytes + kRecordIdBytes;
constexpr size_t kBlobIdBytes = 16;
constexpr size_t kAttachmentHashBytes = 32;

static_assert(kNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);

// Works on both std::vector (SealParams) and RepeatedPtrField (parsed headers).
template <typename Refs>
absl::Status ValidateAttachments(const Refs& refs, absl::string_view field) {
  if (static_cast<size_t>(refs.size()) > kMaxAttachments) {
    return absl::InvalidArgumentError(absl::StrCat(field, " has too many entries"));
  }
  for (const v1::AttachmentRef& ref : refs) {
    if (ref.blob_id().size() != kBlobIdBytes ||
        ref.ciphertext_hash().size() != kAttachmentHashBytes) {
      return absl::InvalidArgumentError(absl::StrCat(field, " entry has wrong id or hash length"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSealParams(const SealParams& params) {
  if (params.record_id.size() != kRecordIdBytes) {
    return absl::InvalidArgumentError("record_id has wrong length");
  }
  if (params.project_id.size() != kProjectIdBytes) {
    return absl::InvalidArgumentError("project_id has wrong length");
  }
  if (params.device_id.size() != kDeviceIdBytes) {
    return absl::InvalidArgumentError("device_id has wrong length");
  }
  if (params.recipients.empty() || params.recipients.size() > kMaxRecipients) {
    return absl::InvalidArgumentError("recipients count out of range");
  }
  const auto& recipients = params.recipients;
  for (size_t i = 0; i < recipients.size(); ++i) {
    if (recipients[i].public_key.size() != kBoxPublicKeyBytes) {
      return absl::InvalidArgumentError("recipient public_key has wrong length");
    }
    for (size_t j = 0; j < i; ++j) {  // at most kMaxRecipients: quadratic is fine
      if (recipients[j].public_key == recipients[i].public_key) {
        return absl::InvalidArgumentError("recipients has a duplicate key");
      }
    }
  }
  return ValidateAttachments(params.attachments, "attachments");
}

// Structure of an untrusted envelope, everything short of cryptography. Returns the
// parsed header (parsed from the exact bytes that were signed).
absl::StatusOr<v1::RecordHeader> ValidateStructure(const v1::Envelope& envelope) {
  auto invalid = [](absl::string_view message) { return absl::InvalidArgumentError(message); };
  if (envelope.header().empty()) return invalid("header is empty");
  if (envelope.header().size() > kMaxHeaderBytes) return invalid("header too large");
  v1::RecordHeader header;
  if (!header.ParseFromString(envelope.header())) return invalid("header does not parse");
  if (header.format_version() != kRecordFormatVersion) {
    return invalid("header format_version unsupported");
  }
  if (header.record_id().size() != kRecordIdBytes) return invalid("record_id has wrong length");
  if (header.project_id().size() != kProjectIdBytes) {
    return invalid("project_id has wrong length");
  }
  if (header.device_id().size() != kDeviceIdBytes) return invalid("device_id has wrong length");
  const size_t recipient_count = header.recipients_size();
  if (recipient_count == 0 || recipient_count > kMaxRecipients) {
    return invalid("recipients count out of range");
  }
  for (int i = 0; i < header.recipients_size(); ++i) {
    const std::string& key_id = header.recipients(i).key_id();
    if (key_id.size() != kKeyIdBytes) return invalid("recipients key_id has wrong length");
    for (int j = 0; j < i; ++j) {
      if (header.recipients(j).key_id() == key_id) {
        return invalid("recipients has a duplicate key_id");
      }
    }
  }
  TEMOIN_RETURN_IF_ERROR(ValidateAttachments(header.attachments(), "header attachments"));
  if (!internal::IsKnownBodyDictionary(header.body_dictionary())) {
    return invalid("header body_dictionary unknown");
  }
  const uint64_t padded = header.padded_body_length();
  if (padded == 0 || padded > kMaxBodyBytes || PadmeLength(padded) != padded) {
    return invalid("padded_body_length out of range");
  }
  if (envelope.nonce().size() != kNonceBytes) return invalid("nonce has wrong length");
  if (envelope.ciphertext().size() > kMaxBodyBytes + kTagBytes ||
      envelope.ciphertext().size() != padded + kTagBytes) {
    return invalid("ciphertext length does not match padded_body_length");
  }
  if (static_cast<size_t>(envelope.wrapped_keys_size()) != recipient_count) {
    return invalid("wrapped_keys count does not match recipients");
  }
  for (size_t i = 0; i < recipient_count; ++i) {
    const v1::WrappedKey& wrapped = envelope.wrapped_keys(i);
    const v1::RecipientRef& ref = header.recipients(i);
    // Either both left out (what SealRecord makes: header.recipients(i) names the
    // recipient of wrap i) or both equal to the header's (records sealed before the ids
    // were left out). The digest covers which form a record has, so signed records
    // cannot be switched from one to the other.
    const bool elided = wrapped.key_id().empty() && wrapped.epoch() == 0;
    if (!elided && (wrapped.key_id() != ref.key_id() || wrapped.epoch() != ref.epoch())) {
      return invalid("wrapped_keys key_id or epoch does not match recipients");
    }
    if (wrapped.sealed().size() != kWrappedKeyBytes) {
      return invalid("wrapped_keys sealed has wrong length");
    }
  }
  if (envelope.signature().size() != kSignatureBytes) {
    return invalid("signature has wrong length");
  }
  return header;
}

std::string AssociatedData(absl::string_view header_bytes) {
  return Hash256(kAdContext, header_bytes);
}

void HashLengthPrefixed(crypto_generichash_state& state, absl::string_view bytes) {
  std::string length;
  internal::AppendU64BigEndian(length, bytes.size());
  crypto_generichash_update(&state, Bytes(length), length.size());
  crypto_generichash_update(&state, Bytes(bytes), bytes.size());
}

// Real randomness for SealRecord.
class SystemSealRandomness final : public internal::SealRandomness {
 public:
  void FillDataKey(uint8_t* out) override { randombytes_buf(out, kDataKeyBytes); }
  std::string Nonce() override { return RandomBytes(kNonceBytes); }
  absl::StatusOr<std::string> SealBox(absl::string_view plaintext,
                                      absl::string_view recipient_public_key,
                                      size_t /*index*/) override {
    return SealToPublicKey(plaintext, recipient_public_key);
  }
};

// Serialize, compress and pad the body. Every intermediate holds plaintext and is
// wiped here; the caller wipes the result.
absl::StatusOr<std::string> EncodeBody(const v1::Testimony& testimony, uint32_t dictionary) {
  if (testimony.ByteSizeLong() > kMaxBodyBytes) {
    return absl::InvalidArgumentError("testimony too large");
  }
  std::string serialized = testimony.SerializeAsString();
  auto wipe_serialized = absl::MakeCleanup([&] { WipeString(serialized); });
  TEMOIN_ASSIGN_OR_RETURN(std::string compressed, internal::CompressBody(serialized, dictionary));
  auto wipe_compressed = absl::MakeCleanup([&] { WipeString(compressed); });
  if (compressed.size() >= kMaxBodyBytes) {
    return absl::InvalidArgumentError("testimony too large");
  }
  std::string padded = internal::PadmePad(compressed);
  if (padded.size() > kMaxBodyBytes) {
    WipeString(padded);
    return absl::InvalidArgumentError("testimony too large");
  }
  return padded;
}

}  // namespace

namespace internal {

absl::StatusOr<v1::Envelope> SealRecordWith(const v1::Testimony& testimony,
                                            const SealParams& params, const SigningKey& device_key,
                                            SealRandomness& randomness) {
  TEMOIN_RETURN_IF_ERROR(ValidateSealParams(params));
  TEMOIN_ASSIGN_OR_RETURN(std::string padded, EncodeBody(testimony, params.body_dictionary));
  auto wipe_padded = absl::MakeCleanup([&] { WipeString(padded); });

  v1::RecordHeader header;
  header.set_format_version(kRecordFormatVersion);
  header.set_record_id(params.record_id);
  header.set_device_seq(params.device_seq);
  header.set_project_id(params.project_id);
  header.set_device_id(params.device_id);
  for (const Recipient& recipient : params.recipients) {
    v1::RecipientRef* ref = header.add_recipients();
    ref->set_key_id(KeyId(recipient.public_key));
    ref->set_epoch(recipient.epoch);
  }
  header.set_padded_body_length(padded.size());
  header.set_body_dictionary(params.body_dictionary);
  for (const v1::AttachmentRef& attachment : params.attachments) {
    *header.add_attachments() = attachment;
  }

  v1::Envelope envelope;
  envelope.set_header(header.SerializeAsString());  // the bytes signed and stored, forever
  envelope.set_nonce(randomness.Nonce());
  TEMOIN_CHECK(envelope.nonce().size() == kNonceBytes);
  // data_key || record_id: the data key, and also the plaintext of every wrapped key.
  // Sealed boxes take no associated data, so the record id goes inside and OpenRecord
  // checks it (a wrapped key cannot be moved to another record).
  SecretBuffer wrapped_plaintext = SecretBuffer::Allocate(kDataKeyBytes + kRecordIdBytes);
  randomness.FillDataKey(wrapped_plaintext.data());
  std::memcpy(wrapped_plaintext.data() + kDataKeyBytes, params.record_id.data(), kRecordIdBytes);
  const uint8_t* data_key = wrapped_plaintext.data();

  const std::string ad = AssociatedData(envelope.header());
  std::string* ciphertext = envelope.mutable_ciphertext();
  ciphertext->resize(padded.size() + kTagBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(MutableBytes(*ciphertext), &written, Bytes(padded),
                                             padded.size(), Bytes(ad), ad.size(), nullptr,
                                             Bytes(envelope.nonce()), data_key);

  // Wrap i is for header.recipients(i): its key_id and epoch are left out (20 bytes a
  // recipient) and taken from the header, which the digest covers with the wraps in
  // their order.
  for (size_t i = 0; i < params.recipients.size(); ++i) {
    v1::WrappedKey* wrapped = envelope.add_wrapped_keys();
    TEMOIN_ASSIGN_OR_RETURN(
        *wrapped->mutable_sealed(),
        randomness.SealBox(wrapped_plaintext.ExposeSecret(), params.recipients[i].public_key, i));
  }

  envelope.set_signature(device_key.Sign(kSignatureContext, RecordDigest(envelope)));
  return envelope;
}

}  // namespace internal

absl::StatusOr<v1::Envelope> SealRecord(const v1::Testimony& testimony, const SealParams& params,
                                        const SigningKey& device_key) {
  SealParams with_id = params;
  if (with_id.record_id.empty()) with_id.record_id = RandomBytes(kRecordIdBytes);
  SystemSealRandomness randomness;
  return internal::SealRecordWith(testimony, with_id, device_key, randomness);
}

std::string RecordDigest(const v1::Envelope& envelope) {
  std::string digest(kDigestBytes, '\0');
  const unsigned char separator = 0;
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, digest.size());
  crypto_generichash_update(&state, Bytes(kDigestContext), kDigestContext.size());
  crypto_generichash_update(&state, &separator, 1);
  HashLengthPrefixed(state, envelope.header());
  HashLengthPrefixed(state, envelope.nonce());
  HashLengthPrefixed(state, envelope.ciphertext());
  std::string fixed;
  internal::AppendU64BigEndian(fixed, envelope.wrapped_keys_size());
  crypto_generichash_update(&state, Bytes(fixed), fixed.size());
  for (const v1::WrappedKey& wrapped : envelope.wrapped_keys()) {
    HashLengthPrefixed(state, wrapped.key_id());
    fixed.clear();
    internal::AppendU32BigEndian(fixed, wrapped.epoch());
    crypto_generichash_update(&state, Bytes(fixed), fixed.size());
    HashLengthPrefixed(state, wrapped.sealed());
  }
  crypto_generichash_final(&state, MutableBytes(digest), digest.size());
  return digest;
}

absl::StatusOr<VerifiedRecord> VerifyRecord(const v1::Envelope& envelope,
                                            absl::string_view device_public_key) {
  if (device_public_key.size() != kSigningPublicKeyBytes) {
    return absl::InvalidArgumentError("device public key has wrong length");
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::RecordHeader header, ValidateStructure(envelope));
  std::string digest = RecordDigest(envelope);
  if (!VerifySignature(device_public_key, kSignatureContext, digest, envelope.signature()).ok()) {
    return absl::UnauthenticatedError("record signature verification failed");
  }
  return VerifiedRecord{std::move(header), std::move(digest)};
}

v1::Commitment MakeCommitment(const v1::Envelope& envelope) {
  v1::Commitment commitment;
  commitment.set_header(envelope.header());
  commitment.set_digest(RecordDigest(envelope));
  commitment.set_signature(envelope.signature());
  return commitment;
}

absl::string_view BodyDictionary(uint32_t id) { return internal::BodyDictionaryBytes(id); }

namespace {

// The record's data key, unwrapped into `data_key` (kDataKeyBytes). The caller wipes it.
absl::Status UnwrapDataKeyInto(const v1::Envelope& envelope, const v1::RecordHeader& header,
                               const BoxKeyPair& recipient, unsigned char* data_key) {
  const std::string key_id = KeyId(recipient.public_key());
  int index = -1;
  for (int i = 0; i < header.recipients_size() && index < 0; ++i) {
    if (header.recipients(i).key_id() == key_id) index = i;  // key ids are public
  }
  if (index < 0) return absl::NotFoundError("no wrapped key for this recipient");
  const absl::Status failed = absl::UnauthenticatedError("authentication failed");
  const std::string& sealed = envelope.wrapped_keys(index).sealed();
  if (sealed.size() != crypto_box_SEALBYTES + kDataKeyBytes + kRecordIdBytes) return failed;
  unsigned char unwrapped[kDataKeyBytes + kRecordIdBytes];
  auto wipe = absl::MakeCleanup([&] { sodium_memzero(unwrapped, sizeof unwrapped); });
  if (crypto_box_seal_open(unwrapped, Bytes(sealed), sealed.size(), Bytes(recipient.public_key()),
                           recipient.secret_key().data()) != 0 ||
      !internal::ConstantTimeEquals(
          absl::string_view(reinterpret_cast<const char*>(unwrapped) + kDataKeyBytes,
                            kRecordIdBytes),
          header.record_id())) {
    return failed;
  }
  std::memcpy(data_key, unwrapped, kDataKeyBytes);
  return absl::OkStatus();
}

absl::StatusOr<std::string> OpenBody(const v1::Envelope& envelope, const v1::RecordHeader& header,
                                     const unsigned char* data_key) {
  std::string padded(header.padded_body_length(), '\0');
  auto wipe_padded = absl::MakeCleanup([&] { WipeString(padded); });
  const std::string ad = AssociatedData(envelope.header());
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(MutableBytes(padded), &written, nullptr,
                                                 Bytes(envelope.ciphertext()),
                                                 envelope.ciphertext().size(), Bytes(ad), ad.size(),
                                                 Bytes(envelope.nonce()), data_key) != 0) {
    return absl::UnauthenticatedError("authentication failed");
  }
  TEMOIN_ASSIGN_OR_RETURN(size_t compressed_length, internal::PadmeUnpaddedLength(padded));
  return internal::DecompressBody(absl::string_view(padded).substr(0, compressed_length),
                                  kMaxBodyBytes, header.body_dictionary());
}

}  // namespace

absl::StatusOr<SecretBuffer> UnwrapDataKey(const v1::Envelope& envelope,
                                           const BoxKeyPair& recipient) {
  TEMOIN_ASSIGN_OR_RETURN(v1::RecordHeader header, ValidateStructure(envelope));
  SecretBuffer data_key = SecretBuffer::Allocate(kDataKeyBytes);
  TEMOIN_RETURN_IF_ERROR(UnwrapDataKeyInto(envelope, header, recipient, data_key.data()));
  return data_key;
}

absl::StatusOr<std::string> OpenBodyWithDataKey(const v1::Envelope& envelope,
                                                const SecretBuffer& data_key) {
  TEMOIN_ASSIGN_OR_RETURN(v1::RecordHeader header, ValidateStructure(envelope));
  if (data_key.size() != kDataKeyBytes) {
    return absl::InvalidArgumentError("data key has wrong length");
  }
  return OpenBody(envelope, header, data_key.data());
}

absl::StatusOr<v1::Testimony> OpenRecord(const v1::Envelope& envelope,
                                         const BoxKeyPair& recipient) {
  TEMOIN_ASSIGN_OR_RETURN(v1::RecordHeader header, ValidateStructure(envelope));
  // The data key lives on the stack for the microseconds it is used, then is wiped, not in
  // a guarded sodium_malloc page: the testimony it opens sits in ordinary memory anyway,
  // and two guarded allocations a record (mmap, mprotect, munmap, each a TLB shootdown
  // across the desk's opening threads) were a third of a 20,000-record unlock.
  unsigned char data_key[kDataKeyBytes];
  auto wipe_key = absl::MakeCleanup([&] { sodium_memzero(data_key, sizeof data_key); });
  TEMOIN_RETURN_IF_ERROR(UnwrapDataKeyInto(envelope, header, recipient, data_key));
  TEMOIN_ASSIGN_OR_RETURN(std::string serialized, OpenBody(envelope, header, data_key));
  auto wipe_serialized = absl::MakeCleanup([&] { WipeString(serialized); });
  v1::Testimony testimony;
  if (!testimony.ParseFromString(serialized)) {
    return absl::DataLossError("record body does not decode");
  }
  return testimony;
}

}  // namespace temoin::crypto

#include "crypto/attachment_stream.h"

#include <sodium.h>

#include "absl/cleanup/cleanup.h"
#include "common/status_macros.h"
#include "crypto/bytes.h"

namespace temoin::crypto {
namespace {

using internal::Bytes;
using internal::MutableBytes;
using State = crypto_secretstream_xchacha20poly1305_state;

constexpr size_t kKeyBytes = crypto_secretstream_xchacha20poly1305_KEYBYTES;
constexpr size_t kBlobIdBytes = 16;
constexpr size_t kFullChunkCiphertextBytes = kAttachmentChunkBytes + kAttachmentChunkOverhead;

static_assert(kAttachmentChunkOverhead == crypto_secretstream_xchacha20poly1305_ABYTES);
static_assert(kAttachmentHeaderBytes == crypto_secretstream_xchacha20poly1305_HEADERBYTES);

// blob_id || u64be(index): binds each chunk to its blob and position. secretstream
// already orders chunks within one stream; the AD also rejects a chunk spliced in from
// another blob that happens to share the key.
std::string ChunkAssociatedData(absl::string_view blob_id, uint64_t index) {
  std::string ad(blob_id);
  internal::AppendU64BigEndian(ad, index);
  return ad;
}

State* StateOf(SecretBuffer& buffer) { return reinterpret_cast<State*>(buffer.data()); }

absl::Status CheckKeyAndBlobId(size_t key_size, absl::string_view blob_id) {
  if (key_size != kKeyBytes) return absl::InvalidArgumentError("attachment key has wrong length");
  if (blob_id.size() != kBlobIdBytes) {
    return absl::InvalidArgumentError("attachment blob_id has wrong length");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AttachmentWriter> AttachmentWriter::Create(SecretBuffer key,
                                                          absl::string_view blob_id) {
  TEMOIN_RETURN_IF_ERROR(CheckKeyAndBlobId(key.size(), blob_id));
  AttachmentWriter writer;
  // The state holds the stream key, so it lives in a SecretBuffer too.
  writer.state_ = SecretBuffer::Allocate(sizeof(State));
  writer.blob_id_ = std::string(blob_id);
  writer.header_.resize(kAttachmentHeaderBytes);
  crypto_secretstream_xchacha20poly1305_init_push(StateOf(writer.state_),
                                                  MutableBytes(writer.header_), key.data());
  return writer;
}

AttachmentWriter::AttachmentWriter(AttachmentWriter&&) noexcept = default;
AttachmentWriter& AttachmentWriter::operator=(AttachmentWriter&&) noexcept = default;
AttachmentWriter::~AttachmentWriter() = default;

absl::StatusOr<std::string> AttachmentWriter::Push(absl::string_view chunk, bool final) {
  if (finished_) return absl::FailedPreconditionError("attachment stream already finished");
  if (chunk.size() > kAttachmentChunkBytes || (!final && chunk.size() != kAttachmentChunkBytes)) {
    return absl::InvalidArgumentError("attachment chunk has wrong length");
  }
  const std::string ad = ChunkAssociatedData(blob_id_, index_);
  std::string out(chunk.size() + kAttachmentChunkOverhead, '\0');
  crypto_secretstream_xchacha20poly1305_push(
      StateOf(state_), MutableBytes(out), nullptr, Bytes(chunk), chunk.size(), Bytes(ad), ad.size(),
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
            : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  ++index_;
  if (final) {
    finished_ = true;
    state_ = SecretBuffer();  // nothing more to encrypt: drop the key now
  }
  return out;
}

absl::StatusOr<AttachmentReader> AttachmentReader::Create(const SecretBuffer& key,
                                                          absl::string_view blob_id,
                                                          absl::string_view header) {
  TEMOIN_RETURN_IF_ERROR(CheckKeyAndBlobId(key.size(), blob_id));
  if (header.size() != kAttachmentHeaderBytes) {
    return absl::InvalidArgumentError("attachment header has wrong length");
  }
  AttachmentReader reader;
  reader.state_ = SecretBuffer::Allocate(sizeof(State));
  reader.blob_id_ = std::string(blob_id);
  if (crypto_secretstream_xchacha20poly1305_init_pull(StateOf(reader.state_), Bytes(header),
                                                      key.data()) != 0) {
    return absl::InvalidArgumentError("attachment header is invalid");
  }
  return reader;
}

AttachmentReader::AttachmentReader(AttachmentReader&&) noexcept = default;
AttachmentReader& AttachmentReader::operator=(AttachmentReader&&) noexcept = default;
AttachmentReader::~AttachmentReader() = default;

absl::StatusOr<std::string> AttachmentReader::Pull(absl::string_view ciphertext) {
  if (finished_) return absl::FailedPreconditionError("attachment stream already finished");
  const absl::Status failed = absl::UnauthenticatedError("authentication failed");
  if (ciphertext.size() < kAttachmentChunkOverhead ||
      ciphertext.size() > kFullChunkCiphertextBytes) {
    return failed;
  }
  const std::string ad = ChunkAssociatedData(blob_id_, index_);
  std::string plaintext(ciphertext.size() - kAttachmentChunkOverhead, '\0');
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(StateOf(state_), MutableBytes(plaintext), nullptr,
                                                 &tag, Bytes(ciphertext), ciphertext.size(),
                                                 Bytes(ad), ad.size()) != 0) {
    return failed;
  }
  const bool final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  // The writer only emits MESSAGE and FINAL, and only the final chunk may be short: any
  // other shape was not made by AttachmentWriter.
  if ((!final && tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) ||
      (!final && plaintext.size() != kAttachmentChunkBytes)) {
    WipeString(plaintext);
    return failed;
  }
  ++index_;
  if (final) {
    finished_ = true;
    state_ = SecretBuffer();
  }
  return plaintext;
}

absl::Status AttachmentReader::Finish() const {
  if (!finished_) return absl::DataLossError("attachment stream truncated");
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncryptAttachment(const SecretBuffer& key, absl::string_view blob_id,
                                              absl::string_view plaintext) {
  TEMOIN_ASSIGN_OR_RETURN(
      AttachmentWriter writer,
      AttachmentWriter::Create(SecretBuffer::CopyOf(key.ExposeSecret()), blob_id));
  std::string stream = writer.header();
  // At least one chunk, so that even an empty attachment carries the final tag.
  size_t offset = 0;
  do {
    const absl::string_view chunk = plaintext.substr(offset, kAttachmentChunkBytes);
    offset += chunk.size();
    const bool final = offset == plaintext.size();
    TEMOIN_ASSIGN_OR_RETURN(std::string ciphertext, writer.Push(chunk, final));
    stream.append(ciphertext);
    if (final) break;
  } while (true);
  return stream;
}

absl::StatusOr<std::string> DecryptAttachment(const SecretBuffer& key, absl::string_view blob_id,
                                              absl::string_view stream) {
  const absl::Status truncated = absl::DataLossError("attachment stream truncated");
  if (stream.size() < kAttachmentHeaderBytes) return truncated;
  TEMOIN_ASSIGN_OR_RETURN(
      AttachmentReader reader,
      AttachmentReader::Create(key, blob_id, stream.substr(0, kAttachmentHeaderBytes)));
  std::string plaintext;
  plaintext.reserve(stream.size());  // no reallocation leaves unwiped copies behind
  auto wipe = absl::MakeCleanup([&] { WipeString(plaintext); });
  size_t offset = kAttachmentHeaderBytes;
  while (offset < stream.size()) {
    if (reader.finished()) {
      return absl::DataLossError("attachment stream has bytes after the final chunk");
    }
    const absl::string_view ciphertext = stream.substr(offset, kFullChunkCiphertextBytes);
    offset += ciphertext.size();
    absl::StatusOr<std::string> chunk = reader.Pull(ciphertext);
    if (!chunk.ok()) {
      // The writer makes every chunk but the last full-sized, so a short piece at the
      // end that fails to open is most likely a cut stream (bytes missing), which the
      // caller may re-fetch. Altered bytes there look the same; both are rejected.
      if (ciphertext.size() < kFullChunkCiphertextBytes && offset == stream.size()) {
        return truncated;
      }
      return chunk.status();
    }
    plaintext.append(*chunk);
    WipeString(*chunk);
  }
  TEMOIN_RETURN_IF_ERROR(reader.Finish());
  std::move(wipe).Cancel();
  return plaintext;
}

}  // namespace temoin::crypto

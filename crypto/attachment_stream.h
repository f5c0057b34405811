#ifndef TEMOIN_CRYPTO_ATTACHMENT_STREAM_H_
#define TEMOIN_CRYPTO_ATTACHMENT_STREAM_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_buffer.h"

// Attachment blobs: crypto_secretstream_xchacha20poly1305 in 64 KiB plaintext chunks.
// Stream layout: 24-byte header, then one (chunk + 17 bytes) ciphertext per chunk; the
// last chunk carries TAG_FINAL. Each chunk's associated data is blob_id || chunk index
// (u64 big-endian), so chunks cannot move between blobs or positions.
namespace temoin::crypto {

inline constexpr size_t kAttachmentChunkBytes = 64 * 1024;
inline constexpr size_t kAttachmentChunkOverhead = 17;
inline constexpr size_t kAttachmentHeaderBytes = 24;

class AttachmentWriter {
 public:
  // kInvalidArgument unless key is 32 bytes and blob_id 16 bytes.
  static absl::StatusOr<AttachmentWriter> Create(SecretBuffer key, absl::string_view blob_id);
  AttachmentWriter(AttachmentWriter&&) noexcept;
  AttachmentWriter& operator=(AttachmentWriter&&) noexcept;
  ~AttachmentWriter();

  const std::string& header() const { return header_; }
  // Encrypts one chunk (at most kAttachmentChunkBytes; only the final one may be
  // shorter or empty). kInvalidArgument for any other length; kFailedPrecondition after
  // the final chunk.
  absl::StatusOr<std::string> Push(absl::string_view chunk, bool final);

 private:
  AttachmentWriter() = default;
  SecretBuffer state_;  // crypto_secretstream state (key material)
  std::string blob_id_;
  std::string header_;
  uint64_t index_ = 0;
  bool finished_ = false;
};

class AttachmentReader {
 public:
  // `header` untrusted. kInvalidArgument on bad sizes.
  static absl::StatusOr<AttachmentReader> Create(const SecretBuffer& key,
                                                 absl::string_view blob_id,
                                                 absl::string_view header);
  AttachmentReader(AttachmentReader&&) noexcept;
  AttachmentReader& operator=(AttachmentReader&&) noexcept;
  ~AttachmentReader();

  // Decrypts the next chunk. `ciphertext` untrusted. kUnauthenticated "authentication
  // failed" on tampering, reordering or a chunk of another blob; kFailedPrecondition
  // after the final chunk.
  absl::StatusOr<std::string> Pull(absl::string_view ciphertext);
  bool finished() const { return finished_; }
  // kDataLoss "attachment stream truncated" unless the final tag has been seen.
  absl::Status Finish() const;

 private:
  AttachmentReader() = default;
  SecretBuffer state_;
  std::string blob_id_;
  uint64_t index_ = 0;
  bool finished_ = false;
};

// Whole-buffer helpers over the classes above: header || chunks.
absl::StatusOr<std::string> EncryptAttachment(const SecretBuffer& key, absl::string_view blob_id,
                                              absl::string_view plaintext);
// kDataLoss when truncated (no final tag, or bytes missing) or with bytes after the final
// chunk, kUnauthenticated on tampering. A damaged *short last* chunk cannot be told from a
// cut one and is reported as kDataLoss "attachment stream truncated".
absl::StatusOr<std::string> DecryptAttachment(const SecretBuffer& key, absl::string_view blob_id,
                                              absl::string_view stream);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_ATTACHMENT_STREAM_H_

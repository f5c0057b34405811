#ifndef TEMOIN_SERVER_CORE_BUNDLE_STREAM_H_
#define TEMOIN_SERVER_CORE_BUNDLE_STREAM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/attachment_stream.h"
#include "crypto/keys.h"
#include "crypto/secret_buffer.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream.h"

// Reading a bundle file ("TEMOINB1" || SealedBundle) as a stream, so that a bundle of up
// to 1 GiB is opened with a constant amount of memory: one 64 KiB chunk of the sealed
// stream at a time, never the whole file, never the whole plaintext.
//
// The file is read where it lies (a relay's spool file, or `temoin-server import`'s
// argument), through BundleSource, which can open it more than once: the import reads
// it twice, once to authenticate the whole sealed stream and once to take what it holds
// (see bundle_import.h for why).
namespace temoin::server {

// A bundle file that can be read from its start any number of times.
class BundleSource {
 public:
  virtual ~BundleSource() = default;
  virtual uint64_t size() const = 0;
  // A new stream over the whole file, from its first byte.
  virtual std::unique_ptr<google::protobuf::io::ZeroCopyInputStream> Open() const = 0;
};

// A bundle held in memory (tests, fuzzing, small files). `bytes` must outlive it.
class StringBundleSource final : public BundleSource {
 public:
  explicit StringBundleSource(absl::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  std::unique_ptr<google::protobuf::io::ZeroCopyInputStream> Open() const override;

 private:
  absl::string_view bytes_;
};

// A bundle in an open file, read with pread so that several opens do not share an
// offset. The descriptor is not owned and must outlive it.
class FileBundleSource final : public BundleSource {
 public:
  FileBundleSource(int fd, uint64_t size) : fd_(fd), size_(size) {}
  uint64_t size() const override { return size_; }
  std::unique_ptr<google::protobuf::io::ZeroCopyInputStream> Open() const override;

 private:
  int fd_;
  uint64_t size_;
};

// The plaintext of a sealed bundle, decrypted chunk by chunk as it is read. Built by
// OpenSealedBundle; reads from `file` positioned at the start of the sealed stream.
// A chunk that fails authentication ends the stream (Next returns false) and sets
// status(); so does a stream that ends without its final tag or with bytes after it.
class DecryptingBundleStream final : public google::protobuf::io::ZeroCopyInputStream {
 public:
  DecryptingBundleStream(std::unique_ptr<google::protobuf::io::ZeroCopyInputStream> file,
                         crypto::AttachmentReader reader, uint64_t ciphertext_bytes);
  ~DecryptingBundleStream() override;

  bool Next(const void** data, int* size) override;
  void BackUp(int count) override;
  bool Skip(int count) override;
  int64_t ByteCount() const override { return returned_; }

  // OK once the whole sealed stream has been read and authenticated to its final tag;
  // kUnauthenticated on tampering; kDataLoss when truncated; kFailedPrecondition while
  // bytes remain unread.
  absl::Status status() const;
  // Reads (and authenticates) everything left, dropping the plaintext: status() after.
  absl::Status Drain();

 private:
  bool PullChunk();

  std::unique_ptr<google::protobuf::io::ZeroCopyInputStream> file_;
  google::protobuf::io::CodedInputStream coded_;
  crypto::AttachmentReader reader_;
  uint64_t ciphertext_left_;
  std::string plain_;  // the current chunk's plaintext
  size_t consumed_ = 0;
  int64_t returned_ = 0;
  absl::Status error_;
};

// Checks the magic and the SealedBundle framing (bundle_id, sealed_key, then the sealed
// stream, in field order: what protobuf writes), opens the sealed key with `bundle_key`,
// and returns the plaintext as a stream. kInvalidArgument "not a temoin bundle" for a bad
// magic or layout; kUnauthenticated "bundle does not open with this server's key".
absl::StatusOr<std::unique_ptr<DecryptingBundleStream>> OpenSealedBundle(
    const BundleSource& source, const crypto::BoxKeyPair& bundle_key);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_BUNDLE_STREAM_H_

#include "server/core/bundle_stream.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "server/core/bundle_import.h"

namespace temoin::server {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::ZeroCopyInputStream;

constexpr size_t kMagicBytes = 8;
constexpr uint32_t kMaxIdBytes = 64;
constexpr uint32_t kMaxSealedKeyBytes = 256;
constexpr size_t kFullChunkCiphertext =
    crypto::kAttachmentChunkBytes + crypto::kAttachmentChunkOverhead;

absl::Status NotABundle() { return absl::InvalidArgumentError("not a temoin bundle"); }
absl::Status WrongKey() {
  return absl::UnauthenticatedError("bundle does not open with this server's key");
}

// A file read in 64 KiB blocks through pread, from offset 0.
class PreadInputStream final : public google::protobuf::io::CopyingInputStream {
 public:
  PreadInputStream(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int Read(void* buffer, int size) override {
    if (offset_ >= size_) return 0;
    const size_t want = std::min<uint64_t>(static_cast<uint64_t>(size), size_ - offset_);
    ssize_t got;
    do {
      got = pread(fd_, buffer, want, static_cast<off_t>(offset_));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) return got == 0 ? 0 : -1;
    offset_ += static_cast<uint64_t>(got);
    return static_cast<int>(got);
  }

 private:
  int fd_;
  uint64_t size_;
  uint64_t offset_ = 0;
};

class OwningCopyingStream final : public ZeroCopyInputStream {
 public:
  explicit OwningCopyingStream(std::unique_ptr<PreadInputStream> source)
      : source_(std::move(source)), adaptor_(source_.get(), 64 << 10) {}
  bool Next(const void** data, int* size) override { return adaptor_.Next(data, size); }
  void BackUp(int count) override { adaptor_.BackUp(count); }
  bool Skip(int count) override { return adaptor_.Skip(count); }
  int64_t ByteCount() const override { return adaptor_.ByteCount(); }

 private:
  std::unique_ptr<PreadInputStream> source_;
  google::protobuf::io::CopyingInputStreamAdaptor adaptor_;
};

// One length-delimited field `number` of at most `max_bytes`, in full.
bool ReadBytesField(CodedInputStream& in, int number, uint32_t max_bytes, std::string* out) {
  const uint32_t expected =
      WireFormatLite::MakeTag(number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  uint32_t length = 0;
  return in.ReadTag() == expected && in.ReadVarint32(&length) && length <= max_bytes &&
         in.ReadString(out, static_cast<int>(length));
}

}  // namespace

std::unique_ptr<ZeroCopyInputStream> StringBundleSource::Open() const {
  return std::make_unique<google::protobuf::io::ArrayInputStream>(bytes_.data(),
                                                                  static_cast<int>(bytes_.size()));
}

std::unique_ptr<ZeroCopyInputStream> FileBundleSource::Open() const {
  return std::make_unique<OwningCopyingStream>(std::make_unique<PreadInputStream>(fd_, size_));
}

DecryptingBundleStream::DecryptingBundleStream(std::unique_ptr<ZeroCopyInputStream> file,
                                               crypto::AttachmentReader reader,
                                               uint64_t ciphertext_bytes)
    : file_(std::move(file)),
      coded_(file_.get()),
      reader_(std::move(reader)),
      ciphertext_left_(ciphertext_bytes) {}

DecryptingBundleStream::~DecryptingBundleStream() { crypto::WipeString(plain_); }

bool DecryptingBundleStream::PullChunk() {
  if (!error_.ok() || reader_.finished()) return false;
  if (ciphertext_left_ == 0) {
    error_ = absl::DataLossError("bundle truncated");
    return false;
  }
  const size_t take =
      static_cast<size_t>(std::min<uint64_t>(ciphertext_left_, kFullChunkCiphertext));
  std::string ciphertext;
  if (!coded_.ReadString(&ciphertext, static_cast<int>(take))) {
    error_ = absl::DataLossError("bundle truncated");
    return false;
  }
  ciphertext_left_ -= take;
  absl::StatusOr<std::string> plain = reader_.Pull(ciphertext);
  if (!plain.ok()) {
    error_ = plain.status();
    return false;
  }
  crypto::WipeString(plain_);
  plain_ = std::move(*plain);
  consumed_ = 0;
  return true;
}

bool DecryptingBundleStream::Next(const void** data, int* size) {
  while (consumed_ == plain_.size()) {
    if (!PullChunk()) return false;
  }
  *data = plain_.data() + consumed_;
  *size = static_cast<int>(plain_.size() - consumed_);
  returned_ += *size;
  consumed_ = plain_.size();
  return true;
}

void DecryptingBundleStream::BackUp(int count) {
  consumed_ -= static_cast<size_t>(count);
  returned_ -= count;
}

bool DecryptingBundleStream::Skip(int count) {
  const void* data;
  int size;
  while (count > 0) {
    if (!Next(&data, &size)) return false;
    if (size > count) BackUp(size - count);
    count -= std::min(size, count);
  }
  return true;
}

absl::Status DecryptingBundleStream::status() const {
  if (!error_.ok()) return error_;
  if (!reader_.finished()) {
    return absl::FailedPreconditionError("bundle stream not read to its end");
  }
  // Bytes after the final chunk were not made by the writer.
  if (ciphertext_left_ != 0) return absl::DataLossError("bytes after the end of the bundle");
  return absl::OkStatus();
}

absl::Status DecryptingBundleStream::Drain() {
  while (PullChunk()) {
  }
  return status();
}

absl::StatusOr<std::unique_ptr<DecryptingBundleStream>> OpenSealedBundle(
    const BundleSource& source, const crypto::BoxKeyPair& bundle_key) {
  if (source.size() > kMaxBundleBytes || source.size() < kMagicBytes) return NotABundle();
  std::unique_ptr<ZeroCopyInputStream> file = source.Open();
  std::string magic, bundle_id, sealed_key, header;
  uint32_t stream_bytes = 0;
  {
    CodedInputStream in(file.get());
    const uint32_t stream_tag =
        WireFormatLite::MakeTag(3, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
    if (!in.ReadString(&magic, kMagicBytes) || magic != kBundleMagic ||
        !ReadBytesField(in, 1, kMaxIdBytes, &bundle_id) ||
        !ReadBytesField(in, 2, kMaxSealedKeyBytes, &sealed_key) || in.ReadTag() != stream_tag ||
        !in.ReadVarint32(&stream_bytes) ||
        static_cast<uint64_t>(in.CurrentPosition()) + stream_bytes != source.size() ||
        stream_bytes < crypto::kAttachmentHeaderBytes ||
        !in.ReadString(&header, crypto::kAttachmentHeaderBytes)) {
      return NotABundle();
    }
  }  // gives back to `file` what it read ahead: `file` is now at the first chunk
  absl::StatusOr<crypto::SecretBuffer> key = crypto::OpenSealed(sealed_key, bundle_key);
  if (!key.ok()) return WrongKey();
  absl::StatusOr<crypto::AttachmentReader> reader =
      crypto::AttachmentReader::Create(*key, bundle_id, header);
  if (!reader.ok()) return WrongKey();
  return std::make_unique<DecryptingBundleStream>(std::move(file), std::move(*reader),
                                                  stream_bytes - crypto::kAttachmentHeaderBytes);
}

}  // namespace temoin::server

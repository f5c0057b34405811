#include "crypto/attachment_stream.h"

#include <gtest/gtest.h>

#include <vector>

#include "crypto/test_util.h"

namespace temoin::crypto {
namespace {

using ::absl::StatusCode;
using test::Filled;

constexpr size_t kFullChunk = kAttachmentChunkBytes + kAttachmentChunkOverhead;

class AttachmentStreamTest : public ::testing::Test {
 protected:
  std::string Encrypt(absl::string_view plaintext, absl::string_view blob_id) const {
    absl::StatusOr<std::string> stream = EncryptAttachment(key_, blob_id, plaintext);
    EXPECT_TRUE(stream.ok()) << stream.status();
    return stream.value_or("");
  }
  // Chunk `i` of a stream made by EncryptAttachment.
  static std::string Chunk(const std::string& stream, size_t i) {
    return stream.substr(kAttachmentHeaderBytes + i * kFullChunk, kFullChunk);
  }

  SecretBuffer key_ = SecretBuffer::Random(32);
  const std::string blob_id_ = Filled(16, 'b');
  const std::string photo_ = RandomBytes(3 * kAttachmentChunkBytes + 1000);  // 4 chunks
};

TEST_F(AttachmentStreamTest, RoundTripsAtChunkBoundaries) {
  for (size_t size : {size_t{0}, size_t{1}, kAttachmentChunkBytes - 1, kAttachmentChunkBytes,
                      kAttachmentChunkBytes + 1, 2 * kAttachmentChunkBytes}) {
    const std::string plaintext = RandomBytes(size);
    const std::string stream = Encrypt(plaintext, blob_id_);
    const size_t chunks =
        size == 0 ? 1 : (size + kAttachmentChunkBytes - 1) / kAttachmentChunkBytes;
    EXPECT_EQ(stream.size(), kAttachmentHeaderBytes + size + chunks * kAttachmentChunkOverhead);
    absl::StatusOr<std::string> decrypted = DecryptAttachment(key_, blob_id_, stream);
    ASSERT_TRUE(decrypted.ok()) << "size " << size << ": " << decrypted.status();
    EXPECT_EQ(*decrypted, plaintext) << "size " << size;
  }
}

TEST_F(AttachmentStreamTest, DroppingTheLastChunkIsDataLoss) {
  const std::string stream = Encrypt(photo_, blob_id_);
  const std::string cut = stream.substr(0, kAttachmentHeaderBytes + 3 * kFullChunk);
  absl::Status status = DecryptAttachment(key_, blob_id_, cut).status();
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_EQ(status.message(), "attachment stream truncated");
  EXPECT_EQ(
      DecryptAttachment(key_, blob_id_, stream.substr(0, kAttachmentHeaderBytes)).status().code(),
      StatusCode::kDataLoss);
  EXPECT_EQ(DecryptAttachment(key_, blob_id_, stream.substr(0, 10)).status().code(),
            StatusCode::kDataLoss);
}

TEST_F(AttachmentStreamTest, CuttingMidChunkIsDataLoss) {
  const std::string stream = Encrypt(photo_, blob_id_);
  for (size_t cut : {kAttachmentHeaderBytes + 5, kAttachmentHeaderBytes + kFullChunk / 2,
                     kAttachmentHeaderBytes + 2 * kFullChunk + 100, stream.size() - 1}) {
    EXPECT_EQ(DecryptAttachment(key_, blob_id_, stream.substr(0, cut)).status().code(),
              StatusCode::kDataLoss)
        << "cut at " << cut;
  }
}

TEST_F(AttachmentStreamTest, ReaderFinishWithoutFinalTagIsDataLoss) {
  const std::string stream = Encrypt(photo_, blob_id_);
  absl::StatusOr<AttachmentReader> reader =
      AttachmentReader::Create(key_, blob_id_, stream.substr(0, kAttachmentHeaderBytes));
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(reader->Pull(Chunk(stream, 0)).ok());
  EXPECT_FALSE(reader->finished());
  EXPECT_EQ(reader->Finish().code(), StatusCode::kDataLoss);
}

TEST_F(AttachmentStreamTest, ReorderedChunksAreUnauthenticated) {
  const std::string stream = Encrypt(photo_, blob_id_);
  absl::StatusOr<AttachmentReader> reader =
      AttachmentReader::Create(key_, blob_id_, stream.substr(0, kAttachmentHeaderBytes));
  ASSERT_TRUE(reader.ok());
  absl::Status status = reader->Pull(Chunk(stream, 1)).status();
  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "authentication failed");

  std::string swapped = stream;
  swapped.replace(kAttachmentHeaderBytes, kFullChunk, Chunk(stream, 1));
  swapped.replace(kAttachmentHeaderBytes + kFullChunk, kFullChunk, Chunk(stream, 0));
  EXPECT_EQ(DecryptAttachment(key_, blob_id_, swapped).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(AttachmentStreamTest, ChunkSwappedInFromAnotherBlobIsUnauthenticated) {
  const std::string other_blob = Filled(16, 'c');
  const std::string stream = Encrypt(photo_, blob_id_);
  const std::string other = Encrypt(photo_, other_blob);  // same key, same plaintext
  std::string spliced = stream;
  spliced.replace(kAttachmentHeaderBytes + kFullChunk, kFullChunk, Chunk(other, 1));
  EXPECT_EQ(DecryptAttachment(key_, blob_id_, spliced).status().code(),
            StatusCode::kUnauthenticated);
  // The whole stream under another blob id does not open either: the AD binds the blob.
  EXPECT_EQ(DecryptAttachment(key_, other_blob, stream).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(AttachmentStreamTest, FlippedBitOrWrongKeyIsUnauthenticated) {
  const std::string stream = Encrypt("a short voice note", blob_id_);
  for (size_t i = kAttachmentHeaderBytes; i < stream.size(); ++i) {
    std::string tampered = stream;
    tampered[i] ^= 0x04;
    EXPECT_EQ(DecryptAttachment(key_, blob_id_, tampered).status().code(),
              stream.size() - kAttachmentHeaderBytes < kFullChunk ? StatusCode::kDataLoss
                                                                  : StatusCode::kUnauthenticated)
        << "byte " << i;
  }
  const std::string full = Encrypt(photo_, blob_id_);
  std::string tampered = full;
  tampered[kAttachmentHeaderBytes + 100] ^= 0x01;
  EXPECT_EQ(DecryptAttachment(key_, blob_id_, tampered).status().code(),
            StatusCode::kUnauthenticated);
  tampered = full;
  tampered[3] ^= 0x01;  // stream header
  EXPECT_EQ(DecryptAttachment(key_, blob_id_, tampered).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(DecryptAttachment(SecretBuffer::Random(32), blob_id_, full).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(AttachmentStreamTest, BytesAfterTheFinalChunkAreRejected) {
  // A full-sized final chunk: the extra byte is read after the final tag.
  const std::string exact = Encrypt(std::string(2 * kAttachmentChunkBytes, 'd'), blob_id_);
  absl::Status status = DecryptAttachment(key_, blob_id_, exact + "x").status();
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_EQ(status.message(), "attachment stream has bytes after the final chunk");
  // A short final chunk: the extra byte joins it, which looks like a damaged last chunk.
  const std::string short_final = Encrypt("document", blob_id_);
  EXPECT_FALSE(DecryptAttachment(key_, blob_id_, short_final + "x").ok());
}

TEST_F(AttachmentStreamTest, WriterEnforcesChunkSizesAndFinality) {
  absl::StatusOr<AttachmentWriter> writer =
      AttachmentWriter::Create(SecretBuffer::CopyOf(key_.ExposeSecret()), blob_id_);
  ASSERT_TRUE(writer.ok());
  EXPECT_EQ(writer->header().size(), kAttachmentHeaderBytes);
  EXPECT_EQ(writer->Push("short but not final", false).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(writer->Push(std::string(kAttachmentChunkBytes + 1, 'x'), true).status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(writer->Push(std::string(kAttachmentChunkBytes, 'x'), false).ok());
  ASSERT_TRUE(writer->Push("tail", true).ok());
  EXPECT_EQ(writer->Push("more", true).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(AttachmentStreamTest, ReaderRefusesPullAfterFinal) {
  const std::string stream = Encrypt("x", blob_id_);
  absl::StatusOr<AttachmentReader> reader =
      AttachmentReader::Create(key_, blob_id_, stream.substr(0, kAttachmentHeaderBytes));
  ASSERT_TRUE(reader.ok());
  absl::StatusOr<std::string> chunk = reader->Pull(stream.substr(kAttachmentHeaderBytes));
  ASSERT_TRUE(chunk.ok());
  EXPECT_EQ(*chunk, "x");
  EXPECT_TRUE(reader->finished());
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(reader->Pull(stream.substr(kAttachmentHeaderBytes)).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(AttachmentStreamTest, CreateRejectsBadSizes) {
  EXPECT_EQ(AttachmentWriter::Create(SecretBuffer::Random(16), blob_id_).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(AttachmentWriter::Create(SecretBuffer::Random(32), "short").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(AttachmentReader::Create(key_, blob_id_, "short header").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace temoin::crypto

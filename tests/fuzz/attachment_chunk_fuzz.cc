// Attachment pieces (server/core/attachments.h, Attachments::UploadChunk) from a
// signed-in monitor whose record awaits a 1,000-byte blob. Input: a sequence of
// varint-length-prefixed v1::AttachmentChunk messages (at most 64); a chunk with an
// empty record id or blob id gets the waiting record's, so that the fuzzer spends its
// time on offsets, indexes and data rather than on guessing ids. A blob the core calls
// complete must hold exactly the declared bytes.
#include <cstddef>
#include <cstdint>

#include "google/protobuf/io/coded_stream.h"
#include "server/core/attachments.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/fuzz_world.h"

namespace temoin::fuzz {
namespace {

constexpr uint64_t kSeq = 3;
constexpr int kMaxChunks = 64;

const FixedBlob& Blob() {
  static const FixedBlob* blob = new FixedBlob(MakeFixedBlob(1000, 9));
  return *blob;
}

std::string Delimited(const std::vector<v1::AttachmentChunk>& chunks) {
  std::string out;
  for (const v1::AttachmentChunk& chunk : chunks) {
    std::string bytes = chunk.SerializeAsString();
    uint32_t n = static_cast<uint32_t>(bytes.size());
    while (n >= 0x80) {
      out += static_cast<char>((n & 0x7F) | 0x80);
      n >>= 7;
    }
    out += static_cast<char>(n);
    out += bytes;
  }
  return out;
}

v1::AttachmentChunk Piece(size_t offset, size_t size) {
  v1::AttachmentChunk chunk;  // ids left empty: filled in by the target
  chunk.set_index(0);
  chunk.set_offset(static_cast<uint32_t>(offset));
  chunk.set_data(Blob().slices[0].substr(offset, size));
  return chunk;
}

std::vector<std::string> Seeds() {
  return {Delimited({Piece(0, 1000)}), Delimited({Piece(0, 300), Piece(300, 300), Piece(600, 400)}),
          Delimited({Piece(0, 300), Piece(0, 300), Piece(300, 700)}),
          Delimited({Piece(0, 500), Piece(700, 300)})};
}

std::vector<v1::AttachmentChunk> ParseChunks(const uint8_t* data, size_t size) {
  std::vector<v1::AttachmentChunk> chunks;
  google::protobuf::io::CodedInputStream in(data, static_cast<int>(size));
  uint32_t length = 0;
  while (chunks.size() < kMaxChunks && in.ReadVarint32(&length)) {
    std::string bytes;
    if (!in.ReadString(&bytes, static_cast<int>(length))) break;
    v1::AttachmentChunk chunk;
    if (!chunk.ParseFromString(bytes)) break;
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

}  // namespace
}  // namespace temoin::fuzz

TEMOIN_FUZZ_SEEDS(temoin::fuzz::Seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace temoin;
  std::vector<v1::AttachmentChunk> chunks = fuzz::ParseChunks(data, size);
  if (chunks.empty()) return 0;
  std::unique_ptr<fuzz::FuzzWorld> world = fuzz::FuzzWorld::Create();
  const fuzz::FixedBlob& blob = fuzz::Blob();
  v1::Envelope record = world->Seal(fuzz::kSeq, {blob.ref});
  google::protobuf::RepeatedPtrField<v1::Envelope> batch;
  *batch.Add() = record;
  if (!world->core().ingest().UploadBatch(world->monitor_session(), batch).ok()) __builtin_trap();
  v1::RecordHeader header;
  header.ParseFromString(record.header());
  for (v1::AttachmentChunk& chunk : chunks) {
    if (chunk.record_id().empty()) chunk.set_record_id(header.record_id());
    if (chunk.blob_id().empty()) chunk.set_blob_id(blob.ref.blob_id());
    absl::StatusOr<v1::BlobStatus> status =
        world->core().attachments().UploadChunk(world->monitor_session(), chunk);
    // Complete means the declared size and hash matched: only the real bytes do that.
    if (status.ok() && status->complete() && chunk.blob_id() == blob.ref.blob_id() &&
        chunk.index() == 0 && chunk.offset() + chunk.data().size() == blob.stream.size() &&
        blob.stream.substr(chunk.offset()) != chunk.data()) {
      __builtin_trap();
    }
  }
  return 0;
}

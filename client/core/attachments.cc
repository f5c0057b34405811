#include "client/core/attachments.h"

#include <sodium.h>

#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/core/jpeg_metadata.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "temoin/v1/client_store.pb.h"

namespace temoin::client {
namespace {

// Slices go to the vault in groups: each group is one synced commit, so a large file
// costs an fsync per MiB rather than per slice, and memory stays bounded.
constexpr uint64_t kSlicesPerCommit = 16;

}  // namespace

uint64_t SliceCount(uint64_t ciphertext_size) {
  return (ciphertext_size + kUploadChunkBytes - 1) / kUploadChunkBytes;
}

std::string SliceName(absl::string_view blob_id, uint64_t index) {
  return absl::StrCat(blob_id, EncodeU64BigEndian(index));
}

absl::StatusOr<PreparedAttachment> StoreAttachmentFile(Vault& vault, const std::string& path,
                                                       uint64_t max_bytes, bool keep_metadata) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) return absl::NotFoundError(absl::StrCat("--attach: cannot read ", path));
  uint64_t size = static_cast<uint64_t>(file.tellg());
  if (size > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--attach: ", path, " is over the attachment limit (", max_bytes, " bytes)"));
  }
  file.seekg(0);
  // A JPEG is read whole and stripped of its metadata in memory (never on disk); any
  // other file streams straight from disk.
  std::istringstream stripped_stream;
  std::istream* source = &file;
  char magic[3] = {0, 0, 0};
  file.read(magic, 3);
  file.seekg(0);
  if (!keep_metadata && LooksLikeJpeg(absl::string_view(magic, 3))) {
    std::string whole(size, '\0');
    file.read(whole.data(), static_cast<std::streamsize>(size));
    absl::StatusOr<std::string> stripped = StripJpegMetadata(whole);
    sodium_memzero(whole.data(), whole.size());
    if (!stripped.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--attach: ", path,
          " is not a well-formed JPEG, so its metadata (GPS position, "
          "camera, time) cannot be removed; give --keep-metadata to attach it as it is"));
    }
    size = stripped->size();
    stripped_stream.str(std::move(*stripped));
    source = &stripped_stream;
  }
  std::istream& in = *source;
  PreparedAttachment prepared;
  const std::string blob_id = crypto::RandomBytes(16);
  crypto::SecretBuffer key = crypto::SecretBuffer::Random(32);
  prepared.info.set_blob_id(blob_id);
  prepared.info.set_key(std::string(key.ExposeSecret()));
  std::string base = path.substr(path.find_last_of('/') + 1);
  prepared.info.set_file_name(SanitizeFileName(base));
  prepared.info.set_media_type(GuessMediaType(base));
  prepared.info.set_size(size);
  TEMOIN_ASSIGN_OR_RETURN(crypto::AttachmentWriter writer,
                          crypto::AttachmentWriter::Create(std::move(key), blob_id));

  const uint64_t chunks = size / crypto::kAttachmentChunkBytes + 1;  // last may be empty
  const uint64_t ciphertext_size =
      crypto::kAttachmentHeaderBytes + size + chunks * crypto::kAttachmentChunkOverhead;
  v1::PendingAttachment marker;
  marker.set_slices(SliceCount(ciphertext_size));
  TEMOIN_RETURN_IF_ERROR(vault.Put(kAttachPendingNs, blob_id, marker.SerializeAsString()));

  crypto_generichash_state hash;
  crypto_generichash_init(&hash, nullptr, 0, crypto_generichash_BYTES);
  std::string pending = writer.header();  // ciphertext not yet cut into slices
  uint64_t slice_index = 0;
  VaultBatch batch;
  uint64_t in_batch = 0;
  auto emit = [&](std::string slice) -> absl::Status {
    crypto_generichash_update(&hash, reinterpret_cast<const unsigned char*>(slice.data()),
                              slice.size());
    batch.Put(kAttachNs, SliceName(blob_id, slice_index++), slice);
    if (++in_batch == kSlicesPerCommit) {
      TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
      batch = VaultBatch();
      in_batch = 0;
    }
    return absl::OkStatus();
  };
  std::string plain(crypto::kAttachmentChunkBytes, '\0');
  for (uint64_t i = 0; i < chunks; ++i) {
    uint64_t want =
        std::min<uint64_t>(crypto::kAttachmentChunkBytes, size - i * crypto::kAttachmentChunkBytes);
    in.read(plain.data(), static_cast<std::streamsize>(want));
    if (static_cast<uint64_t>(in.gcount()) != want) {
      return absl::DataLossError(absl::StrCat("--attach: ", path, " changed while reading"));
    }
    TEMOIN_ASSIGN_OR_RETURN(std::string ct,
                            writer.Push(absl::string_view(plain.data(), want), i + 1 == chunks));
    pending += ct;
    while (pending.size() >= kUploadChunkBytes) {
      TEMOIN_RETURN_IF_ERROR(emit(pending.substr(0, kUploadChunkBytes)));
      pending.erase(0, kUploadChunkBytes);
    }
  }
  sodium_memzero(plain.data(), plain.size());
  if (!pending.empty()) TEMOIN_RETURN_IF_ERROR(emit(pending));
  TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
  std::string digest(crypto_generichash_BYTES, '\0');
  crypto_generichash_final(&hash, reinterpret_cast<unsigned char*>(digest.data()), digest.size());
  prepared.ref.set_blob_id(blob_id);
  prepared.ref.set_size(ciphertext_size);
  prepared.ref.set_ciphertext_hash(digest);
  return prepared;
}

absl::StatusOr<std::optional<std::string>> LoadSlice(Vault& vault, absl::string_view blob_id,
                                                     uint64_t index) {
  return vault.Get(kAttachNs, SliceName(blob_id, index));
}

void DeleteSlices(VaultBatch& batch, absl::string_view blob_id, uint64_t ciphertext_size) {
  for (uint64_t i = 0; i < SliceCount(ciphertext_size); ++i) {
    batch.Delete(kAttachNs, SliceName(blob_id, i));
  }
}

absl::Status CollectOrphanAttachments(Vault& vault) {
  std::map<std::string, uint64_t> orphans;
  TEMOIN_RETURN_IF_ERROR(
      vault.Scan(kAttachPendingNs, [&](absl::string_view name, absl::string_view value) {
        v1::PendingAttachment marker;
        if (marker.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          orphans[std::string(name)] = marker.slices();
        }
        return true;
      }));
  if (orphans.empty()) return absl::OkStatus();
  VaultBatch batch;
  for (const auto& [blob_id, slices] : orphans) {
    for (uint64_t i = 0; i < slices; ++i) batch.Delete(kAttachNs, SliceName(blob_id, i));
    batch.Delete(kAttachPendingNs, blob_id);
  }
  return vault.Commit(batch);
}

std::string GuessMediaType(absl::string_view file_name) {
  static const auto* const kTypes = new std::map<std::string, std::string>{
      {"jpg", "image/jpeg"},      {"jpeg", "image/jpeg"}, {"png", "image/png"},
      {"heic", "image/heic"},     {"mp3", "audio/mpeg"},  {"m4a", "audio/mp4"},
      {"ogg", "audio/ogg"},       {"opus", "audio/ogg"},  {"wav", "audio/wav"},
      {"amr", "audio/amr"},       {"mp4", "video/mp4"},   {"3gp", "video/3gpp"},
      {"pdf", "application/pdf"}, {"txt", "text/plain"}};
  size_t dot = file_name.find_last_of('.');
  if (dot == absl::string_view::npos) return "application/octet-stream";
  auto it = kTypes->find(absl::AsciiStrToLower(file_name.substr(dot + 1)));
  return it == kTypes->end() ? "application/octet-stream" : it->second;
}

std::string SanitizeFileName(absl::string_view name) {
  size_t slash = name.find_last_of("/\\");
  if (slash != absl::string_view::npos) name = name.substr(slash + 1);
  std::string out;
  for (unsigned char c : name) {
    out.push_back(
        c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ':' ? '_' : static_cast<char>(c));
  }
  while (!out.empty() && out[0] == '.') out[0] = '_';
  if (out.size() > 200) out.resize(200);
  if (out.empty()) out = "attachment";
  return out;
}

}  // namespace temoin::client

#include "client/core/attachments.h"

#include <sodium.h>

#include <cstring>
#include <fstream>
#include <functional>
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

uint64_t SliceSize(uint64_t ciphertext_size, uint64_t index) {
  return std::min(kUploadChunkBytes, ciphertext_size - index * kUploadChunkBytes);
}

std::string SliceName(absl::string_view blob_id, uint64_t index) {
  return absl::StrCat(blob_id, EncodeU64BigEndian(index));
}

namespace {

// Encrypts `size` bytes that `read` hands over in order (read(buffer, n) fills n bytes,
// false when it cannot) into the vault under a fresh blob id and key. `file_name` is
// the name as the person gave it (sanitised here); `what` names the file in errors.
absl::StatusOr<PreparedAttachment> EncryptIntoVault(
    Vault& vault, absl::string_view file_name, uint64_t size,
    const std::function<bool(char*, uint64_t)>& read, absl::string_view what) {
  PreparedAttachment prepared;
  const std::string blob_id = crypto::RandomBytes(16);
  crypto::SecretBuffer key = crypto::SecretBuffer::Random(32);
  prepared.info.set_blob_id(blob_id);
  prepared.info.set_key(std::string(key.ExposeSecret()));
  prepared.info.set_file_name(SanitizeFileName(file_name));
  prepared.info.set_media_type(GuessMediaType(file_name));
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
    if (!read(plain.data(), want)) {
      sodium_memzero(plain.data(), plain.size());
      return absl::DataLossError(absl::StrCat(what, " changed while reading"));
    }
    absl::StatusOr<std::string> ct =
        writer.Push(absl::string_view(plain.data(), want), i + 1 == chunks);
    if (!ct.ok()) {
      sodium_memzero(plain.data(), plain.size());
      return ct.status();
    }
    pending += *ct;
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

}  // namespace

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
  char magic[3] = {0, 0, 0};
  file.read(magic, 3);
  file.seekg(0);
  const std::string base = path.substr(path.find_last_of('/') + 1);
  // A JPEG is read whole and stripped of its metadata in memory (never on disk); any
  // other file streams straight from disk.
  if (!keep_metadata && LooksLikeJpeg(absl::string_view(magic, 3))) {
    InMemoryAttachment whole{base, std::string(size, '\0')};
    file.read(whole.bytes.data(), static_cast<std::streamsize>(size));
    absl::StatusOr<PreparedAttachment> stored =
        StoreAttachmentBytes(vault, whole, max_bytes, keep_metadata);
    sodium_memzero(whole.bytes.data(), whole.bytes.size());
    if (stored.status().code() == absl::StatusCode::kInvalidArgument) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--attach: ", path,
          " is not a well-formed JPEG, so its metadata (GPS position, "
          "camera, time) cannot be removed; give --keep-metadata to attach it as it is"));
    }
    return stored;
  }
  return EncryptIntoVault(
      vault, base, size,
      [&file](char* buffer, uint64_t n) {
        file.read(buffer, static_cast<std::streamsize>(n));
        return static_cast<uint64_t>(file.gcount()) == n;
      },
      absl::StrCat("--attach: ", path));
}

absl::StatusOr<PreparedAttachment> StoreAttachmentBytes(Vault& vault,
                                                        const InMemoryAttachment& attachment,
                                                        uint64_t max_bytes, bool keep_metadata) {
  const std::string what = absl::StrCat("attachment ", SanitizeFileName(attachment.file_name));
  if (attachment.bytes.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is over the attachment limit (", max_bytes, " bytes)"));
  }
  absl::string_view source = attachment.bytes;
  std::string stripped;
  if (!keep_metadata && LooksLikeJpeg(source.substr(0, 3))) {
    absl::StatusOr<std::string> without = StripJpegMetadata(source);
    if (!without.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          what,
          " is not a well-formed JPEG, so its metadata (GPS position, camera, time) cannot be "
          "removed"));
    }
    stripped = std::move(*without);
    source = stripped;
  }
  uint64_t offset = 0;
  absl::StatusOr<PreparedAttachment> prepared = EncryptIntoVault(
      vault, attachment.file_name, source.size(),
      [&](char* buffer, uint64_t n) {
        if (offset + n > source.size()) return false;
        memcpy(buffer, source.data() + offset, n);
        offset += n;
        return true;
      },
      what);
  sodium_memzero(stripped.data(), stripped.size());
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

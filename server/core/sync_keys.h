#ifndef TEMOIN_SERVER_CORE_SYNC_KEYS_H_
#define TEMOIN_SERVER_CORE_SYNC_KEYS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/encoding.h"

// Store keys of resumable sync (beside those of server/core/registry.h):
//   cmt/<device_id><record_id>    StoredCommitment
//   pnd/<device_id><record_id>    StoredRecord whose body is in, awaiting attachments
//   blob/<device_id><blob_id>     StoredBlob
//   chunk/<device_id><blob_id><index be64>   one slice of the blob's ciphertext stream
//   piece/<device_id><blob_id><offset be64>  a piece of slice next_index, until whole
//   meta/partial_bytes            bytes held in incomplete blobs, all devices (u64 be)
//   ppb/<device_id>               bytes held in that device's incomplete blobs (u64 be)
//   pbl/<device_id><blob_id>      a blob holding partial bytes: when it last took some
//                                 (i64 be seconds), for expiry (Attachments)
// Like records (registry.h), blobs live in the namespace of the device that declared
// them: ids are chosen by devices, so another device's ids must never collide.
namespace temoin::server::keys {

inline std::string Commitment(absl::string_view device_id, absl::string_view record_id) {
  return absl::StrCat("cmt/", device_id, record_id);
}
inline std::string PendingRecord(absl::string_view device_id, absl::string_view record_id) {
  return absl::StrCat("pnd/", device_id, record_id);
}
inline std::string Blob(absl::string_view device_id, absl::string_view blob_id) {
  return absl::StrCat("blob/", device_id, blob_id);
}
inline std::string ChunkPrefix(absl::string_view device_id, absl::string_view blob_id) {
  return absl::StrCat("chunk/", device_id, blob_id);
}
inline std::string Chunk(absl::string_view device_id, absl::string_view blob_id, uint64_t index) {
  return absl::StrCat("chunk/", device_id, blob_id, EncodeU64BigEndian(index));
}
inline std::string PiecePrefix(absl::string_view device_id, absl::string_view blob_id) {
  return absl::StrCat("piece/", device_id, blob_id);
}
inline std::string Piece(absl::string_view device_id, absl::string_view blob_id, uint64_t offset) {
  return absl::StrCat("piece/", device_id, blob_id, EncodeU64BigEndian(offset));
}
inline std::string PartialBytes() { return "meta/partial_bytes"; }
inline std::string DevicePartialBytes(absl::string_view device_id) {
  return absl::StrCat("ppb/", device_id);
}
inline std::string PartialBlobPrefix() { return "pbl/"; }
inline std::string PartialBlobPrefix(absl::string_view device_id) {
  return absl::StrCat("pbl/", device_id);
}
inline std::string PartialBlob(absl::string_view device_id, absl::string_view blob_id) {
  return absl::StrCat("pbl/", device_id, blob_id);
}

}  // namespace temoin::server::keys

#endif  // TEMOIN_SERVER_CORE_SYNC_KEYS_H_

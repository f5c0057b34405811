#ifndef TEMOIN_CLIENT_CORE_ATTACHMENTS_H_
#define TEMOIN_CLIENT_CORE_ATTACHMENTS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client/vault/vault.h"
#include "crypto/attachment_stream.h"
#include "temoin/v1/record.pb.h"
#include "temoin/v1/testimony.pb.h"

// Attachments on the device, encrypted at record time (crypto/attachment_stream.h) and
// kept in the vault as slices of their ciphertext stream, uploaded in pieces:
//   attach/<blob_id><index be64>   one slice (kUploadChunkBytes, the last shorter)
//   attachpending/<blob_id>        PendingAttachment, until the record is stored
// The key and the file's name, type and size go into the sealed Testimony; the header
// gets blob id, ciphertext size and BLAKE2b-256 of the ciphertext stream.
namespace temoin::client {

inline constexpr char kAttachNs[] = "attach";
inline constexpr char kAttachPendingNs[] = "attachpending";
inline constexpr uint64_t kUploadChunkBytes =
    crypto::kAttachmentChunkBytes + crypto::kAttachmentChunkOverhead;
// The upload unit: an eighth of a slice (8 KiB + 3 B; a slice's last piece 8,188 B).
// A slice is 52 s of air time at 10 kbit/s and a 2G connection rarely carries one
// whole after its handshake; the server keeps each acknowledged piece, and a gRPC
// message lands only whole, so a cut wastes the part of the piece already on the air
// (half a piece on average). Per piece: ~90 B of framing up as measured on the wire
// (TLS record, HTTP/2 frame, gRPC prefix, index and offset; the ids go only with a
// blob's first piece in a stream), an answer down only every few pieces, and one
// synced write on the server. Sixteenths (4 KiB) measured no faster at 256 kbit/s with
// a cut every ~64 KiB (0.89 against 0.885 of the link), with 40 KB more framing up
// and 33 KB more answers down for 5 MB (docs/BENCHMARKS.md).
inline constexpr uint64_t kUploadPieceBytes = (kUploadChunkBytes + 7) / 8;

struct PreparedAttachment {
  v1::AttachmentInfo info;  // holds the key: wipe once sealed
  v1::AttachmentRef ref;
};

uint64_t SliceCount(uint64_t ciphertext_size);
// The bytes of slice `index` (the last may be shorter).
uint64_t SliceSize(uint64_t ciphertext_size, uint64_t index);
std::string SliceName(absl::string_view blob_id, uint64_t index);

// Encrypts the file at `path` into the vault (slices durably written in groups, after a
// pending marker). kNotFound / kInvalidArgument when the file cannot be read or is
// over `max_bytes`. The caller stores the record and deletes the marker in one commit
// (see SealTestimonies); CollectOrphanAttachments removes what a crash left behind.
// A JPEG loses its EXIF/XMP/IPTC metadata first (in memory) unless `keep_metadata`;
// kInvalidArgument when it is not well-formed enough to strip.
absl::StatusOr<PreparedAttachment> StoreAttachmentFile(Vault& vault, const std::string& path,
                                                       uint64_t max_bytes, bool keep_metadata);

// A file the person picked, already in memory (the desk's file picker): no copy of it
// is ever written to disk in clear.
struct InMemoryAttachment {
  std::string file_name;  // as given; sanitised when stored
  std::string bytes;      // the caller wipes it
};

// StoreAttachmentFile for bytes in memory: the same limit, the same JPEG stripping (in
// memory), the same encryption into the vault. The stripped copy is wiped here.
absl::StatusOr<PreparedAttachment> StoreAttachmentBytes(Vault& vault,
                                                        const InMemoryAttachment& attachment,
                                                        uint64_t max_bytes, bool keep_metadata);

// Slice `index` of blob `blob_id`; std::nullopt when absent.
absl::StatusOr<std::optional<std::string>> LoadSlice(Vault& vault, absl::string_view blob_id,
                                                     uint64_t index);

// Deletes every slice of a blob of `ciphertext_size` bytes.
void DeleteSlices(VaultBatch& batch, absl::string_view blob_id, uint64_t ciphertext_size);

// Slices of attachments whose record was never stored (a crash mid-record).
absl::Status CollectOrphanAttachments(Vault& vault);

// A media type from the file name's extension; application/octet-stream otherwise.
std::string GuessMediaType(absl::string_view file_name);

// A file name safe to create in a directory: the last path component, with path
// separators, control characters and leading dots replaced; "attachment" when
// nothing is left. Never "." or "..".
std::string SanitizeFileName(absl::string_view name);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_ATTACHMENTS_H_

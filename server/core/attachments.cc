#include "server/core/attachments.h"

#include <sodium.h>

#include <algorithm>

#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "server/core/admin_ops.h"
#include "server/core/sync_keys.h"

namespace temoin::server {
namespace {

constexpr absl::string_view kUnknownBlob = "attachment blob_id is not expected from this device";

absl::StatusOr<std::optional<v1::StoredBlob>> LoadBlob(Store& store, absl::string_view device_id,
                                                       absl::string_view blob_id) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> value,
                          store.Get(keys::Blob(device_id, blob_id)));
  if (!value.has_value()) return std::nullopt;
  v1::StoredBlob blob;
  if (!blob.ParseFromString(*value)) {
    return absl::DataLossError("stored value does not parse: StoredBlob");
  }
  return blob;
}

// A byte counter (u64 be); 0 when absent or unreadable.
uint64_t LoadCounter(Store& store, const std::string& key) {
  absl::StatusOr<std::optional<std::string>> value = store.Get(key);
  return value.ok() && value->has_value() && (*value)->size() == 8 ? DecodeU64BigEndian(**value)
                                                                   : 0;
}

// The partial-upload budgets, server-wide and of one device, as they are in the store.
struct Budgets {
  uint64_t server = 0;
  uint64_t device = 0;
};

Budgets LoadBudgets(Store& store, absl::string_view device_id) {
  return {LoadCounter(store, keys::PartialBytes()),
          LoadCounter(store, keys::DevicePartialBytes(device_id))};
}

// Writes `budgets` with `released` bytes given back (saturating: counters from before
// per-device budgets may hold less than the blobs they now release).
void PutBudgetsReleased(WriteBatch& batch, absl::string_view device_id, Budgets budgets,
                        uint64_t released) {
  batch.Put(keys::PartialBytes(),
            EncodeU64BigEndian(budgets.server - std::min(budgets.server, released)));
  batch.Put(keys::DevicePartialBytes(device_id),
            EncodeU64BigEndian(budgets.device - std::min(budgets.device, released)));
}

// Deletes every piece row of `blob_id` in `batch`.
absl::Status DeletePieces(Store& store, absl::string_view device_id, absl::string_view blob_id,
                          WriteBatch& batch) {
  return store.Scan(keys::PiecePrefix(device_id, blob_id), "",
                    [&](absl::string_view key, absl::string_view) {
                      batch.Delete(key);
                      return true;
                    });
}

// Adds to `batch` the drop of an incomplete blob's held bytes: its slices and pieces
// are deleted, it is expected again from byte zero, its pbl/ row goes and its bytes
// return to both budgets. Returns the bytes released.
absl::StatusOr<uint64_t> AddDropOfPartial(Store& store, absl::string_view device_id,
                                          absl::string_view blob_id, const Budgets& budgets,
                                          v1::StoredBlob& blob, WriteBatch& batch) {
  for (uint64_t i = 0; i < blob.next_index(); ++i) batch.Delete(keys::Chunk(device_id, blob_id, i));
  TEMOIN_RETURN_IF_ERROR(DeletePieces(store, device_id, blob_id, batch));
  const uint64_t released = blob.bytes_received();
  blob.set_next_index(0);
  blob.set_next_offset(0);
  blob.set_bytes_received(0);
  batch.Put(keys::Blob(device_id, blob_id), blob.SerializeAsString());
  batch.Delete(keys::PartialBlob(device_id, blob_id));
  PutBudgetsReleased(batch, device_id, budgets, released);
  return released;
}

// Every piece, expiry and release of a partial upload is one read-modify-write of the
// blob's rows and of the server-wide partial-bytes budget, under this store lock: with
// PostgreSQL it holds across every front-end, where a mutex of this process would let
// two front-ends taking pieces of one blob count the same bytes twice.
constexpr absl::string_view kPartialsLock = "attachments";

absl::Status CheckBudgets(const Budgets& budgets, uint64_t added, const IngestLimits& limits) {
  if (budgets.device + added > limits.max_partial_bytes_per_device) {
    return absl::ResourceExhaustedError(
        "this device holds too many unfinished attachments; finish them first");
  }
  if (budgets.server + added > limits.max_partial_bytes) {
    return absl::ResourceExhaustedError(
        "the server holds too many unfinished attachments; try again later");
  }
  return absl::OkStatus();
}

// A piece for a slice already whole: a retry after a cut, harmless when identical.
absl::Status CheckRepeatOfWholeSlice(Store& store, absl::string_view device_id,
                                     const v1::AttachmentChunk& chunk) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                          store.Get(keys::Chunk(device_id, chunk.blob_id(), chunk.index())));
  const uint64_t end = chunk.offset() + chunk.data().size();
  if (!stored.has_value() || end > stored->size() ||
      absl::string_view(*stored).substr(chunk.offset(), chunk.data().size()) != chunk.data()) {
    return absl::FailedPreconditionError("attachment chunk differs from the stored one");
  }
  return absl::OkStatus();
}

// Where a piece of the slice being filled falls against what its blob holds.
struct PiecePlace {
  uint64_t held = 0;         // bytes of this slice already in piece rows
  uint64_t added = 0;        // bytes past them that the piece brings
  bool slice_whole = false;  // the piece completes its slice
  bool last = false;         // ... and that slice is the blob's last
};

absl::StatusOr<PiecePlace> PlacePiece(const v1::StoredBlob& blob,
                                      const v1::AttachmentChunk& chunk) {
  PiecePlace place;
  place.held = blob.next_offset();
  const uint64_t end = chunk.offset() + chunk.data().size();
  if (chunk.index() > blob.next_index() || chunk.offset() > place.held) {
    return absl::FailedPreconditionError("attachment chunk is out of order");
  }
  // Slices before this one are all whole, so this one starts at index * slice size.
  const uint64_t slice_start = chunk.index() * kUploadChunkBytes;
  if (slice_start + end > blob.size()) {
    return absl::InvalidArgumentError("attachment is larger than its declared size");
  }
  if (end > kUploadChunkBytes) {
    return absl::InvalidArgumentError("attachment chunk overruns its slice");
  }
  const uint64_t slice_size = std::min(kUploadChunkBytes, blob.size() - slice_start);
  place.added = end > place.held ? end - place.held : 0;
  place.slice_whole = place.held + place.added == slice_size;
  place.last = place.slice_whole && slice_start + slice_size == blob.size();
  return place;
}

// The slice's bytes held in piece rows; what the piece repeats of them must be
// identical (a retry after a cut, or a client before pieces sending the slice again).
absl::StatusOr<std::string> ReadHeldBytes(Store& store, absl::string_view device_id,
                                          const v1::AttachmentChunk& chunk, uint64_t held) {
  std::string held_bytes;
  TEMOIN_RETURN_IF_ERROR(store.Scan(keys::PiecePrefix(device_id, chunk.blob_id()), "",
                                    [&](absl::string_view, absl::string_view value) {
                                      held_bytes.append(value.data(), value.size());
                                      return true;
                                    }));
  if (held_bytes.size() != held) {
    return absl::DataLossError("stored attachment pieces do not add up to their offset");
  }
  const uint64_t overlap = std::min<uint64_t>(held - chunk.offset(), chunk.data().size());
  if (absl::string_view(held_bytes).substr(chunk.offset(), overlap) !=
      absl::string_view(chunk.data()).substr(0, overlap)) {
    return absl::FailedPreconditionError("attachment chunk differs from the stored one");
  }
  return held_bytes;
}

// Whether the whole slices stored and `last_slice` hash to the header's ciphertext hash:
// verified before the piece that completes the blob is acknowledged.
absl::StatusOr<bool> HashMatches(Store& store, absl::string_view device_id,
                                 absl::string_view blob_id, const v1::StoredBlob& blob,
                                 absl::string_view last_slice) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, crypto_generichash_BYTES);
  TEMOIN_RETURN_IF_ERROR(store.Scan(
      keys::ChunkPrefix(device_id, blob_id), "", [&](absl::string_view, absl::string_view value) {
        crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(value.data()),
                                  value.size());
        return true;
      }));
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(last_slice.data()),
                            last_slice.size());
  std::string hash(crypto_generichash_BYTES, '\0');
  crypto_generichash_final(&state, reinterpret_cast<unsigned char*>(hash.data()), hash.size());
  return hash.size() == blob.ciphertext_hash().size() &&
         sodium_memcmp(hash.data(), blob.ciphertext_hash().data(), hash.size()) == 0;
}

// Adds the piece's rows to `batch`: the slice promoted to one row when the piece makes
// it whole (as Fetch and the hash check read it), else a row of its own.
absl::Status AddPieceRows(Store& store, absl::string_view device_id,
                          const v1::AttachmentChunk& chunk, const PiecePlace& place,
                          absl::string_view fresh, const std::string& whole_slice,
                          v1::StoredBlob& blob, WriteBatch& batch) {
  if (place.slice_whole) {
    TEMOIN_RETURN_IF_ERROR(DeletePieces(store, device_id, chunk.blob_id(), batch));
    batch.Put(keys::Chunk(device_id, chunk.blob_id(), chunk.index()), whole_slice);
    blob.set_next_index(blob.next_index() + 1);
    blob.set_next_offset(0);
  } else {
    batch.Put(keys::Piece(device_id, chunk.blob_id(), place.held), fresh);
    blob.set_next_offset(static_cast<uint32_t>(place.held + place.added));
  }
  blob.set_bytes_received(blob.bytes_received() + place.added);
  batch.Put(keys::Blob(device_id, chunk.blob_id()), blob.SerializeAsString());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::BlobStatus> Attachments::StatusOf(absl::string_view blob_id,
                                                     const v1::StoredBlob& blob) {
  v1::BlobStatus status;
  status.set_blob_id(std::string(blob_id));
  status.set_record_id(blob.record_id());
  status.set_next_index(blob.next_index());
  status.set_next_offset(blob.next_offset());
  status.set_complete(blob.complete());
  if (blob.complete()) {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::Receipt> receipt,
                            ingest_->PromoteIfComplete(blob.device_id(), blob.record_id()));
    if (!receipt.has_value()) {
      TEMOIN_ASSIGN_OR_RETURN(auto stored, registry_->Record(blob.device_id(), blob.record_id()));
      if (stored.has_value()) receipt = stored->receipt();
    }
    if (receipt.has_value()) *status.mutable_receipt() = *receipt;
  }
  return status;
}

absl::StatusOr<v1::QueryAttachmentsResponse> Attachments::Query(
    const Session& session, const v1::QueryAttachmentsRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_MONITOR));
  if (req.blob_ids_size() > 4096) {
    return absl::ResourceExhaustedError("too many blob ids in one query (limit 4096)");
  }
  v1::QueryAttachmentsResponse response;
  for (const std::string& blob_id : req.blob_ids()) {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredBlob> blob,
                            LoadBlob(registry_->store(), session.device_id(), blob_id));
    if (!blob.has_value() || blob->device_id() != session.device_id()) {
      v1::BlobStatus* status = response.add_blobs();
      status->set_blob_id(blob_id);
      status->set_code(static_cast<int32_t>(absl::StatusCode::kNotFound));
      status->set_message(std::string(kUnknownBlob));
      continue;
    }
    TEMOIN_ASSIGN_OR_RETURN(*response.add_blobs(), StatusOf(blob_id, *blob));
  }
  return response;
}

absl::StatusOr<v1::BlobStatus> Attachments::UploadChunk(const Session& session,
                                                        const v1::AttachmentChunk& chunk) {
  metrics_->CountBytesIn(chunk.data().size());
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_MONITOR));
  ExpireStalePartialsIfDue(clock_->NowSeconds());
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> device,
                          registry_->Device(session.device_id()));
  if (!device.has_value()) return absl::UnauthenticatedError("session token is not valid");
  if (device->revoked()) return absl::PermissionDeniedError("device has been revoked");
  TEMOIN_RETURN_IF_ERROR(ChargeNewBytes(session.device_id(), chunk));
  PieceOutcome outcome;
  TEMOIN_RETURN_IF_ERROR(registry_->store().CommitLocked(
      kPartialsLock, [&] { return TakePiece(session.device_id(), chunk, outcome); }));
  TEMOIN_RETURN_IF_ERROR(outcome.refusal);
  if (outcome.stored) metrics_->CountAttachmentPiece();
  // After the lock: completing a blob may promote its record into the log.
  return StatusOf(chunk.blob_id(), outcome.blob);
}

// The daily upload quota is a store counter (Store::AddToCounter), which a locked builder
// must not touch, so a piece is charged before the lock for the bytes it brings past what
// its blob held then. A piece that races one of another front-end may thus be charged
// for bytes it then only repeats; a piece for a blob this device cannot upload is not
// charged, nor one that TakePiece will refuse as misplaced.
absl::Status Attachments::ChargeNewBytes(absl::string_view device_id,
                                         const v1::AttachmentChunk& chunk) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredBlob> blob,
                          LoadBlob(registry_->store(), device_id, chunk.blob_id()));
  if (!blob.has_value() || blob->device_id() != device_id ||
      blob->record_id() != chunk.record_id() || chunk.index() < blob->next_index()) {
    return absl::OkStatus();
  }
  absl::StatusOr<PiecePlace> place = PlacePiece(*blob, chunk);  // refused under the lock
  if (!place.ok() || place->added == 0) return absl::OkStatus();
  return ingest_->rate_limiter().AdmitBytes(device_id, place->added);
}

absl::StatusOr<WriteBatch> Attachments::TakePiece(absl::string_view device_id,
                                                  const v1::AttachmentChunk& chunk,
                                                  PieceOutcome& outcome) {
  Store& store = registry_->store();
  // Blobs live in their device's namespace.
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredBlob> blob,
                          LoadBlob(store, device_id, chunk.blob_id()));
  if (!blob.has_value() || blob->device_id() != device_id ||
      blob->record_id() != chunk.record_id()) {
    return absl::NotFoundError(kUnknownBlob);
  }
  if (chunk.data().empty()) {
    return absl::InvalidArgumentError("attachment chunk has the wrong size");
  }
  outcome.blob = *std::move(blob);
  if (chunk.index() < outcome.blob.next_index()) {
    TEMOIN_RETURN_IF_ERROR(CheckRepeatOfWholeSlice(store, device_id, chunk));
    return WriteBatch();
  }
  TEMOIN_ASSIGN_OR_RETURN(const PiecePlace place, PlacePiece(outcome.blob, chunk));
  std::string held_bytes;
  if (chunk.offset() < place.held || place.slice_whole) {
    TEMOIN_ASSIGN_OR_RETURN(held_bytes, ReadHeldBytes(store, device_id, chunk, place.held));
  }
  if (place.added == 0) return WriteBatch();  // a repeat of held bytes
  const Budgets budgets = LoadBudgets(store, device_id);
  // The piece that completes a blob releases bytes, so it is always taken.
  if (!place.last) TEMOIN_RETURN_IF_ERROR(CheckBudgets(budgets, place.added, ingest_->limits()));
  const absl::string_view fresh =
      absl::string_view(chunk.data()).substr(chunk.data().size() - place.added);
  if (place.slice_whole) held_bytes.append(fresh.data(), fresh.size());
  WriteBatch batch;
  if (place.last) {
    TEMOIN_ASSIGN_OR_RETURN(const bool intact, HashMatches(store, device_id, chunk.blob_id(),
                                                           outcome.blob, held_bytes));
    if (!intact) {
      // A wrong hash leaves nothing of the blob behind: it restarts from zero.
      TEMOIN_RETURN_IF_ERROR(
          AddDropOfPartial(store, device_id, chunk.blob_id(), budgets, outcome.blob, batch)
              .status());
      outcome.refusal = absl::DataLossError("attachment hash does not match its header");
      return batch;
    }
    outcome.blob.set_complete(true);
    batch.Delete(keys::PartialBlob(device_id, chunk.blob_id()));
    PutBudgetsReleased(batch, device_id, budgets, outcome.blob.bytes_received());
  } else {
    batch.Put(keys::PartialBytes(), EncodeU64BigEndian(budgets.server + place.added));
    batch.Put(keys::DevicePartialBytes(device_id),
              EncodeU64BigEndian(budgets.device + place.added));
    // When it last took a byte: what ExpireStalePartials measures staleness from.
    batch.Put(keys::PartialBlob(device_id, chunk.blob_id()),
              EncodeU64BigEndian(static_cast<uint64_t>(clock_->NowSeconds())));
  }
  TEMOIN_RETURN_IF_ERROR(
      AddPieceRows(store, device_id, chunk, place, fresh, held_bytes, outcome.blob, batch));
  outcome.stored = true;
  return batch;
}

absl::StatusOr<std::string> Attachments::OpenFetch(const Session& session,
                                                   const v1::FetchAttachmentRequest& req,
                                                   bool audit) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_REVIEWER));
  const absl::Status not_found =
      absl::NotFoundError("record not found among the projects granted to this device");
  // The request names a record by id; the blob is the one of that id's record, in a
  // granted project, that declared it (ids are per device: normally there is one).
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::StoredRecord> records,
                          registry_->RecordsWithId(req.record_id()));
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> granted,
                          registry_->GrantedProjects(session.device_id()));
  for (const v1::StoredRecord& record : records) {
    if (std::find(granted.begin(), granted.end(), record.project()) == granted.end()) continue;
    TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredBlob> blob,
                            LoadBlob(registry_->store(), record.device_id(), req.blob_id()));
    if (!blob.has_value() || blob->record_id() != req.record_id() || !blob->complete()) continue;
    // No download without an audit entry, as for records: durable before any byte goes.
    if (audit) {
      TEMOIN_RETURN_IF_ERROR(audit_->CommitWith(
          WriteBatch(),
          {{session.device_id(), "attachment.fetch", req.record_id(), record.project()}}));
    }
    return record.device_id();
  }
  return not_found;
}

absl::Status Attachments::ReadSlices(absl::string_view device_id,
                                     const v1::FetchAttachmentRequest& req, uint64_t from_index,
                                     const std::function<bool(const v1::AttachmentChunk&)>& emit) {
  std::string start = from_index == 0 ? "" : keys::Chunk(device_id, req.blob_id(), from_index - 1);
  const std::string prefix = keys::ChunkPrefix(device_id, req.blob_id());
  return registry_->store().Scan(prefix, start,
                                 [&](absl::string_view key, absl::string_view value) {
                                   v1::AttachmentChunk chunk;
                                   chunk.set_record_id(req.record_id());
                                   chunk.set_blob_id(req.blob_id());
                                   chunk.set_index(DecodeU64BigEndian(key.substr(prefix.size())));
                                   chunk.set_data(std::string(value));
                                   return emit(chunk);
                                 });
}

absl::Status Attachments::Fetch(const Session& session, const v1::FetchAttachmentRequest& req,
                                const std::function<bool(const v1::AttachmentChunk&)>& emit) {
  TEMOIN_ASSIGN_OR_RETURN(std::string device_id, OpenFetch(session, req, /*audit=*/true));
  return ReadSlices(device_id, req, req.from_index(), [&](const v1::AttachmentChunk& chunk) {
    metrics_->CountBytesOut(chunk.data().size());
    return emit(chunk);
  });
}

absl::StatusOr<uint64_t> Attachments::DropPartial(absl::string_view device_id,
                                                  absl::string_view blob_id,
                                                  std::optional<int64_t> untouched_since) {
  Store& store = registry_->store();
  uint64_t released = 0;
  TEMOIN_RETURN_IF_ERROR(store.CommitLocked(kPartialsLock, [&]() -> absl::StatusOr<WriteBatch> {
    WriteBatch batch;
    if (untouched_since.has_value()) {
      // Another front-end may have taken a piece since the caller looked.
      TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> touched,
                              store.Get(keys::PartialBlob(device_id, blob_id)));
      if (touched.has_value() && touched->size() == 8 &&
          static_cast<int64_t>(DecodeU64BigEndian(*touched)) > *untouched_since) {
        return batch;
      }
    }
    TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredBlob> blob,
                            LoadBlob(store, device_id, blob_id));
    const Budgets budgets = LoadBudgets(store, device_id);
    if (blob.has_value() && !blob->complete()) {
      TEMOIN_ASSIGN_OR_RETURN(released,
                              AddDropOfPartial(store, device_id, blob_id, budgets, *blob, batch));
    } else {
      batch.Delete(keys::PartialBlob(device_id, blob_id));
      PutBudgetsReleased(batch, device_id, budgets, 0);
    }
    return batch;
  }));
  return released;
}

absl::StatusOr<uint64_t> Attachments::ExpireStalePartials(int64_t now) {
  std::lock_guard lock(expiry_mu_);
  return ExpireStalePartialsLocked(now);
}

void Attachments::ExpireStalePartialsIfDue(int64_t now) {
  std::lock_guard lock(expiry_mu_);
  if (now < next_expiry_at_) return;
  next_expiry_at_ = now + kExpiryIntervalSeconds;
  // An upload must not fail for the housekeeping it triggered; the next run retries.
  ExpireStalePartialsLocked(now).IgnoreError();
}

absl::StatusOr<uint64_t> Attachments::ExpireStalePartialsLocked(int64_t now) {
  const std::string prefix = keys::PartialBlobPrefix();
  struct Entry {
    std::string device_id, blob_id;
    int64_t touched_at;
  };
  std::vector<Entry> entries;
  TEMOIN_RETURN_IF_ERROR(
      registry_->store().Scan(prefix, "", [&](absl::string_view key, absl::string_view value) {
        absl::string_view ids = key.substr(prefix.size());
        if (ids.size() <= crypto::kDeviceIdBytes || value.size() != 8) return true;
        entries.push_back({std::string(ids.substr(0, crypto::kDeviceIdBytes)),
                           std::string(ids.substr(crypto::kDeviceIdBytes)),
                           static_cast<int64_t>(DecodeU64BigEndian(value))});
        return true;
      }));
  const int64_t ttl = ingest_->limits().partial_upload_ttl_seconds;
  uint64_t released = 0;
  for (const Entry& entry : entries) {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> device,
                            registry_->Device(entry.device_id));
    const bool gone = !device.has_value() || device->revoked();
    if (!gone && entry.touched_at + ttl > now) continue;
    TEMOIN_ASSIGN_OR_RETURN(uint64_t bytes,
                            DropPartial(entry.device_id, entry.blob_id,
                                        gone ? std::nullopt : std::optional<int64_t>(now - ttl)));
    released += bytes;
  }
  return released;
}

absl::StatusOr<uint64_t> Attachments::ReleaseDevice(absl::string_view device_id) {
  if (device_id.size() != crypto::kDeviceIdBytes) {
    return absl::InvalidArgumentError("device id has wrong length");
  }
  const std::string prefix = keys::PartialBlobPrefix(device_id);
  std::vector<std::string> blob_ids;
  TEMOIN_RETURN_IF_ERROR(
      registry_->store().Scan(prefix, "", [&](absl::string_view key, absl::string_view) {
        blob_ids.emplace_back(key.substr(prefix.size()));
        return true;
      }));
  uint64_t released = 0;
  for (const std::string& blob_id : blob_ids) {
    TEMOIN_ASSIGN_OR_RETURN(uint64_t bytes, DropPartial(device_id, blob_id, std::nullopt));
    released += bytes;
  }
  return released;
}

}  // namespace temoin::server

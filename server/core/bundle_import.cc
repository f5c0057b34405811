#include "server/core/bundle_import.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "server/core/sync_keys.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace temoin::server {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// Field numbers of v1::Bundle and v1::BundleBlob (sync.proto), read by hand so that
// neither is ever held whole.
constexpr int kBundleDeviceId = 1, kBundleRecord = 2, kBundleBlob = 3;
constexpr int kBlobRecordId = 1, kBlobId = 2, kBlobChunk = 3;

constexpr uint32_t kMaxIdBytes = 64;
// The largest envelope a device can make: a 1 MiB body, a 16 KiB header, signatures.
constexpr uint32_t kMaxEnvelopeBytes = 2 << 20;
constexpr uint32_t kMaxChunkBytes =
    crypto::kAttachmentChunkBytes + crypto::kAttachmentChunkOverhead;
// A batch of relayed records is handed to ingest at this size, whichever comes first
// with the ingest's own record limit.
constexpr size_t kMaxPendingBytes = 4 << 20;

absl::Status NotABundle(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("not a temoin bundle: ", why));
}

// Reads the length of a length-delimited field; false if malformed or over `max_bytes`.
bool ReadLength(CodedInputStream& in, uint32_t max_bytes, uint32_t* length) {
  return in.ReadVarint32(length) && *length <= max_bytes;
}

bool ReadBytes(CodedInputStream& in, uint32_t max_bytes, std::string* out) {
  uint32_t length = 0;
  return ReadLength(in, max_bytes, &length) && in.ReadString(out, static_cast<int>(length));
}

// The second pass: the plaintext of an authenticated bundle, taken field by field.
class BundleImporter {
 public:
  explicit BundleImporter(Core& core) : core_(core) {}

  absl::Status Run(google::protobuf::io::ZeroCopyInputStream& plaintext) {
    CodedInputStream in(&plaintext);
    while (const uint32_t tag = in.ReadTag()) {
      if (WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        if (!WireFormatLite::SkipField(&in, tag)) return NotABundle("malformed field");
        continue;
      }
      switch (WireFormatLite::GetTagFieldNumber(tag)) {
        case kBundleDeviceId:
          TEMOIN_RETURN_IF_ERROR(TakeDevice(in));
          break;
        case kBundleRecord:
          TEMOIN_RETURN_IF_ERROR(TakeRecord(in));
          break;
        case kBundleBlob:
          TEMOIN_RETURN_IF_ERROR(TakeBlob(in));
          break;
        default:
          if (!WireFormatLite::SkipField(&in, tag)) return NotABundle("malformed field");
      }
    }
    if (!in.ConsumedEntireMessage()) return NotABundle("malformed field");
    return HandOverRecords();
  }

  BundleImportReport TakeReport() { return std::move(report_); }

 private:
  // The records speak for the device that signed them, whoever carried the file.
  absl::Status TakeDevice(CodedInputStream& in) {
    std::string device_id;
    if (session_.has_value() || !ReadBytes(in, kMaxIdBytes, &device_id)) {
      return NotABundle("device id");
    }
    TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> device,
                            core_.registry().Device(device_id));
    if (!device.has_value()) {
      return absl::PermissionDeniedError("bundle comes from a device this server does not know");
    }
    if (device->revoked()) return absl::PermissionDeniedError("device has been revoked");
    session_ = Session{*device};
    return absl::OkStatus();
  }

  absl::Status TakeRecord(CodedInputStream& in) {
    uint32_t length = 0;
    if (!session_.has_value()) return NotABundle("records before the device id");
    if (!ReadLength(in, kMaxEnvelopeBytes, &length)) return NotABundle("record too large");
    const CodedInputStream::Limit limit = in.PushLimit(static_cast<int>(length));
    v1::Envelope* record = pending_.Add();
    if (!record->MergeFromCodedStream(&in) || !in.ConsumedEntireMessage()) {
      return NotABundle("malformed record");
    }
    in.PopLimit(limit);
    pending_bytes_ += length;
    if (pending_.size() >= static_cast<int>(core_.ingest().limits().max_records_per_batch) ||
        pending_bytes_ >= kMaxPendingBytes) {
      return HandOverRecords();
    }
    return absl::OkStatus();
  }

  // Runs the pending records through ingest as the device that signed them. A record
  // already in before this import answers with its earlier receipt (a duplicate).
  absl::Status HandOverRecords() {
    if (pending_.empty()) return absl::OkStatus();
    TEMOIN_ASSIGN_OR_RETURN(std::vector<bool> known, AlreadyStored(pending_));
    TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::RecordResult> results,
                            core_.ingest().UploadBatch(*session_, pending_, nullptr,
                                                       /*relayed=*/true));
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].code() != 0) {
        Refuse(absl::StrCat("record ", ToHex(results[i].record_id()), ": ", results[i].message()));
      } else if (known[i]) {
        ++report_.duplicates;
      } else {
        ++report_.records;
      }
    }
    pending_.Clear();
    pending_bytes_ = 0;
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<bool>> AlreadyStored(
      const google::protobuf::RepeatedPtrField<v1::Envelope>& records) {
    std::vector<bool> known(records.size());
    for (int i = 0; i < records.size(); ++i) {
      v1::RecordHeader header;
      if (!header.ParseFromString(records[i].header())) continue;
      TEMOIN_ASSIGN_OR_RETURN(auto stored,
                              core_.registry().Record(session_->device_id(), header.record_id()));
      // A record still waiting for its attachments is known too (fuzzing, finding 1).
      TEMOIN_ASSIGN_OR_RETURN(
          auto pending, core_.registry().store().Get(
                            keys::PendingRecord(session_->device_id(), header.record_id())));
      known[i] = stored.has_value() || pending.has_value();
    }
    return known;
  }

  // One attachment: its ids, then its pieces, each handed to the attachment store as it
  // is read. A piece refused ends that attachment (the rest is skipped), not the bundle.
  absl::Status TakeBlob(CodedInputStream& in) {
    uint32_t length = 0;
    if (!session_.has_value()) return NotABundle("attachments before the device id");
    TEMOIN_RETURN_IF_ERROR(HandOverRecords());  // a blob's record must be in first
    if (!ReadLength(in, kMaxBundleBytes, &length)) return NotABundle("attachment");
    const CodedInputStream::Limit limit = in.PushLimit(static_cast<int>(length));
    v1::AttachmentChunk chunk;
    bool refused = false;
    while (const uint32_t tag = in.ReadTag()) {
      const int field = WireFormatLite::GetTagFieldNumber(tag);
      const bool ok = field == kBlobRecordId ? ReadBytes(in, kMaxIdBytes, chunk.mutable_record_id())
                      : field == kBlobId     ? ReadBytes(in, kMaxIdBytes, chunk.mutable_blob_id())
                      : field == kBlobChunk  ? ReadBytes(in, kMaxChunkBytes, chunk.mutable_data())
                                             : WireFormatLite::SkipField(&in, tag);
      if (!ok) return NotABundle("attachment");
      if (field != kBlobChunk || refused) continue;
      if (chunk.record_id().empty() || chunk.blob_id().empty()) {
        return NotABundle("attachment pieces before its ids");
      }
      refused = !TakePiece(chunk);
      chunk.set_index(chunk.index() + 1);
    }
    if (!in.ConsumedEntireMessage()) return NotABundle("attachment");
    in.PopLimit(limit);
    return absl::OkStatus();
  }

  bool TakePiece(const v1::AttachmentChunk& chunk) {
    absl::StatusOr<v1::BlobStatus> status = core_.attachments().UploadChunk(*session_, chunk);
    if (status.ok()) return true;
    Refuse(absl::StrCat("attachment of record ", ToHex(chunk.record_id()), ": ",
                        status.status().message()));
    return false;
  }

  void Refuse(std::string reason) {
    ++report_.refused;
    report_.refusals.push_back(std::move(reason));
  }

  Core& core_;
  std::optional<Session> session_;
  google::protobuf::RepeatedPtrField<v1::Envelope> pending_;
  size_t pending_bytes_ = 0;
  BundleImportReport report_;
};

// The first pass: every chunk of the sealed stream authenticates, to its final tag.
absl::Status AuthenticateWhole(const BundleSource& source, const crypto::BoxKeyPair& key) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<DecryptingBundleStream> plaintext,
                          OpenSealedBundle(source, key));
  absl::Status whole = plaintext->Drain();
  if (whole.ok()) return whole;
  if (absl::IsUnauthenticated(whole)) {
    return absl::UnauthenticatedError("bundle does not open with this server's key");
  }
  return NotABundle(whole.message());
}

}  // namespace

absl::StatusOr<BundleImportReport> ImportBundle(Core& core, const BundleSource& source) {
  if (!core.bundle_key().has_value()) {
    return absl::FailedPreconditionError("this server has no bundle key");
  }
  TEMOIN_RETURN_IF_ERROR(AuthenticateWhole(source, *core.bundle_key()));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<DecryptingBundleStream> plaintext,
                          OpenSealedBundle(source, *core.bundle_key()));
  BundleImporter importer(core);
  TEMOIN_RETURN_IF_ERROR(importer.Run(*plaintext));
  return importer.TakeReport();
}

absl::StatusOr<BundleImportReport> ImportBundle(Core& core, absl::string_view file) {
  return ImportBundle(core, StringBundleSource(file));
}

}  // namespace temoin::server

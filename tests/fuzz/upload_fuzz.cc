// The server core's upload and commit entry points (server/core/ingest.h) fed random
// batches from a signed-in monitor. Input: mode byte || serialized v1::UploadRequest.
// Mode bit 0: every record is signed again with the monitor's key (a hostile device
// signs what it likes), so validation past the signature is reached; bit 1: the
// batch's commitments are sent first; bit 2: the records' own commitments are too.
// Every input runs on a fresh world; the batch is sent twice, and the second answer
// must give each stored record the same receipt (dedup).
#include <cstddef>
#include <cstdint>

#include "crypto/envelope.h"
#include "server/core/ingest.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/fuzz_world.h"

namespace temoin::fuzz {
namespace {

std::vector<std::string> Seeds() {
  std::unique_ptr<FuzzWorld> world = FuzzWorld::Create();
  v1::UploadRequest plain, with_blob, committed;
  *plain.add_records() = world->Seal(1);
  *plain.add_records() = world->Seal(2);
  *with_blob.add_records() = world->Seal(3, {MakeFixedBlob(1000, 9).ref});
  *committed.add_commitments() = crypto::MakeCommitment(world->Seal(4));
  *committed.add_records() = world->Seal(5);
  return {std::string(1, '\0') + plain.SerializeAsString(),
          std::string(1, '\1') + with_blob.SerializeAsString(),
          std::string(1, '\2') + committed.SerializeAsString(),
          std::string(1, '\5') + plain.SerializeAsString()};
}

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace
}  // namespace temoin::fuzz

TEMOIN_FUZZ_SEEDS(temoin::fuzz::Seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace temoin;
  if (size < 1) return 0;
  v1::UploadRequest request;
  if (!request.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  std::unique_ptr<fuzz::FuzzWorld> world = fuzz::FuzzWorld::Create();
  if (data[0] & 1) {
    for (v1::Envelope& record : *request.mutable_records()) world->Resign(record);
  }
  if (data[0] & 4) {
    for (const v1::Envelope& record : request.records()) {
      *request.add_commitments() = crypto::MakeCommitment(record);
    }
  }
  server::Ingest& ingest = world->core().ingest();
  if (data[0] & 2) {
    absl::StatusOr<std::vector<v1::RecordResult>> committed =
        ingest.CommitBatch(world->monitor_session(), request.commitments());
    if (committed.ok())
      fuzz::Check(committed->size() == static_cast<size_t>(request.commitments_size()));
  }
  absl::StatusOr<std::vector<v1::RecordResult>> first =
      ingest.UploadBatch(world->monitor_session(), request.records());
  if (!first.ok()) return 0;
  fuzz::Check(first->size() == static_cast<size_t>(request.records_size()));
  absl::StatusOr<std::vector<v1::RecordResult>> again =
      ingest.UploadBatch(world->monitor_session(), request.records());
  if (!again.ok()) return 0;  // e.g. the rate limit
  fuzz::Check(again->size() == first->size());
  for (size_t i = 0; i < first->size(); ++i) {
    const v1::RecordResult& a = (*first)[i];
    const v1::RecordResult& b = (*again)[i];
    // A record stored with a receipt is answered with the same receipt body again.
    if (a.code() == 0 && a.has_receipt() && b.code() == 0 && b.has_receipt()) {
      fuzz::Check(a.receipt().body() == b.receipt().body());
    }
  }
  return 0;
}

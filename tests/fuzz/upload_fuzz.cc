// The server core's upload and commit entry points (server/core/ingest.h) fed random
// batches from a signed-in monitor. Input: mode byte || serialized v1::UploadRequest.
// Mode bit 0: every record is signed again with the monitor's key (a hostile device
// signs what it likes), so validation past the signature is reached; bit 1: the
// batch's commitments are sent first; bit 2: the records' own commitments are too;
// bit 3: the batch's commitment_batch is sent twice (Ingest::CommitLeaves), signed
// again with the monitor's key when bit 0 is set too: one result per leaf, fresh
// leaves in range and in order, the compact answer verifies as the device checks it
// (the covered leaves rebuilt under the one signature, every other commitment receipt
// against its own leaf), and the second answer gives each leaf the first's receipt.
// Every input runs on a fresh world; the batch is sent twice, and the second answer
// must give each stored record the same receipt (dedup).
#include <cstddef>
#include <cstdint>

#include "crypto/commitment_batch.h"
#include "crypto/envelope.h"
#include "crypto/receipt.h"
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
  v1::UploadRequest leaves;
  for (int seq : {6, 7, 8}) {
    const v1::Envelope record = world->Seal(seq);
    v1::RecordHeader header;
    header.ParseFromString(record.header());
    v1::CommitmentLeaf& leaf = *leaves.mutable_commitment_batch()->add_leaves();
    leaf.set_record_id(header.record_id());
    leaf.set_digest(crypto::RecordDigest(record));
    leaf.set_device_seq(header.device_seq());
  }
  return {std::string(1, '\0') + plain.SerializeAsString(),
          std::string(1, '\1') + with_blob.SerializeAsString(),
          std::string(1, '\2') + committed.SerializeAsString(),
          std::string(1, '\5') + plain.SerializeAsString(),
          std::string(1, '\x09') + leaves.SerializeAsString()};
}

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

// What the device does with a compact answer (client/sync/commitment_batches.h,
// ApplyCommitmentBatchReceipt): every commitment receipt in it verifies.
void CheckAnswerVerifies(const FuzzWorld& world, const std::vector<v1::CommitmentLeaf>& leaves,
                         const v1::UploadResponse& compact) {
  std::vector<bool> answered(leaves.size(), false);
  for (const v1::RecordResult& result : compact.results()) {
    Check(result.position() < leaves.size() && !answered[result.position()]);
    answered[result.position()] = true;
    const v1::CommitmentLeaf& leaf = leaves[result.position()];
    if (result.code() == 0 && result.has_commitment_receipt()) {
      Check(crypto::VerifyReceipt(result.commitment_receipt(), world.receipt_public_key(),
                                  leaf.record_id(), leaf.digest(), crypto::ReceiptKind::kCommitment)
                .ok());
    }
  }
  std::vector<v1::ReceiptBody> covered;
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (answered[i]) continue;
    v1::ReceiptBody& body = covered.emplace_back();
    body.set_format_version(1);
    body.set_record_id(leaves[i].record_id());
    body.set_digest(leaves[i].digest());
    body.set_received_at(compact.commitment_batch_receipt().received_at());
    body.set_server_key_id(compact.commitment_batch_receipt().server_key_id());
  }
  Check(covered.empty() == !compact.has_commitment_batch_receipt());
  if (covered.empty()) return;
  Check(crypto::VerifyBatchReceipts(covered, compact.commitment_batch_receipt().signature(),
                                    world.receipt_public_key(), crypto::ReceiptKind::kCommitment)
            .ok());
}

void CheckCommitLeaves(const FuzzWorld& world, server::Ingest& ingest, v1::CommitmentBatch batch,
                       bool resign) {
  std::vector<v1::CommitmentLeaf> leaves(batch.leaves().begin(), batch.leaves().end());
  if (resign) batch.set_signature(crypto::SignCommitmentBatch(leaves, world.monitor().signing));
  absl::StatusOr<server::CommittedLeaves> first =
      ingest.CommitLeaves(world.monitor_session(), batch);
  if (!first.ok()) return;
  Check(first->results.size() == leaves.size());
  int last = -1;
  for (int i : first->fresh) {
    Check(i > last && i < static_cast<int>(leaves.size()));
    last = i;
  }
  const v1::UploadResponse compact = server::CompactCommitmentResponse(1, *first);
  Check(compact.results_size() + first->fresh.size() == leaves.size());
  CheckAnswerVerifies(world, leaves, compact);
  absl::StatusOr<server::CommittedLeaves> again =
      ingest.CommitLeaves(world.monitor_session(), batch);
  if (!again.ok()) return;  // e.g. the rate limit
  Check(again->fresh.empty());
  for (int i : first->fresh) {
    Check(again->results[i].commitment_receipt().SerializeAsString() ==
          first->results[i].commitment_receipt().SerializeAsString());
  }
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
  if (data[0] & 8) {
    fuzz::CheckCommitLeaves(*world, ingest, request.commitment_batch(), (data[0] & 1) != 0);
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

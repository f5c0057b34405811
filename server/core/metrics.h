#ifndef TEMOIN_SERVER_CORE_METRICS_H_
#define TEMOIN_SERVER_CORE_METRICS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

// What the protocol core counts, for operators (temoin-server run --metrics). The core
// calls these; server/metrics/ exposes them to Prometheus, and core tests count them
// with CountingMetrics (server/core/testing/counting_metrics.h) without any HTTP.
//
// Nothing here takes a device id, a project id, a record id or an address: a label
// comes only from a fixed set (an outcome, a status code's name), so the metrics can
// never tell who sent what. Implementations must be thread-safe.
namespace temoin::server {

enum class RecordOutcome {
  kAccepted,     // stored now (with its receipt, or pending its attachments)
  kDuplicate,    // stored before with the same digest: the same answer again
  kConflicting,  // stored before with another digest: refused, kept as evidence
  kRefused,      // failed a check, or the batch was refused as a whole
};

// Where a device got an answer of log proofs (Core::GetLogProofs): riding on its
// settings pull at sign-in, as the closing answer of an upload stream, or from a
// GetLogProofs call of its own (one round trip more; issue 13).
enum class LogProofsVia { kSettings, kUploadStream, kCall };

// How a device's commitments came: one Commitment each (header, digest, the record's
// signature), or leaves of a CommitmentBatch under one signature (issue 13).
enum class CommitmentForm { kSingle, kBatch };

class Metrics {
 public:
  virtual ~Metrics() = default;

  // One uploaded record body. `reason` is the refusal's code (kOk unless kRefused).
  virtual void CountRecord(RecordOutcome outcome, absl::StatusCode reason) = 0;
  // One sign-in; `result` is kOk when it succeeded.
  virtual void CountSignIn(absl::StatusCode result) = 0;
  // One attachment piece stored.
  virtual void CountAttachmentPiece() = 0;
  // Sealed bytes received (record envelopes, attachment pieces) and sent (records and
  // attachment pieces to reviewers). Message framing is not included.
  virtual void CountBytesIn(uint64_t bytes) = 0;
  virtual void CountBytesOut(uint64_t bytes) = 0;
  // The time one durable commit of uploaded records took (the fsync included).
  virtual void ObserveCommitSeconds(double seconds) = 0;
  // One answer of log proofs served.
  virtual void CountLogProofs(LogProofsVia via) = 0;
  // One sign-in that rode on an Upload call instead of an Authenticate call of its own
  // (sync.proto UploadResponse.sign_in; issue 13), counted when it succeeded.
  virtual void CountSignInOnUpload() = 0;
  // Commitments taken (verified and answered), `count` of them in one batch.
  virtual void CountCommitments(CommitmentForm form, uint64_t count) = 0;
};

// "single", "batch".
std::string_view CommitmentFormLabel(CommitmentForm form);

// "settings", "upload", "call".
std::string_view LogProofsViaLabel(LogProofsVia via);

// Counts nothing: the core's default.
Metrics& NoMetrics();

// "ok", "invalid_argument", "resource_exhausted", ...: a fixed set, usable as a label.
std::string_view StatusCodeLabel(absl::StatusCode code);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_METRICS_H_

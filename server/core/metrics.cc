#include "server/core/metrics.h"

namespace temoin::server {
namespace {

class NullMetrics final : public Metrics {
 public:
  void CountRecord(RecordOutcome, absl::StatusCode) override {}
  void CountSignIn(absl::StatusCode) override {}
  void CountAttachmentPiece() override {}
  void CountBytesIn(uint64_t) override {}
  void CountBytesOut(uint64_t) override {}
  void ObserveCommitSeconds(double) override {}
  void CountLogProofs(LogProofsVia) override {}
  void CountSignInOnUpload() override {}
  void CountCommitments(CommitmentForm, uint64_t) override {}
};

}  // namespace

Metrics& NoMetrics() {
  static NullMetrics* const kNone = new NullMetrics();
  return *kNone;
}

std::string_view StatusCodeLabel(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "ok";
    case absl::StatusCode::kCancelled:
      return "cancelled";
    case absl::StatusCode::kInvalidArgument:
      return "invalid_argument";
    case absl::StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kAlreadyExists:
      return "already_exists";
    case absl::StatusCode::kPermissionDenied:
      return "permission_denied";
    case absl::StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case absl::StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case absl::StatusCode::kAborted:
      return "aborted";
    case absl::StatusCode::kOutOfRange:
      return "out_of_range";
    case absl::StatusCode::kUnimplemented:
      return "unimplemented";
    case absl::StatusCode::kInternal:
      return "internal";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kDataLoss:
      return "data_loss";
    case absl::StatusCode::kUnauthenticated:
      return "unauthenticated";
    default:
      return "unknown";
  }
}

std::string_view CommitmentFormLabel(CommitmentForm form) {
  return form == CommitmentForm::kBatch ? "batch" : "single";
}

std::string_view LogProofsViaLabel(LogProofsVia via) {
  switch (via) {
    case LogProofsVia::kSettings:
      return "settings";
    case LogProofsVia::kUploadStream:
      return "upload";
    case LogProofsVia::kCall:
      return "call";
  }
  return "call";
}

}  // namespace temoin::server

#ifndef TEMOIN_SERVER_CORE_TESTING_COUNTING_METRICS_H_
#define TEMOIN_SERVER_CORE_TESTING_COUNTING_METRICS_H_

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "server/core/metrics.h"

namespace temoin::server {

// Metrics kept in maps, for core tests: what the core counted, without Prometheus.
class CountingMetrics final : public Metrics {
 public:
  void CountRecord(RecordOutcome outcome, absl::StatusCode reason) override {
    std::lock_guard lock(mu_);
    ++records_[{outcome, std::string(StatusCodeLabel(reason))}];
  }
  void CountSignIn(absl::StatusCode result) override {
    std::lock_guard lock(mu_);
    ++sign_ins_[std::string(StatusCodeLabel(result))];
  }
  void CountAttachmentPiece() override {
    std::lock_guard lock(mu_);
    ++pieces_;
  }
  void CountBytesIn(uint64_t bytes) override {
    std::lock_guard lock(mu_);
    bytes_in_ += bytes;
  }
  void CountBytesOut(uint64_t bytes) override {
    std::lock_guard lock(mu_);
    bytes_out_ += bytes;
  }
  void ObserveCommitSeconds(double) override {
    std::lock_guard lock(mu_);
    ++commits_;
  }
  void CountLogProofs(LogProofsVia via) override {
    std::lock_guard lock(mu_);
    ++log_proofs_[via];
  }

  int records(RecordOutcome outcome, absl::StatusCode reason = absl::StatusCode::kOk) {
    std::lock_guard lock(mu_);
    return records_[{outcome, std::string(StatusCodeLabel(reason))}];
  }
  int sign_ins(absl::StatusCode result) {
    std::lock_guard lock(mu_);
    return sign_ins_[std::string(StatusCodeLabel(result))];
  }
  int pieces() {
    std::lock_guard lock(mu_);
    return pieces_;
  }
  uint64_t bytes_in() {
    std::lock_guard lock(mu_);
    return bytes_in_;
  }
  uint64_t bytes_out() {
    std::lock_guard lock(mu_);
    return bytes_out_;
  }
  int commits() {
    std::lock_guard lock(mu_);
    return commits_;
  }
  void CountSignInOnUpload() override {
    std::lock_guard lock(mu_);
    ++sign_ins_on_upload_;
  }
  int sign_ins_on_upload() {
    std::lock_guard lock(mu_);
    return sign_ins_on_upload_;
  }
  void CountCommitments(CommitmentForm form, uint64_t count) override {
    std::lock_guard lock(mu_);
    commitments_[form] += count;
  }
  uint64_t commitments(CommitmentForm form) {
    std::lock_guard lock(mu_);
    return commitments_[form];
  }
  int log_proofs(LogProofsVia via) {
    std::lock_guard lock(mu_);
    return log_proofs_[via];
  }

 private:
  std::mutex mu_;
  std::map<std::pair<RecordOutcome, std::string>, int> records_;
  std::map<std::string, int> sign_ins_;
  int pieces_ = 0;
  int sign_ins_on_upload_ = 0;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  int commits_ = 0;
  std::map<LogProofsVia, int> log_proofs_;
  std::map<CommitmentForm, uint64_t> commitments_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_TESTING_COUNTING_METRICS_H_

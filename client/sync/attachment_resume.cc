#include "client/sync/attachment_resume.h"

#include "client/core/attachments.h"

namespace temoin::client {

std::vector<BlobJob> AllBlobs(const AttachmentUploadPlan& plan) {
  std::vector<BlobJob> jobs;
  for (const v1::OutboxEntry& entry : plan.entries) {
    v1::RecordHeader header;
    if (!header.ParseFromString(entry.envelope().header())) continue;
    for (const v1::AttachmentRef& ref : header.attachments()) {
      jobs.push_back({header.record_id(), ref});
    }
  }
  return jobs;
}

std::optional<std::vector<BlobJob>> KnownResumePoints(const AttachmentUploadPlan& plan,
                                                      std::vector<BlobJob> jobs) {
  std::map<std::string, bool> record_whole;  // every blob of the record known to its end
  std::vector<BlobJob> todo;
  for (BlobJob& job : jobs) {
    bool whole = false;
    if (!plan.nothing_held.count(job.record_id)) {
      if (plan.acknowledged == nullptr) return std::nullopt;
      auto it = plan.acknowledged->find(job.ref.blob_id());
      if (it == plan.acknowledged->end()) return std::nullopt;
      const uint64_t slices = SliceCount(job.ref.size());
      whole = it->second.index >= slices;
      if (!whole) {
        job.from = it->second.index;
        job.from_offset =
            it->second.offset < SliceSize(job.ref.size(), job.from) ? it->second.offset : 0;
        job.unasked = true;
      }
    }
    auto [entry, fresh] = record_whole.emplace(job.record_id, whole);
    if (!fresh) entry->second = entry->second && whole;
    if (!whole) todo.push_back(job);
  }
  for (const auto& [record_id, whole] : record_whole) {
    if (whole) return std::nullopt;
  }
  return todo;
}

void RememberResumePoints(AcknowledgedBlobs* acknowledged, const std::vector<BlobJob>& todo,
                          const std::vector<BlobJob>& whole) {
  if (acknowledged == nullptr) return;
  for (const BlobJob& job : todo) (*acknowledged)[job.ref.blob_id()] = {job.from, job.from_offset};
  for (const BlobJob& job : whole) {
    (*acknowledged)[job.ref.blob_id()] = {SliceCount(job.ref.size()), 0};
  }
}

bool RefusedThePieces(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

bool ForgetResumePoints(AcknowledgedBlobs* acknowledged, const std::vector<BlobJob>& todo) {
  bool unasked = false;
  for (const BlobJob& job : todo) {
    if (acknowledged != nullptr) acknowledged->erase(job.ref.blob_id());
    unasked = unasked || job.unasked;
  }
  return unasked;
}

}  // namespace temoin::client

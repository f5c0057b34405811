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
  for (BlobJob& job : jobs) {
    if (plan.nothing_held.count(job.record_id)) continue;
    if (plan.acknowledged == nullptr) return std::nullopt;
    auto it = plan.acknowledged->find(job.ref.blob_id());
    const uint64_t slices = SliceCount(job.ref.size());
    if (it == plan.acknowledged->end() || it->second.index >= slices) return std::nullopt;
    job.from = it->second.index;
    job.from_offset =
        it->second.offset < SliceSize(job.ref.size(), job.from) ? it->second.offset : 0;
    job.unasked = true;
  }
  return jobs;
}

bool RefusedWhereItResumed(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnauthenticated:
      return false;
    default:
      return true;
  }
}

bool ForgetUnasked(const AttachmentUploadPlan& plan, const std::vector<BlobJob>& todo) {
  bool forgot = false;
  if (plan.acknowledged == nullptr) return false;
  for (const BlobJob& job : todo) {
    if (job.unasked) forgot |= plan.acknowledged->erase(job.ref.blob_id()) > 0;
  }
  return forgot;
}

}  // namespace temoin::client

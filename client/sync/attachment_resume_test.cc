#include "client/sync/attachment_resume.h"

#include <gtest/gtest.h>

#include "client/core/attachments.h"

namespace temoin::client {
namespace {

// A pending record of `record_id` with one attachment per entry of `sizes` (blob ids
// "<record_id>-0", "<record_id>-1", …).
v1::OutboxEntry Entry(const std::string& record_id, const std::vector<uint64_t>& sizes) {
  v1::RecordHeader header;
  header.set_record_id(record_id);
  for (size_t i = 0; i < sizes.size(); ++i) {
    v1::AttachmentRef* ref = header.add_attachments();
    ref->set_blob_id(record_id + "-" + std::to_string(i));
    ref->set_size(sizes[i]);
  }
  v1::OutboxEntry entry;
  entry.mutable_envelope()->set_header(header.SerializeAsString());
  return entry;
}

constexpr uint64_t kThreeSlices = 2 * kUploadChunkBytes + 100;

TEST(AttachmentResumeTest, AllBlobsListsEveryAttachmentFromItsStart) {
  AttachmentUploadPlan plan;
  plan.entries = {Entry("a", {10, kThreeSlices}), Entry("b", {20})};
  plan.entries.push_back(v1::OutboxEntry());  // a header that does not parse: no blob
  plan.entries.back().mutable_envelope()->set_header("\xff");
  std::vector<BlobJob> jobs = AllBlobs(plan);
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].ref.blob_id(), "a-0");
  EXPECT_EQ(jobs[1].ref.blob_id(), "a-1");
  EXPECT_EQ(jobs[2].record_id, "b");
  for (const BlobJob& job : jobs) {
    EXPECT_EQ(job.from, 0u);
    EXPECT_EQ(job.from_offset, 0u);
    EXPECT_FALSE(job.unasked);
  }
}

TEST(AttachmentResumeTest, BlobsStoredByThisAttemptGoFromTheirStartWithoutAsking) {
  AttachmentUploadPlan plan;
  plan.entries = {Entry("a", {kThreeSlices})};
  plan.nothing_held = {"a"};
  std::optional<std::vector<BlobJob>> known = KnownResumePoints(plan, AllBlobs(plan));
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ((*known)[0].from, 0u);
  EXPECT_FALSE((*known)[0].unasked);
}

TEST(AttachmentResumeTest, AcknowledgedBlobsGoOnFromTheirLastAcknowledgedPiece) {
  AttachmentUploadPlan plan;
  plan.entries = {Entry("a", {kThreeSlices}), Entry("b", {kThreeSlices})};
  AcknowledgedBlobs acknowledged = {{"a-0", {1, 8195}}, {"b-0", {2, 0}}};
  plan.acknowledged = &acknowledged;
  std::optional<std::vector<BlobJob>> known = KnownResumePoints(plan, AllBlobs(plan));
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ((*known)[0].from, 1u);
  EXPECT_EQ((*known)[0].from_offset, 8195u);
  EXPECT_TRUE((*known)[0].unasked);
  EXPECT_EQ((*known)[1].from, 2u);
  EXPECT_EQ((*known)[1].from_offset, 0u);
  EXPECT_TRUE((*known)[1].unasked);
}

TEST(AttachmentResumeTest, AnOffsetPastItsSliceRestartsTheSlice) {
  AttachmentUploadPlan plan;
  plan.entries = {Entry("a", {kThreeSlices})};
  // The last slice is 100 B long.
  AcknowledgedBlobs acknowledged = {{"a-0", {2, 100}}};
  plan.acknowledged = &acknowledged;
  std::optional<std::vector<BlobJob>> known = KnownResumePoints(plan, AllBlobs(plan));
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ((*known)[0].from, 2u);
  EXPECT_EQ((*known)[0].from_offset, 0u);
}

TEST(AttachmentResumeTest, OneBlobNotKnownMeansAskingAboutAll) {
  AttachmentUploadPlan plan;
  plan.entries = {Entry("a", {kThreeSlices}), Entry("b", {kThreeSlices})};
  AcknowledgedBlobs acknowledged = {{"a-0", {1, 0}}};
  plan.acknowledged = &acknowledged;
  EXPECT_FALSE(KnownResumePoints(plan, AllBlobs(plan)).has_value());
  // Without a run's memory (a one-shot sync), anything not stored now is asked about.
  plan.acknowledged = nullptr;
  plan.nothing_held = {"b"};
  EXPECT_FALSE(KnownResumePoints(plan, AllBlobs(plan)).has_value());
  plan.nothing_held = {"a", "b"};
  EXPECT_TRUE(KnownResumePoints(plan, AllBlobs(plan)).has_value());
}

TEST(AttachmentResumeTest, ABlobKnownToItsEndIsLeftOutAndItsSiblingGoesOn) {
  // A record of two attachments: the first is whole on the server, the second went
  // part of the way; the receipt comes with the second's last piece.
  AttachmentUploadPlan plan;
  plan.entries = {Entry("a", {kThreeSlices, kThreeSlices})};
  AcknowledgedBlobs acknowledged = {{"a-0", {3, 0}}, {"a-1", {1, 16390}}};
  plan.acknowledged = &acknowledged;
  std::optional<std::vector<BlobJob>> known = KnownResumePoints(plan, AllBlobs(plan));
  ASSERT_TRUE(known.has_value());
  ASSERT_EQ(known->size(), 1u);
  EXPECT_EQ((*known)[0].ref.blob_id(), "a-1");
  EXPECT_EQ((*known)[0].from, 1u);
  EXPECT_EQ((*known)[0].from_offset, 16390u);
}

TEST(AttachmentResumeTest, ARecordWholeOnTheServerWithoutItsReceiptIsAskedAbout) {
  // Every blob known to its end, and the record still pending: only a query brings
  // back the receipt.
  AttachmentUploadPlan plan;
  plan.entries = {Entry("a", {kThreeSlices, 10}), Entry("b", {kThreeSlices})};
  AcknowledgedBlobs acknowledged = {{"a-0", {3, 0}}, {"a-1", {1, 0}}, {"b-0", {1, 0}}};
  plan.acknowledged = &acknowledged;
  EXPECT_FALSE(KnownResumePoints(plan, AllBlobs(plan)).has_value());
}

TEST(AttachmentResumeTest, WhatAQueryOrThisAttemptFoundIsRemembered) {
  AttachmentUploadPlan plan;
  plan.entries = {Entry("a", {kThreeSlices, kThreeSlices})};
  std::vector<BlobJob> jobs = AllBlobs(plan);
  jobs[1].from = 2;
  jobs[1].from_offset = 50;
  AcknowledgedBlobs acknowledged = {{"a-1", {2, 90}}, {"z-0", {1, 0}}};
  RememberResumePoints(&acknowledged, {jobs[1]}, {jobs[0]});
  EXPECT_EQ(acknowledged["a-0"].index, 3u);  // whole: its end
  EXPECT_EQ(acknowledged["a-1"].index, 2u);  // lower than before: the server's word
  EXPECT_EQ(acknowledged["a-1"].offset, 50u);
  EXPECT_EQ(acknowledged.count("z-0"), 1u);
  RememberResumePoints(nullptr, jobs, {});  // a one-shot sync remembers nothing
}

TEST(AttachmentResumeTest, OnlyTheServersWordAboutPiecesForgetsWhereBlobsWere) {
  EXPECT_FALSE(RefusedThePieces(absl::OkStatus()));
  EXPECT_FALSE(RefusedThePieces(absl::UnavailableError("cut")));
  EXPECT_FALSE(RefusedThePieces(absl::DeadlineExceededError("slow")));
  EXPECT_FALSE(RefusedThePieces(absl::CancelledError("stopped")));
  EXPECT_FALSE(RefusedThePieces(absl::UnauthenticatedError("token")));
  EXPECT_FALSE(RefusedThePieces(absl::ResourceExhaustedError("busy")));
  EXPECT_FALSE(RefusedThePieces(absl::InternalError("server")));
  EXPECT_TRUE(RefusedThePieces(absl::FailedPreconditionError("out of order")));
  EXPECT_TRUE(RefusedThePieces(absl::NotFoundError("unknown blob")));
  EXPECT_TRUE(RefusedThePieces(absl::InvalidArgumentError("overruns its slice")));
  // The device's own faults are not the server's word about the pieces.
  EXPECT_FALSE(RefusedThePieces(absl::DataLossError("slice missing from the vault")));

  AttachmentUploadPlan plan;
  plan.entries = {Entry("a", {kThreeSlices}), Entry("b", {kThreeSlices})};
  AcknowledgedBlobs acknowledged = {{"a-0", {1, 0}}, {"b-0", {1, 0}}, {"c-0", {1, 0}}};
  std::vector<BlobJob> todo = AllBlobs(plan);
  EXPECT_FALSE(ForgetResumePoints(&acknowledged, todo));  // both were asked about
  EXPECT_EQ(acknowledged.size(), 1u);
  EXPECT_EQ(acknowledged.count("c-0"), 1u);
  todo[1].unasked = true;
  EXPECT_TRUE(ForgetResumePoints(&acknowledged, todo));  // that may be why it was refused
  EXPECT_TRUE(ForgetResumePoints(nullptr, todo));
}

}  // namespace
}  // namespace temoin::client

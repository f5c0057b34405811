#include "client/sync/positional_answers.h"

#include <gtest/gtest.h>

namespace temoin::client {
namespace {

v1::UploadResponse Answer(uint64_t batch_id, uint64_t first_log_index) {
  v1::UploadResponse response;
  response.set_batch_id(batch_id);
  if (first_log_index != 0) {
    response.set_first_log_index(first_log_index);
    response.mutable_batch_receipt()->set_signature(std::string(64, 's'));
  }
  return response;
}

TEST(PositionalAnswersTest, LeftOutRecordsAreConsecutiveLeavesAroundNamedOnes) {
  PositionalAnswers answers;
  answers.Remember(7, {"a", "b", "c", "d"});
  v1::UploadResponse response = Answer(7, 41);
  v1::RecordResult& refused = *response.add_results();
  refused.set_position(1);
  refused.set_code(3);
  refused.set_message("record header is malformed");
  response.add_results()->set_position(3);
  response.mutable_results(1)->set_awaiting_attachments(true);

  absl::StatusOr<std::vector<v1::RecordResult>> results = answers.Expand(response);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 4u);
  EXPECT_EQ((*results)[0].record_id(), "a");
  EXPECT_EQ((*results)[0].log_index(), 41u);
  EXPECT_EQ((*results)[1].record_id(), "b");
  EXPECT_EQ((*results)[1].code(), 3);
  EXPECT_EQ((*results)[1].log_index(), 0u);
  EXPECT_EQ((*results)[2].record_id(), "c");
  EXPECT_EQ((*results)[2].log_index(), 42u);
  EXPECT_EQ((*results)[3].record_id(), "d");
  EXPECT_TRUE((*results)[3].awaiting_attachments());
  EXPECT_EQ((*results)[3].log_index(), 0u);
}

TEST(PositionalAnswersTest, AnswerThatNamesRecordsIsTakenAsSent) {
  PositionalAnswers answers;
  answers.Remember(1, {"a", "b"});
  v1::UploadResponse response = Answer(1, 0);
  response.add_results()->set_record_id("b");
  response.mutable_results(0)->set_log_index(9);
  absl::StatusOr<std::vector<v1::RecordResult>> results = answers.Expand(response);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].record_id(), "b");
  EXPECT_EQ((*results)[0].log_index(), 9u);
}

TEST(PositionalAnswersTest, HostileAnswersAreRefused) {
  PositionalAnswers answers;
  answers.Remember(1, {"a", "b"});
  answers.Remember(2, {"a", "b"});
  answers.Remember(3, {"a", "b"});

  EXPECT_EQ(answers.Expand(Answer(99, 5)).status().code(), absl::StatusCode::kDataLoss);

  v1::UploadResponse out_of_range = Answer(1, 5);
  out_of_range.add_results()->set_position(2);
  EXPECT_EQ(answers.Expand(out_of_range).status().code(), absl::StatusCode::kDataLoss);

  v1::UploadResponse twice = Answer(2, 0);
  twice.add_results()->set_position(0);
  twice.add_results()->set_position(0);
  twice.add_results()->set_position(1);
  EXPECT_EQ(answers.Expand(twice).status().code(), absl::StatusCode::kDataLoss);

  // "b" left out, but no batch receipt to make it a leaf of.
  v1::UploadResponse unanswered = Answer(3, 0);
  unanswered.add_results()->set_position(0);
  EXPECT_EQ(answers.Expand(unanswered).status().code(), absl::StatusCode::kDataLoss);
}

TEST(PositionalAnswersTest, EachBatchIsExpandedOnce) {
  PositionalAnswers answers;
  answers.Remember(4, {"a"});
  ASSERT_TRUE(answers.Expand(Answer(4, 1)).ok());
  EXPECT_EQ(answers.Expand(Answer(4, 1)).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace temoin::client

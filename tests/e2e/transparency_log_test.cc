// The transparency log through the real binaries (issue 9): every sync checks that the
// server's log extends the checkpoint the device holds and that each record just
// receipted is in it; a server restored from an old copy of its data is caught at the
// next sync, a sync with nothing to send included, which then sends and purges nothing.

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

void CopyTree(const std::string& from, const std::string& to) {
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
}

class TransparencyLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Deployment>> made =
        Deployment::Create("temoin-e2e-tlog", /*monitors=*/2);
    ASSERT_TRUE(made.ok()) << made.status();
    d_ = std::move(*made);
  }

  // The tree size of `temoin checkpoint` (the note's second line), or -1.
  int64_t HeldTreeSize(const std::string& home) {
    CommandResult shown = d_->Temoin(home, {"checkpoint"});
    EXPECT_EQ(shown.exit_code, 0) << shown.err;
    std::vector<std::string> lines = absl::StrSplit(shown.out, '\n');
    EXPECT_THAT(shown.out, StartsWith("temoin.log/"));
    int64_t size = -1;
    if (lines.size() < 2 || !absl::SimpleAtoi(lines[1], &size)) return -1;
    return size;
  }

  void RecordAndSync(const std::string& home, int n, TestimonyGenerator& generator) {
    std::vector<v1::Testimony> testimonies;
    for (int i = 0; i < n; ++i) testimonies.push_back(generator.Next());
    ASSERT_TRUE(d_->Record(home, testimonies).ok());
    CommandResult sync = d_->Temoin(home, {"sync"});
    ASSERT_EQ(sync.exit_code, 0) << sync.err;
    EXPECT_THAT(sync.err, HasSubstr(absl::StrCat(n, " shown in the log"))) << sync.err;
  }

  std::unique_ptr<Deployment> d_;
};

TEST_F(TransparencyLogTest, ARollbackStopsTheNextSyncAndPurgesNothing) {
  const std::string& monitor = d_->monitors()[0];
  TestimonyGenerator generator(/*seed=*/901);
  CommandResult none = d_->Temoin(monitor, {"checkpoint"});
  EXPECT_NE(none.exit_code, 0) << "no checkpoint before the first sync";

  RecordAndSync(monitor, 2, generator);
  EXPECT_EQ(HeldTreeSize(monitor), 2);
  d_->StopServer();
  const std::string backup = d_->dir().Sub("server-at-2");
  CopyTree(d_->server_data(), backup);
  ASSERT_TRUE(d_->StartServer().ok());
  RecordAndSync(monitor, 3, generator);
  EXPECT_EQ(HeldTreeSize(monitor), 5);

  // The server's data put back to the copy of two records.
  d_->StopServer();
  std::filesystem::remove_all(d_->server_data());
  CopyTree(backup, d_->server_data());
  ASSERT_TRUE(d_->StartServer().ok());

  // With nothing to send the sync still checks the log (it rides on the sign-in), and
  // fails as loudly.
  CommandResult idle = d_->Temoin(monitor, {"sync"});
  EXPECT_NE(idle.exit_code, 0) << idle.err;
  EXPECT_THAT(idle.err, HasSubstr("tree of 2 leaves")) << idle.err;
  EXPECT_THAT(idle.err, HasSubstr("checkpoint of 5 leaves")) << idle.err;
  EXPECT_THAT(idle.err, HasSubstr("rollback")) << idle.err;
  EXPECT_EQ(HeldTreeSize(monitor), 5);

  ASSERT_TRUE(d_->Record(monitor, {generator.Next()}).ok());
  for (const char* attempt : {"first", "again"}) {
    SCOPED_TRACE(attempt);
    CommandResult sync = d_->Temoin(monitor, {"sync"});
    EXPECT_NE(sync.exit_code, 0) << sync.err;
    EXPECT_THAT(sync.err, HasSubstr("tree of 2 leaves")) << sync.err;
    EXPECT_THAT(sync.err, HasSubstr("checkpoint of 5 leaves")) << sync.err;
    EXPECT_THAT(sync.err, HasSubstr("rollback")) << sync.err;
    EXPECT_THAT(sync.err, Not(HasSubstr("receipts verified"))) << sync.err;
  }
  // The new record is still sealed in the outbox, and the server never got it.
  absl::StatusOr<nlohmann::json> counts = d_->RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)["sealed"], 1) << counts->dump();
  EXPECT_EQ((*counts)["purged"], 5) << counts->dump();
  absl::StatusOr<Deployment::ServerListing> listing = d_->ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->record_ids.size(), 2u);
  // The device still holds the longer checkpoint (the shorter one is kept as evidence).
  EXPECT_EQ(HeldTreeSize(monitor), 5);
}

TEST_F(TransparencyLogTest, SyncsOfTwoDevicesAndAReviewerPullVerify) {
  TestimonyGenerator generator(/*seed=*/902);
  const std::string& a = d_->monitors()[0];
  const std::string& b = d_->monitors()[1];
  RecordAndSync(a, 2, generator);
  RecordAndSync(b, 3, generator);
  RecordAndSync(a, 1, generator);
  RecordAndSync(b, 1, generator);
  EXPECT_EQ(HeldTreeSize(a), 6);
  EXPECT_EQ(HeldTreeSize(b), 7);
  // A device whose checkpoint is behind checks consistency across the other's leaves.
  ASSERT_TRUE(d_->Record(a, {generator.Next()}).ok());
  CommandResult sync = d_->Temoin(a, {"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_EQ(HeldTreeSize(a), 8);
  // The reviewer's pull checks the log too.
  CommandResult pull = d_->Temoin(d_->reviewer(), {"sync"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(HeldTreeSize(d_->reviewer()), 8);
  // A device with nothing to send checks the server's checkpoint against its own (7)
  // and passes; it holds the larger tree only once a sync proves it consistent.
  CommandResult idle = d_->Temoin(b, {"sync"});
  ASSERT_EQ(idle.exit_code, 0) << idle.err;
  EXPECT_EQ(HeldTreeSize(b), 7);
}

}  // namespace
}  // namespace temoin::e2e

// Per-device upload limits through the real binaries: a server started with a tiny
// limit refuses a sync with a clear RESOURCE_EXHAUSTED message, the client reports it
// and keeps the record sealed, and `sync --until-done` completes once the window has
// slid. Synthetic data only.
//
// The limit is 3 batches a minute rather than 1 so that the refused sync waits 20 s for
// its slot, not 60: each of the first three syncs sends one batch (one new record), the
// fourth is refused. Not 6: a slot came back every 10 s, and on a loaded machine six
// syncs could take that long, so the seventh passed.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::testing::HasSubstr;

constexpr int kBatchesPerMinute = 3;

TEST(RateLimitTest, RefusedSyncIsReportedAndCompletesOnceTheWindowSlides) {
  absl::StatusOr<std::unique_ptr<Deployment>> made =
      Deployment::Create("temoin-e2e-rate-limit", /*monitors=*/1);
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  const std::string& monitor = d.monitors()[0];

  // The same data directory, served again with a tiny limit.
  d.StopServer();
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      ServerBinary(), d.server_data(), d.port(), d.dir().Sub("limited-server.log"), {},
      std::chrono::seconds(15), {"--max-batches-per-minute", std::to_string(kBatchesPerMinute)});
  ASSERT_TRUE(server.ok()) << server.status();

  TestimonyGenerator generator(/*seed=*/4242);
  for (int i = 0; i < kBatchesPerMinute; ++i) {
    ASSERT_TRUE(d.Record(monitor, {generator.Next()}).ok());
    CommandResult sync = d.Temoin(monitor, {"sync"});
    ASSERT_EQ(sync.exit_code, 0) << "sync " << i << ": " << sync.err;
  }

  ASSERT_TRUE(d.Record(monitor, {generator.Next()}).ok());
  CommandResult refused = d.Temoin(monitor, {"sync"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err,
              HasSubstr(absl::StrCat("upload rate limit reached: at most ", kBatchesPerMinute,
                                     " batches per minute; retry in ")))
      << refused.err;
  absl::StatusOr<nlohmann::json> counts = d.RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  // Kept, not lost: the commitment went first (it is not a batch of bodies), so the
  // record is fixed on the server but its sealed body is still on the device.
  EXPECT_EQ((*counts)["sealed"].get<int>() + (*counts)["committed"].get<int>(), 1)
      << counts->dump();
  EXPECT_EQ((*counts)["purged"], kBatchesPerMinute) << counts->dump();

  // The client retries on its own; the slot comes back within 60/3 = 20 s.
  CommandResult done = d.Temoin(monitor, {"sync", "--until-done", "--max-time", "45"});
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_THAT(done.err, HasSubstr("upload rate limit reached")) << done.err;
  counts = d.RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)["sealed"].get<int>() + (*counts)["committed"].get<int>(), 0)
      << counts->dump();
  EXPECT_EQ((*counts)["purged"], kBatchesPerMinute + 1) << counts->dump();
  absl::StatusOr<Deployment::ServerListing> listing = d.ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->record_ids.size(), kBatchesPerMinute + 1u);
}

}  // namespace
}  // namespace temoin::e2e

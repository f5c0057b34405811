// End to end on PostgreSQL: `temoin-server init --store CONNINFO` and `run` against a
// primary with a synchronous standby (tests/pg/pg-up.sh); a monitor records and syncs
// through the real binaries, every record is receipted and is in the database, the
// data directory holds no RocksDB, and no testimony text is in clear anywhere in either
// node's files (tables and WAL). Then the standby goes down: a sync gets no receipt, and
// once the standby is back the same record is receipted once.
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"
#include "tests/pg/pg_cluster.h"

namespace temoin::e2e {
namespace {

using ::temoin::testing::PgCluster;

constexpr int kRecords = 20;
// Rows of the store's records (rec/<device 16><record 16>, server/core/registry.h).
constexpr char kCountRecords[] =
    "SELECT count(*) FROM kv WHERE substring(key from 1 for 4) = 'rec/'::bytea";

TEST(PgEndToEndTest, MonitorSyncsThroughPostgresAndNothingIsReceiptedWithoutTheStandby) {
  PgCluster* cluster = PgCluster::Get();
  if (cluster == nullptr) GTEST_SKIP() << "PostgreSQL: " << PgCluster::SkipReason();
  cluster->Reset();
  // The server gives the standby 2 s, not 10, before UNAVAILABLE (inherited by children).
  setenv("TEMOIN_PG_DEADLINE_MS", "2000", 1);
  absl::StatusOr<std::unique_ptr<Deployment>> made =
      Deployment::Create("temoin-pg-e2e", /*monitors=*/1, {"--store", cluster->conninfo()});
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  const std::string& monitor = d.monitors()[0];

  struct stat conninfo_stat {};
  ASSERT_EQ(stat((d.server_data() + "/store.conninfo").c_str(), &conninfo_stat), 0);
  EXPECT_EQ(conninfo_stat.st_mode & 0777, 0600u);
  EXPECT_NE(access((d.server_data() + "/db").c_str(), F_OK), 0) << "no RocksDB when on PostgreSQL";

  TestimonyGenerator generator(/*seed=*/1111);
  std::vector<v1::Testimony> testimonies;
  for (int i = 0; i < kRecords; ++i) testimonies.push_back(generator.Next());
  ASSERT_TRUE(d.Record(monitor, testimonies).ok());
  CommandResult sync = d.Temoin(monitor, {"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  absl::StatusOr<nlohmann::json> counts = d.RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)["purged"], kRecords) << counts->dump();  // receipted, then purged
  EXPECT_EQ(cluster->Sql(kCountRecords), std::to_string(kRecords));
  EXPECT_EQ(cluster->Sql("SELECT tree_size FROM log_head"), std::to_string(kRecords));
  absl::StatusOr<std::vector<nlohmann::json>> exported = d.ReviewerExport();
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(exported->size(), static_cast<size_t>(kRecords));

  // The database holds only what the server could not read.
  cluster->Sql("CHECKPOINT");
  EXPECT_THAT(FindInTree(cluster->dir(), generator.SecretStrings()), ::testing::IsEmpty());

  // No receipt without the standby: the sync fails (the store's deadline, 10 s), the
  // record stays on the device, and it is receipted once the standby is back.
  ASSERT_TRUE(cluster->StopStandby());
  ASSERT_TRUE(d.Record(monitor, {generator.Next()}).ok());
  auto start = std::chrono::steady_clock::now();
  CommandResult refused = d.Temoin(monitor, {"sync"});
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  std::cerr << "sync with the standby down failed after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count()
            << " ms: " << refused.err << "\n";
  counts = d.RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)["purged"], kRecords) << counts->dump();
  ASSERT_TRUE(cluster->StartStandby());
  CommandResult retried = d.Temoin(monitor, {"sync", "--until-done", "--max-time", "60"});
  EXPECT_EQ(retried.exit_code, 0) << retried.err;
  counts = d.RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)["purged"], kRecords + 1) << counts->dump();
  EXPECT_EQ(cluster->Sql(kCountRecords), std::to_string(kRecords + 1));
  EXPECT_EQ(cluster->Sql("SELECT tree_size FROM log_head"), std::to_string(kRecords + 1));
}

// `temoin-server migrate`: a server that ran on RocksDB moves to PostgreSQL (stopped),
// and every device keeps working: the monitor syncs a new record, the reviewer sees all.
TEST(PgEndToEndTest, MigrateMovesAnEmbeddedStoreAndClientsKeepWorking) {
  PgCluster* cluster = PgCluster::Get();
  if (cluster == nullptr) GTEST_SKIP() << "PostgreSQL: " << PgCluster::SkipReason();
  cluster->Reset();
  absl::StatusOr<std::unique_ptr<Deployment>> made =
      Deployment::Create("temoin-pg-migrate", /*monitors=*/1);
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  const std::string& monitor = d.monitors()[0];
  TestimonyGenerator generator(/*seed=*/2222);
  std::vector<v1::Testimony> testimonies;
  for (int i = 0; i < 5; ++i) testimonies.push_back(generator.Next());
  ASSERT_TRUE(d.Record(monitor, testimonies).ok());
  ASSERT_EQ(d.Temoin(monitor, {"sync"}).exit_code, 0);

  // Refused while the server runs (RocksDB's lock), and nothing is changed.
  absl::StatusOr<CommandResult> busy = RunCommand(
      {ServerBinary(), "migrate", "--data", d.server_data(), "--to", cluster->conninfo()});
  ASSERT_TRUE(busy.ok());
  EXPECT_NE(busy->exit_code, 0);
  EXPECT_THAT(busy->err, ::testing::HasSubstr("stop it first")) << busy->err;

  d.StopServer();
  absl::StatusOr<CommandResult> moved = RunCommand(
      {ServerBinary(), "migrate", "--data", d.server_data(), "--to", cluster->conninfo()});
  ASSERT_TRUE(moved.ok());
  ASSERT_EQ(moved->exit_code, 0) << moved->err;
  EXPECT_THAT(moved->out, ::testing::HasSubstr(" 5 records, ")) << moved->out;
  EXPECT_THAT(moved->out, ::testing::HasSubstr("log size 5")) << moved->out;
  EXPECT_EQ(cluster->Sql(kCountRecords), "5");
  // A second migration into the now non-empty database is refused.
  absl::StatusOr<CommandResult> again = RunCommand(
      {ServerBinary(), "migrate", "--data", d.server_data(), "--to", cluster->conninfo()});
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->exit_code, 0);

  ASSERT_TRUE(d.StartServer().ok());
  ASSERT_TRUE(d.Record(monitor, {generator.Next()}).ok());
  CommandResult sync = d.Temoin(monitor, {"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_EQ(cluster->Sql(kCountRecords), "6");
  EXPECT_EQ(cluster->Sql("SELECT tree_size FROM log_head"), "6");
  absl::StatusOr<std::vector<nlohmann::json>> exported = d.ReviewerExport();
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(exported->size(), 6u);
}

}  // namespace
}  // namespace temoin::e2e

// Backups of the embedded store through the real binaries (issue 11): a backup taken
// while the server serves, then more syncs, then a restore; every record and attachment
// of the backup is back, and the device that saw the longer log refuses the restored
// server loudly and purges nothing.

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

CommandResult Server(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ServerBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<CommandResult> result = RunCommand(argv);
  if (!result.ok()) return CommandResult{.exit_code = -1, .err = result.status().ToString()};
  return *result;
}

std::string Pseudorandom(size_t size, uint32_t seed) {
  std::string bytes(size, '\0');
  for (char& c : bytes) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(seed >> 16);
  }
  return bytes;
}

TEST(BackupRestoreTest, ABackupTakenWhileServingRestoresEveryRecordAndAttachment) {
  absl::StatusOr<std::unique_ptr<Deployment>> made =
      Deployment::Create("temoin-e2e-backup", /*monitors=*/1);
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  const std::string& monitor = d.monitors()[0];
  TestimonyGenerator generator(/*seed=*/1101);

  // Two testimonies, then one with a 300 KB attachment; synced.
  absl::StatusOr<std::vector<std::pair<std::string, v1::Testimony>>> first =
      d.Record(monitor, {generator.Next(), generator.Next()});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string audio = Pseudorandom(300 << 10, 7);
  const std::string audio_path = d.dir().Sub("interview.m4a");
  ASSERT_TRUE(WriteFile(audio_path, audio).ok());
  absl::StatusOr<std::vector<std::pair<std::string, v1::Testimony>>> with_file =
      d.Record(monitor, {generator.Next()}, {"--attach", audio_path});
  ASSERT_TRUE(with_file.ok()) << with_file.status();
  CommandResult sync = d.Temoin(monitor, {"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;

  // Backed up while the server runs: the running process takes the checkpoint.
  const std::string backup = d.dir().Sub("backup");
  CommandResult backed_up = Server({"backup", "--data", d.server_data(), "--out", backup});
  ASSERT_EQ(backed_up.exit_code, 0) << backed_up.err;
  EXPECT_THAT(backed_up.out, HasSubstr("3 records, 1 attachments, log size 3"));
  EXPECT_THAT(backed_up.err, HasSubstr("taken by the running server"));
  EXPECT_TRUE(std::filesystem::exists(backup + "/keys/receipt.key"));
  // Never over an earlier backup.
  CommandResult again = Server({"backup", "--data", d.server_data(), "--out", backup});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("not empty"));

  // Two more after the backup; the monitor's checkpoint now covers five.
  ASSERT_TRUE(d.Record(monitor, {generator.Next(), generator.Next()}).ok());
  sync = d.Temoin(monitor, {"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;

  // Restore refuses a running server, then a store that is not empty without --force.
  CommandResult running = Server({"restore", "--from", backup, "--data", d.server_data()});
  EXPECT_NE(running.exit_code, 0);
  EXPECT_THAT(running.err, HasSubstr("stop it first"));
  d.StopServer();
  CommandResult unforced = Server({"restore", "--from", backup, "--data", d.server_data()});
  EXPECT_NE(unforced.exit_code, 0);
  EXPECT_THAT(unforced.err, HasSubstr("--force"));
  CommandResult restored =
      Server({"restore", "--from", backup, "--data", d.server_data(), "--force"});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_THAT(restored.out, HasSubstr("3 records, 1 attachments, log size 3"));
  // The replaced store is kept, not deleted.
  int kept = 0;
  for (const auto& entry : std::filesystem::directory_iterator(d.server_data())) {
    if (entry.path().filename().string().rfind("db.before-restore-", 0) == 0) ++kept;
  }
  EXPECT_EQ(kept, 1);
  ASSERT_TRUE(d.StartServer().ok());

  // The reviewer (who never synced before) gets every record of the backup, and the
  // attachment byte for byte.
  const std::string out_dir = d.dir().Sub("export");
  absl::StatusOr<std::vector<nlohmann::json>> exported =
      d.ReviewerExport({"--attachments", out_dir});
  ASSERT_TRUE(exported.ok()) << exported.status();
  std::set<std::string> ids;
  for (const nlohmann::json& element : *exported) ids.insert(element.value("record_id", ""));
  EXPECT_EQ(ids,
            (std::set<std::string>{(*first)[0].first, (*first)[1].first, (*with_file)[0].first}));
  absl::StatusOr<std::string> file =
      ReadFile(absl::StrCat(out_dir, "/", (*with_file)[0].first, "/interview.m4a"));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(*file == audio);

  // The monitor saw a log of five: the restored server's three is a rollback. The sync
  // fails loudly, sends nothing and purges nothing.
  ASSERT_TRUE(d.Record(monitor, {generator.Next()}).ok());
  sync = d.Temoin(monitor, {"sync"});
  EXPECT_NE(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("rollback")) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("tree of 3 leaves")) << sync.err;
  EXPECT_THAT(sync.err, Not(HasSubstr("receipts verified"))) << sync.err;
  absl::StatusOr<nlohmann::json> counts = d.RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)["sealed"], 1) << counts->dump();
  EXPECT_EQ((*counts)["purged"], 5) << counts->dump();
  absl::StatusOr<Deployment::ServerListing> listing = d.ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->record_ids.size(), 3u);
}

}  // namespace
}  // namespace temoin::e2e

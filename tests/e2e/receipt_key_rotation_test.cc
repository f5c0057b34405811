// Issue 12, rotating the server's receipt and log keys without losing a device, through
// the real binaries over real TLS: the server makes its next keys, the admin certifies
// them beside the current ones with the organisation key, the server switches, and the
// admin retires the old keys. A device that synced in the window (it holds a checkpoint
// signed by the old log key), and one that was offline for the whole rotation (it never
// held any statement), both follow the new keys at their next sync and their records go
// up; the first checks the new key's checkpoint against the one it held under the old
// key. Receipts signed under the old key stay verifiable for the reviewer. A server that
// switched to keys the organisation never certified gets nothing from a device, which
// says what to do.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// `temoin-server keys SUBCOMMAND --data DIR`: its stdout, or why it failed.
absl::StatusOr<std::string> ServerKeys(const Deployment& d, const std::string& subcommand) {
  absl::StatusOr<CommandResult> r =
      RunCommand({ServerBinary(), "keys", subcommand, "--data", d.server_data()});
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::InternalError(absl::StrCat("keys ", subcommand, ": ", r->err));
  }
  return r->out;
}

// The value of the line "NAME value" in `keys show`'s output, or "".
std::string Shown(const std::string& shown, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(shown, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, absl::StrCat(name, " "))) return std::string(line);
  }
  return "";
}

bool AllVerified(const std::vector<nlohmann::json>& exported) {
  for (const nlohmann::json& record : exported) {
    if (!record.value("verified", false)) return false;
  }
  return true;
}

TEST(ReceiptKeyRotationTest, DevicesFollowACertifiedKeyAndOldReceiptsStillVerify) {
  absl::StatusOr<std::unique_ptr<Deployment>> made =
      Deployment::Create("temoin-e2e-receipt-rotation", /*monitors=*/2);
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  const std::string& online = d.monitors()[0];
  const std::string& offline = d.monitors()[1];
  TestimonyGenerator generator(20261205);

  // Before: a receipt under the first key, and a record the offline device keeps.
  auto first = d.Record(online, {generator.Next()});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(d.Run(online, {"sync"}).ok());
  auto kept_offline = d.Record(offline, {generator.Next()});
  ASSERT_TRUE(kept_offline.ok()) << kept_offline.status();

  absl::StatusOr<std::string> shown = ServerKeys(d, "show");
  ASSERT_TRUE(shown.ok()) << shown.status();
  const std::string old_key = Shown(*shown, "receipt");
  const std::string log_key = Shown(*shown, "log");
  ASSERT_EQ(old_key.size(), 64u) << *shown;
  EXPECT_EQ(Shown(*shown, "next-receipt"), "");
  ASSERT_TRUE(d.Run(d.admin(), {"admin", "certify-server-keys", "--receipt-key", old_key,
                                "--log-key", log_key})
                  .ok());

  // The next keys, kept aside; running it again keeps the same ones. The next log key
  // names the same log (origin) as the current one.
  absl::StatusOr<std::string> next = ServerKeys(d, "next");
  ASSERT_TRUE(next.ok()) << next.status();
  const std::string new_key = Shown(*next, "next-receipt");
  const std::string new_log_key = Shown(*next, "next-log");
  ASSERT_EQ(new_key.size(), 64u) << *next;
  EXPECT_NE(new_key, old_key);
  EXPECT_NE(new_log_key, log_key);
  EXPECT_EQ(new_log_key.substr(0, new_log_key.find('+')), log_key.substr(0, log_key.find('+')));
  EXPECT_EQ(ServerKeys(d, "next").value_or(""), *next);
  EXPECT_EQ(Shown(ServerKeys(d, "show").value_or(""), "next-receipt"), new_key);
  EXPECT_EQ(Shown(ServerKeys(d, "show").value_or(""), "next-log"), new_log_key);

  // Certified beside the current keys; the online device learns them in the window and
  // holds a checkpoint signed by the old log key.
  absl::StatusOr<std::string> window = d.Run(
      d.admin(), {"admin", "certify-server-keys", "--receipt-key", old_key, "--next-receipt-key",
                  new_key, "--log-key", log_key, "--next-log-key", new_log_key});
  ASSERT_TRUE(window.ok()) << window.status();
  EXPECT_THAT(*window, HasSubstr(absl::StrCat("receipt ", old_key, " 0 -\n")));
  EXPECT_THAT(*window, HasSubstr(absl::StrCat("receipt ", new_key, " ")));
  EXPECT_THAT(*window, HasSubstr(absl::StrCat("log ", log_key, " 0 -\n")));
  EXPECT_THAT(*window, HasSubstr(absl::StrCat("log ", new_log_key, " ")));
  absl::StatusOr<std::string> in_window = d.Run(online, {"sync"});
  ASSERT_TRUE(in_window.ok()) << in_window.status();
  absl::StatusOr<std::string> held_before = d.Run(online, {"checkpoint"});
  ASSERT_TRUE(held_before.ok()) << held_before.status();

  d.StopServer();
  absl::StatusOr<std::string> switched = ServerKeys(d, "switch");
  ASSERT_TRUE(switched.ok()) << switched.status();
  EXPECT_EQ(Shown(*switched, "receipt"), new_key);
  EXPECT_EQ(Shown(*switched, "log"), new_log_key);
  absl::StatusOr<CommandResult> again =
      RunCommand({ServerBinary(), "keys", "switch", "--data", d.server_data()});
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->exit_code, 0) << "a second switch found a next key";
  EXPECT_THAT(again->err, HasSubstr("temoin-server keys next"));
  ASSERT_TRUE(d.StartServer().ok());
  EXPECT_EQ(Shown(ServerKeys(d, "show").value_or(""), "receipt"), new_key);
  EXPECT_EQ(Shown(ServerKeys(d, "show").value_or(""), "log"), new_log_key);
  // A no-op sync checks the new key's checkpoint of the same tree against the held one.
  absl::StatusOr<std::string> no_op = d.Run(online, {"sync"});
  ASSERT_TRUE(no_op.ok()) << no_op.status();

  // The online device follows the new key: its next record is receipted under it.
  // Its checkpoint under the new log key was checked against the one it held under
  // the old key, and is held now.
  auto second = d.Record(online, {generator.Next()});
  ASSERT_TRUE(second.ok()) << second.status();
  absl::StatusOr<std::string> after_switch = d.Run(online, {"sync"});
  ASSERT_TRUE(after_switch.ok()) << after_switch.status();
  absl::StatusOr<std::string> held_after = d.Run(online, {"checkpoint"});
  ASSERT_TRUE(held_after.ok()) << held_after.status();
  EXPECT_NE(*held_after, *held_before);
  EXPECT_EQ(held_after->substr(0, held_after->find('\n')),
            held_before->substr(0, held_before->find('\n')))
      << "the log kept its origin";

  // The admin retires the old keys: only the new ones are current.
  absl::StatusOr<std::string> retired =
      d.Run(d.admin(),
            {"admin", "certify-server-keys", "--receipt-key", new_key, "--log-key", new_log_key});
  ASSERT_TRUE(retired.ok()) << retired.status();
  EXPECT_THAT(*retired, Not(HasSubstr(absl::StrCat("receipt ", old_key, " 0 -\n"))));
  EXPECT_THAT(*retired, HasSubstr(absl::StrCat("receipt ", new_key, " ")));
  EXPECT_THAT(*retired, Not(HasSubstr(absl::StrCat("log ", log_key, " 0 -\n"))));
  EXPECT_THAT(*retired, HasSubstr(absl::StrCat("log ", new_log_key, " ")));
  ASSERT_TRUE(d.Run(online, {"sync"}).ok()) << "after the old log key's retirement";

  // The device offline for the whole rotation, which never held a statement, follows the
  // certified key at its first sync; its record goes up and is purged under its receipt.
  absl::StatusOr<std::string> came_back = d.Run(offline, {"sync"});
  ASSERT_TRUE(came_back.ok()) << came_back.status();
  absl::StatusOr<nlohmann::json> counts = d.RecordCounts(offline);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->value("purged", 0), 1) << counts->dump();
  absl::StatusOr<Deployment::ServerListing> listing = d.ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_THAT(listing->record_ids, Contains((*kept_offline)[0].first));

  // The reviewer checks every receipt, the old key's and the new key's.
  absl::StatusOr<std::vector<nlohmann::json>> exported = d.ReviewerExport();
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(exported->size(), 3u);
  EXPECT_TRUE(AllVerified(*exported)) << nlohmann::json(*exported).dump();

  // A switch the organisation never certified: the device takes no receipt under that
  // key, purges nothing and says why. (Its record may have gone up with the sign-in,
  // which rides on the upload: sealed, it stays on the device until a certified key
  // receipts it.)
  ASSERT_TRUE(ServerKeys(d, "next").ok());
  d.StopServer();
  ASSERT_TRUE(ServerKeys(d, "switch").ok());
  ASSERT_TRUE(d.StartServer().ok());
  auto third = d.Record(online, {generator.Next()});
  ASSERT_TRUE(third.ok()) << third.status();
  CommandResult refused = d.Temoin(online, {"sync"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("has not certified"));
  EXPECT_THAT(refused.err, HasSubstr("temoin admin certify-server-keys"));
  EXPECT_THAT(refused.err, HasSubstr("nothing was purged"));
  absl::StatusOr<nlohmann::json> still = d.RecordCounts(online);
  ASSERT_TRUE(still.ok()) << still.status();
  EXPECT_EQ(still->value("sealed", 0), 1) << still->dump();
}

}  // namespace
}  // namespace temoin::e2e

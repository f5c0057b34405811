// Issue 12, key rotation without breaking pins, through the real binaries over real TLS:
// the server makes its next TLS key, the admin announces it signed with the organisation
// key, a device that syncs in the window learns it and keeps reaching the server after
// the switch, and a device that was offline for the whole window is told the key the
// server now presents and the command that re-pins it, rather than a bare TLS error;
// once re-pinned, its records go up. The announcement is audited.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(TlsRotationTest, AnnouncedKeyKeepsDevicesAndAnOfflineDeviceIsToldHowToRepin) {
  absl::StatusOr<std::unique_ptr<Deployment>> made =
      Deployment::Create("temoin-e2e-tls-rotation", /*monitors=*/2);
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  const std::string& online = d.monitors()[0];
  const std::string& offline = d.monitors()[1];

  absl::StatusOr<std::string> next_pin = d.ServerTls("next");
  ASSERT_TRUE(next_pin.ok()) << next_pin.status();
  ASSERT_EQ(next_pin->size(), 64u) << *next_pin;
  // Running it again keeps the same next key (an operator may repeat a step).
  EXPECT_EQ(d.ServerTls("next").value_or(""), *next_pin);

  // A mistyped pin is refused before anything is signed.
  CommandResult typo = d.Temoin(d.admin(), {"admin", "rotate-tls", "--pin", "00"});
  EXPECT_NE(typo.exit_code, 0);
  ASSERT_TRUE(d.Run(d.admin(), {"admin", "rotate-tls", "--pin", *next_pin}).ok());

  // The window: the online monitor syncs (and so learns the next pin); the offline one
  // records but does not sync.
  TestimonyGenerator generator(20261204);
  auto recorded_online = d.Record(online, {generator.Next()});
  ASSERT_TRUE(recorded_online.ok()) << recorded_online.status();
  ASSERT_TRUE(d.Run(online, {"sync"}).ok());
  auto recorded_offline = d.Record(offline, {generator.Next()});
  ASSERT_TRUE(recorded_offline.ok()) << recorded_offline.status();

  d.StopServer();
  absl::StatusOr<std::string> switched = d.ServerTls("switch");
  ASSERT_TRUE(switched.ok()) << switched.status();
  EXPECT_EQ(*switched, *next_pin);
  ASSERT_TRUE(d.StartServer().ok());

  // The device that learnt the announcement reaches the new key, twice (the second time
  // on the promoted pin alone), and so does the admin.
  auto more_online = d.Record(online, {generator.Next()});
  ASSERT_TRUE(more_online.ok()) << more_online.status();
  absl::StatusOr<std::string> first = d.Run(online, {"sync"});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(d.Run(online, {"sync"}).ok());
  ASSERT_TRUE(d.Run(d.admin(), {"devices"}).ok());

  // The device that missed it is told what to do, naming the key, and sends nothing.
  CommandResult refused = d.Temoin(offline, {"sync"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr(absl::StrCat("presents TLS key ", *next_pin)));
  EXPECT_THAT(refused.err, HasSubstr(absl::StrCat("temoin repin --pin ", *next_pin)));
  absl::StatusOr<Deployment::ServerListing> before = d.ListServerRecords();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_THAT(before->record_ids, Not(Contains((*recorded_offline)[0].first)));
  EXPECT_THAT(before->record_ids, Contains((*more_online)[0].first));

  // Re-pinned with the key the admin confirms, it syncs and its record goes up.
  ASSERT_TRUE(d.Run(offline, {"repin", "--pin", *next_pin}).ok());
  absl::StatusOr<std::string> synced = d.Run(offline, {"sync"});
  ASSERT_TRUE(synced.ok()) << synced.status();
  absl::StatusOr<Deployment::ServerListing> after = d.ListServerRecords();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(after->record_ids, Contains((*recorded_offline)[0].first));

  // The announcement is in the audit log, and the old key's certificate is kept.
  absl::StatusOr<std::string> audit = d.Run(d.admin(), {"audit", "--verify"});
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_THAT(*audit, HasSubstr("tls.announce"));
}

}  // namespace
}  // namespace temoin::e2e

// End to end, on loopback with the real binaries: key rotation, ungrant, revocation with
// a wipe order, the audit log (and tampering with it), and organisation key recovery.

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "server/storage/rocks_store.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

constexpr char kClient[] = TEMOIN_BINARY_DIR "/client/temoin";
constexpr char kServer[] = TEMOIN_BINARY_DIR "/server/temoin-server";
constexpr char kPassphrase[] = "access control test passphrase";
constexpr char kProject[] = "gao-2026";

std::string Trimmed(const std::string& s) {
  size_t end = s.find_last_not_of(" \r\n");
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

class AccessControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Create("temoin-e2e-access");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(std::move(*dir));
    absl::StatusOr<int> port = PickFreeLoopbackPort();
    ASSERT_TRUE(port.ok());
    port_ = *port;
    data_ = dir_->Sub("server");
    absl::StatusOr<CommandResult> init =
        RunCommand({kServer, "init", "--data", data_, "--org", "Test NGO", "--listen",
                    absl::StrCat("127.0.0.1:", port_)});
    ASSERT_TRUE(init.ok() && init->exit_code == 0);
    StartServer();
    admin_ = dir_->Sub("admin");
    Must(admin_, {"enroll", Trimmed(init->out)});
    Must(admin_, {"project", "create", kProject});
    monitor_ = dir_->Sub("monitor");
    monitor_id_ = Enrol(monitor_, "monitor");
    reviewer_ = dir_->Sub("reviewer");
    reviewer_id_ = Enrol(reviewer_, "reviewer");
    Must(admin_, {"grant", "--project", kProject, "--reviewer", reviewer_id_});
  }

  void StartServer() {
    auto server = ServerProcess::Start(kServer, data_, port_, dir_->Sub("server.log"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  CommandResult Temoin(const std::string& home, const std::vector<std::string>& args) {
    return RunTemoin(kClient, home, args, kPassphrase);
  }

  std::string Must(const std::string& home, const std::vector<std::string>& args) {
    CommandResult r = Temoin(home, args);
    EXPECT_EQ(r.exit_code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
    return Trimmed(r.out);
  }

  std::string Enrol(const std::string& home, const std::string& role) {
    std::string code = Must(admin_, {"invite", "--project", kProject, "--role", role});
    return Must(home, {"enroll", code});
  }

  // Records `n` synthetic testimonies on the monitor and syncs; returns their ids.
  std::vector<std::string> RecordAndSync(int n, uint32_t seed) {
    Must(monitor_, {"sync"});  // picks up the newest epoch first
    TestimonyGenerator generator(seed);
    std::string array = "[";
    for (int i = 0; i < n; ++i) {
      absl::StrAppend(&array, i == 0 ? "" : ",", TestimonyToJson(generator.Next()));
    }
    absl::StrAppend(&array, "]");
    std::string path = dir_->Sub(absl::StrCat("batch-", seed, ".json"));
    EXPECT_TRUE(WriteFile(path, array).ok());
    std::vector<std::string> ids =
        absl::StrSplit(Must(monitor_, {"record", "--project", kProject, "--from", path}), '\n');
    Must(monitor_, {"sync"});
    return ids;
  }

  // Record ids the reviewer can open after a sync (`review list`, first column).
  std::string ReviewerList(const std::string& home) {
    Temoin(home, {"sync"});
    return Temoin(home, {"review", "list"}).out;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
  std::string data_, admin_, monitor_, reviewer_, monitor_id_, reviewer_id_;
};

TEST_F(AccessControlTest, RotateUngrantRevokeWipeAuditAndRecover) {
  std::vector<std::string> before = RecordAndSync(3, 11);

  // Rotation: the monitor seals to epoch 2 after its next sync; the reviewer reads both.
  EXPECT_EQ(Must(admin_, {"project", "rotate-key", kProject}), "2");
  std::vector<std::string> after = RecordAndSync(2, 12);
  std::string listed = ReviewerList(reviewer_);
  for (const auto& id : before) EXPECT_TRUE(absl::StrContains(listed, id)) << id;
  for (const auto& id : after) EXPECT_TRUE(absl::StrContains(listed, id)) << id;
  for (const auto& id : after) {
    CommandResult show = Temoin(reviewer_, {"review", "show", id});
    EXPECT_EQ(show.exit_code, 0) << show.err;
  }

  // Ungrant: a second reviewer loses access at once and never gets the new epoch.
  std::string second = dir_->Sub("reviewer2");
  std::string second_id = Enrol(second, "reviewer");
  Must(admin_, {"grant", "--project", kProject, "--reviewer", second_id});
  Must(second, {"sync"});
  Must(admin_, {"ungrant", "--project", kProject, "--reviewer", second_id});
  std::vector<std::string> sealed_after_ungrant = RecordAndSync(1, 13);
  std::string second_list = ReviewerList(second);
  EXPECT_FALSE(absl::StrContains(second_list, sealed_after_ungrant[0]));
  EXPECT_TRUE(absl::StrContains(ReviewerList(reviewer_), sealed_after_ungrant[0]));

  // Revocation: the next call is refused, the device obeys the org-signed wipe order.
  Must(admin_, {"revoke", monitor_id_});
  std::string devices = Must(admin_, {"devices"});
  EXPECT_TRUE(
      absl::StrContains(devices, absl::StrCat(monitor_id_, "\tmonitor\t", kProject, "\trevoked")))
      << devices;
  CommandResult refused = Temoin(monitor_, {"sync"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(refused.err, "device has been revoked")) << refused.err;
  EXPECT_TRUE(absl::StrContains(refused.err, "vault has been wiped")) << refused.err;
  struct stat st {};
  EXPECT_NE(::stat((monitor_ + "/vault.key").c_str(), &st), 0) << "vault.key survived the wipe";
  EXPECT_NE(::stat((monitor_ + "/store").c_str(), &st), 0) << "store/ survived the wipe";
  // Records committed before revocation stay readable.
  for (const auto& id : before) {
    EXPECT_EQ(Temoin(reviewer_, {"review", "show", id}).exit_code, 0) << id;
  }

  // Audit: every action is there, the chain verifies, no plaintext.
  std::string audit = Must(admin_, {"audit", "--verify"});
  for (const char* action : {"project.create", "invite.create", "device.enroll", "grant.put",
                             "project.rotate", "grant.remove", "device.revoke", "record.fetch"}) {
    EXPECT_TRUE(absl::StrContains(audit, action)) << action;
  }
  EXPECT_TRUE(absl::StrContains(audit, absl::StrCat("device.revoke\t", monitor_id_)));

  // Recovery: 3-of-5 shares rebuild the key; a damaged share and too few are refused.
  std::string shares = dir_->Sub("shares");
  std::vector<std::string> files = absl::StrSplit(
      Must(admin_, {"admin", "split-key", "--shares", "5", "--threshold", "3", "--out", shares}),
      '\n');
  ASSERT_EQ(files.size(), 5u);
  CommandResult too_few = Temoin(admin_, {"admin", "recover", files[0], files[3]});
  EXPECT_NE(too_few.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(too_few.err, "too few shares: need 3, have 2")) << too_few.err;
  absl::StatusOr<std::string> text = ReadFile(files[1]);
  ASSERT_TRUE(text.ok());
  std::string damaged = *text;
  size_t at = damaged.find("share ") + 10;
  damaged[at] = damaged[at] == 'a' ? 'b' : 'a';
  std::string damaged_path = dir_->Sub("damaged.txt");
  ASSERT_TRUE(WriteFile(damaged_path, damaged).ok());
  CommandResult corrupt = Temoin(admin_, {"admin", "recover", files[0], damaged_path, files[4]});
  EXPECT_NE(corrupt.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(corrupt.err, "share 2 is damaged (checksum mismatch)"))
      << corrupt.err;
  // A new admin device, enrolled with an admin invite, gets the key from three trustees
  // and can then do admin work that needs it.
  std::string admin2 = dir_->Sub("admin2");
  Must(admin2, {"enroll", Must(admin_, {"invite", "--role", "admin"})});
  EXPECT_NE(Temoin(admin2, {"project", "create", "second-project"}).exit_code, 0);
  Must(admin2, {"admin", "recover", files[4], files[2], files[0]});
  Must(admin2, {"project", "create", "second-project"});

  // Tampering: edit one stored audit entry's bytes directly; --verify must catch it.
  server_.reset();
  {
    auto store = server::RocksStore::Open(data_ + "/db");
    ASSERT_TRUE(store.ok()) << store.status();
    std::string key, value;
    ASSERT_TRUE((*store)
                    ->Scan("aud/", "",
                           [&](absl::string_view k, absl::string_view v) {
                             key = std::string(k);
                             value = std::string(v);
                             return false;  // the first entry
                           })
                    .ok());
    ASSERT_FALSE(value.empty());
    value[value.size() - 1] ^= 0x01;
    server::WriteBatch batch;
    batch.Put(key, value);
    ASSERT_TRUE((*store)->Commit(batch).ok());
  }
  StartServer();
  CommandResult tampered = Temoin(admin_, {"audit", "--verify"});
  EXPECT_NE(tampered.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(tampered.err, "audit log does not verify")) << tampered.err;
}

}  // namespace
}  // namespace temoin::e2e

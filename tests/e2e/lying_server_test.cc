// Issue 15: a compromised server must not be able to invent testimonies or take project
// keys. temoin-lying-server (tests/e2e/lying_server.cc) holds the real server's TLS and
// receipt keys, sits where every device was enrolled, forwards to the real
// temoin-server and lies; the real `temoin` binary must refuse each lie, loudly and by
// name: an invented record under a real monitor's id, one record under two ids, a
// rewritten device_seq, a grantee of its own before a rotation, an uncertified device
// offered for a grant, a project left out of a revocation.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fcntl.h>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/harness.h"
#include "tests/e2e/synthetic_testimony.h"

extern char** environ;

namespace temoin::e2e {
namespace {

constexpr char kClient[] = TEMOIN_BINARY_DIR "/client/temoin";
constexpr char kServer[] = TEMOIN_BINARY_DIR "/server/temoin-server";
constexpr char kLiar[] = TEMOIN_LYING_SERVER;
constexpr char kPassphrase[] = "lying server test passphrase";
constexpr char kProject[] = "gao-2026";

std::string Trimmed(const std::string& s) {
  size_t end = s.find_last_not_of(" \r\n");
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

std::vector<std::string> Lines(const std::string& s) {
  return absl::StrSplit(s, '\n', absl::SkipEmpty());
}

class LyingServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Create("temoin-e2e-liar");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(std::move(*dir));
    absl::StatusOr<int> front = PickFreeLoopbackPort();
    absl::StatusOr<int> back = PickFreeLoopbackPort();
    ASSERT_TRUE(front.ok() && back.ok() && *front != *back);
    front_ = *front;
    back_ = *back;
    data_ = dir_->Sub("server");
    lies_ = dir_->Sub("lies");
    ASSERT_TRUE(WriteFile(lies_, "").ok());
    // Devices are enrolled at the front address, where the liar listens.
    absl::StatusOr<CommandResult> init =
        RunCommand({kServer, "init", "--data", data_, "--org", "Test NGO", "--listen",
                    absl::StrCat("127.0.0.1:", front_)});
    ASSERT_TRUE(init.ok() && init->exit_code == 0);
    auto server = ServerProcess::Start(kServer, data_, back_, dir_->Sub("server.log"), {},
                                       std::chrono::seconds(15),
                                       {"--listen", absl::StrCat("127.0.0.1:", back_)});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    StartLiar();

    admin_ = dir_->Sub("admin");
    Must(admin_, {"enroll", Trimmed(init->out)});
    Must(admin_, {"project", "create", kProject});
    monitor_ = dir_->Sub("monitor");
    monitor_id_ = Enrol(monitor_, "monitor");
    reviewer_ = dir_->Sub("reviewer");
    reviewer_id_ = Enrol(reviewer_, "reviewer");
    Must(admin_, {"grant", "--project", kProject, "--reviewer", reviewer_id_});
  }

  void TearDown() override {
    if (liar_pid_ > 0) {
      kill(liar_pid_, SIGKILL);
      waitpid(liar_pid_, nullptr, 0);
    }
  }

  void StartLiar() {
    std::string log = dir_->Sub("liar.log");
    std::vector<std::string> args = {kLiar,
                                     "--data",
                                     data_,
                                     "--listen",
                                     absl::StrCat("127.0.0.1:", front_),
                                     "--backend",
                                     absl::StrCat("127.0.0.1:", back_),
                                     "--lies",
                                     lies_};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    ASSERT_EQ(posix_spawn(&liar_pid_, kLiar, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 150 && !PortAcceptsConnections(front_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(PortAcceptsConnections(front_)) << ReadFile(log).value_or("");
  }

  void Lie(const std::vector<std::string>& lies) {
    ASSERT_TRUE(WriteFile(lies_, absl::StrCat(absl::StrJoin(lies, "\n"), "\n")).ok());
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

  // Records `n` testimonies and uploads them to the real server directly (the liar
  // forwards no upload stream); returns their ids.
  std::vector<std::string> RecordAndUpload(int n, uint32_t seed) {
    TestimonyGenerator generator(seed);
    std::string array = "[";
    for (int i = 0; i < n; ++i) {
      absl::StrAppend(&array, i == 0 ? "" : ",", TestimonyToJson(generator.Next()));
    }
    absl::StrAppend(&array, "]");
    std::string path = dir_->Sub(absl::StrCat("batch-", seed, ".json"));
    EXPECT_TRUE(WriteFile(path, array).ok());
    std::vector<std::string> ids =
        Lines(Must(monitor_, {"record", "--project", kProject, "--from", path}));
    Must(monitor_, {"sync", "--server", absl::StrCat("127.0.0.1:", back_)});
    return ids;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ServerProcess> server_;
  pid_t liar_pid_ = -1;
  int front_ = 0, back_ = 0;
  std::string data_, lies_, admin_, monitor_, reviewer_, monitor_id_, reviewer_id_;
};

// The server's answer names a device other than the one whose keys were sent: the
// device refuses it, and the vault it made for the enrolment goes (client/sync/enroll.cc
// RemoveNewVault; a key and store with no profile would stay), so the home enrols afresh.
TEST_F(LyingServerTest, DeviceRefusesAnEnrolmentAnsweredWithAnotherDevicesId) {
  const std::string code = Must(admin_, {"invite", "--project", kProject, "--role", "monitor"});
  Lie({"other-device-id"});
  const std::string home = dir_->Sub("lied-to");
  CommandResult r = Temoin(home, {"enroll", code});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "server answered with a device id for other keys")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "enrol with a new code")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(home + "/vault.key"));
  EXPECT_FALSE(std::filesystem::exists(home + "/store"));
  EXPECT_FALSE(std::filesystem::exists(home + "/vault.cover"));
  Lie({});
  const std::string fresh = Must(admin_, {"invite", "--project", kProject, "--role", "monitor"});
  EXPECT_EQ(Temoin(home, {"enroll", fresh}).exit_code, 0);
}

TEST_F(LyingServerTest, ReviewerMarksInventedDuplicatedAndRewrittenRecordsByName) {
  std::vector<std::string> real = RecordAndUpload(2, 51);
  ASSERT_EQ(real.size(), 2u);
  Lie({"forge", "duplicate", "device-seq"});
  Must(reviewer_, {"sync"});

  CommandResult list = Temoin(reviewer_, {"review", "--offline", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::map<std::string, std::string> marks;  // id -> last column
  for (const std::string& line : Lines(list.out)) {
    std::vector<std::string> cells = absl::StrSplit(line, '\t');
    marks[cells.front()] = cells.back();
  }
  ASSERT_EQ(marks.size(), 4u) << list.out;
  std::vector<std::string> invented;
  for (const auto& [id, mark] : marks) {
    if (id == real[0] || id == real[1]) {
      EXPECT_EQ(mark, "verified") << id << "\n" << list.err;
    } else {
      EXPECT_EQ(mark, "UNVERIFIED") << id;
      invented.push_back(id);
    }
  }
  ASSERT_EQ(invented.size(), 2u);
  // Each lie is named on stderr, with the record it concerns.
  int forged = 0, duplicated = 0;
  for (const std::string& id : invented) {
    std::string prefix = absl::StrCat("record ", id, " is UNVERIFIED: ");
    if (absl::StrContains(list.err, prefix + "the device signature does not verify")) ++forged;
    if (absl::StrContains(list.err, prefix + "the server served it under another record id")) {
      ++duplicated;
    }
  }
  EXPECT_EQ(forged, 1) << list.err;
  EXPECT_EQ(duplicated, 1) << list.err;
  EXPECT_TRUE(absl::StrContains(list.err, "the server listed another device_seq")) << list.err;
  EXPECT_TRUE(absl::StrContains(list.err, "2 of 4 records are unverified")) << list.err;

  // The export marks them too, and takes device_seq from the signed header.
  std::string out = dir_->Sub("export.json");
  Must(reviewer_, {"review", "--offline", "export", "--format", "json", "--out", out});
  nlohmann::json exported = nlohmann::json::parse(ReadFile(out).value_or("[]"));
  ASSERT_EQ(exported.size(), 4u);
  std::set<uint64_t> real_seqs;
  for (const nlohmann::json& element : exported) {
    bool is_real = element["record_id"] == real[0] || element["record_id"] == real[1];
    EXPECT_EQ(element["verified"].get<bool>(), is_real) << element.dump();
    if (is_real) {
      real_seqs.insert(element["device_seq"].get<uint64_t>());
    } else {
      EXPECT_FALSE(element["unverified_reason"].get<std::string>().empty());
    }
  }
  EXPECT_EQ(real_seqs, (std::set<uint64_t>{1, 2}));

  // Statistics count only what verifies: the server cannot inflate them.
  nlohmann::json stats =
      nlohmann::json::parse(Must(reviewer_, {"review", "--offline", "stats", "--json"}));
  EXPECT_EQ(stats["records"], 2);
}

// A receipt the server can sign is not enough: the record's leaf must be in the log
// that the devices checked. A backdated arrival is kept, shown unverified, and named.
TEST_F(LyingServerTest, ReviewerMarksARecordTheLogDoesNotHold) {
  std::vector<std::string> real = RecordAndUpload(2, 61);
  ASSERT_EQ(real.size(), 2u);
  Lie({"backdate"});
  CommandResult sync = Temoin(reviewer_, {"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_TRUE(absl::StrContains(sync.err, "is not in the server's log")) << sync.err;

  CommandResult list = Temoin(reviewer_, {"review", "--offline", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  int verified = 0, unlogged = 0;
  for (const std::string& line : Lines(list.out)) {
    std::vector<std::string> cells = absl::StrSplit(line, '\t');
    if (cells.back() == "verified") ++verified;
    if (cells.back() == "UNVERIFIED" &&
        absl::StrContains(list.err, absl::StrCat("record ", cells.front(),
                                                 " is UNVERIFIED: it is not in the server's "
                                                 "transparency log"))) {
      ++unlogged;
    }
  }
  EXPECT_EQ(verified, 1) << list.out << list.err;
  EXPECT_EQ(unlogged, 1) << list.out << list.err;
}

TEST_F(LyingServerTest, AdminRefusesToRotateToAGranteeOfTheServersOwn) {
  RecordAndUpload(1, 52);
  Lie({"extra-grantee", "fake-device"});
  std::string fake_id;
  for (const std::string& line : Lines(Must(admin_, {"devices"}))) {
    std::string id = line.substr(0, line.find('\t'));
    if (absl::StrContains(line, "\treviewer\t") && id != reviewer_id_) fake_id = id;
  }
  ASSERT_EQ(fake_id.size(), 32u);

  CommandResult rotate = Temoin(admin_, {"project", "rotate-key", kProject});
  EXPECT_NE(rotate.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(rotate.err, fake_id)) << rotate.err;
  EXPECT_TRUE(absl::StrContains(rotate.err, "never granted")) << rotate.err;

  CommandResult grant = Temoin(admin_, {"grant", "--project", kProject, "--reviewer", fake_id});
  EXPECT_NE(grant.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(grant.err, absl::StrCat("device ", fake_id, " has no certificate")))
      << grant.err;

  // Nothing was rotated: with the server honest again the next epoch is 2, and the real
  // reviewer (wrapped from the admin's own book) still reads everything.
  Lie({});
  EXPECT_EQ(Must(admin_, {"project", "rotate-key", kProject}), "2");
  std::vector<std::string> after = RecordAndUpload(1, 53);
  Must(reviewer_, {"sync"});
  CommandResult list = Temoin(reviewer_, {"review", "--offline", "list"});
  EXPECT_EQ(Lines(list.out).size(), 2u) << list.err;
  EXPECT_TRUE(absl::StrContains(list.out, after[0] + "\t"));
}

TEST_F(LyingServerTest, AdminRotatesAProjectTheServerLeftOutOfARevocation) {
  Lie({"omit-projects"});
  CommandResult revoke = Temoin(admin_, {"revoke", reviewer_id_});
  EXPECT_NE(revoke.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(revoke.err, absl::StrCat("did not name project(s) ", kProject)))
      << revoke.err;
  // It was rotated anyway: epoch 1, then the revocation's 2, so the next is 3.
  Lie({});
  EXPECT_EQ(Must(admin_, {"project", "rotate-key", kProject}), "3");
}

}  // namespace
}  // namespace temoin::e2e

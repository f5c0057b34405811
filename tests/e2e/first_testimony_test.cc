// End to end, on loopback: an organisation sets up a server, enrols an admin, a monitor
// and a reviewer; the monitor records 200 synthetic testimonies offline and syncs once;
// the reviewer pulls and exports them. Then everything a hostile or clumsy user could do
// at the command line, and a byte scan that no testimony text is left in clear on the
// server or on any device.

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/vault/key_file.h"
#include "client/vault/vault.h"
#include "common/enrollment_code.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/harness.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kClient[] = TEMOIN_BINARY_DIR "/client/temoin";
constexpr char kServer[] = TEMOIN_BINARY_DIR "/server/temoin-server";
constexpr char kPassphrase[] = "correct horse battery staple";
constexpr char kProject[] = "mopti-2026";
constexpr uint32_t kSeed = 20260314;
constexpr int kSingleFiles = 20;        // one `record --from` per file, as a monitor types them
constexpr int kArrayTestimonies = 180;  // one bulk file, as paper forms typed up later
constexpr int kTotal = kSingleFiles + kArrayTestimonies;

// Everything the tests share: made once, because each client command pays an Argon2id
// derivation and the whole suite must stay within a few minutes on two cores.
struct World {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ServerProcess> server;
  int port = 0;
  std::string server_data, server_log, admin, monitor, reviewer;
  std::string monitor_id, reviewer_id;
  std::string monitor_code;                       // already redeemed
  std::map<std::string, v1::Testimony> recorded;  // by the record id `record` printed
  std::vector<std::string> secrets;               // markers, victim names and localities
  int homes_made = 0;
};

absl::Status CommandFailed(const std::vector<std::string>& args, const CommandResult& r) {
  return absl::InternalError(absl::StrCat("`", absl::StrJoin(args, " "), "` exited with ",
                                          r.exit_code, r.timed_out ? " (timed out)" : "",
                                          "; stderr: ", r.err));
}

std::string Trimmed(const std::string& s) {
  size_t end = s.find_last_not_of(" \r\n");
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

std::vector<std::string> Lines(const std::string& s) {
  return absl::StrSplit(Trimmed(s), '\n', absl::SkipEmpty());
}

bool IsLowerHex(const std::string& s, size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// One CSV line, RFC 4180 quoting (our rows hold no newline).
std::vector<std::string> ParseCsvLine(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

std::vector<std::string> VocabularyCodes(const std::string& list) {
  absl::StatusOr<std::string> text = ReadFile(TEMOIN_SOURCE_DIR "/data/vocabulary.json");
  std::vector<std::string> codes;
  if (!text.ok()) return codes;
  // Kept in a variable: a range-for over a member of a temporary would dangle.
  const nlohmann::json vocabulary = nlohmann::json::parse(*text, nullptr, false);
  if (!vocabulary.is_object() || !vocabulary.contains(list)) return codes;
  for (const auto& term : vocabulary[list]) codes.push_back(term.value("code", ""));
  return codes;
}

class FirstTestimonyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World;
    setup_status_ = new absl::Status(BuildWorld(*world_));
  }

  static void TearDownTestSuite() {
    delete world_;  // stops the server before its directory goes
    world_ = nullptr;
    delete setup_status_;
    setup_status_ = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(setup_status_->ok()) << *setup_status_; }

  // `temoin --home HOME args...` with the right passphrase unless `env` overrides it.
  static CommandResult Temoin(const std::string& home, const std::vector<std::string>& args,
                              const EnvVars& env = {}) {
    std::vector<std::string> argv = {kClient, "--home", home};
    argv.insert(argv.end(), args.begin(), args.end());
    EnvVars full_env = {{"TEMOIN_PASSPHRASE", kPassphrase}};
    full_env.insert(full_env.end(), env.begin(), env.end());
    absl::StatusOr<CommandResult> result = RunCommand(argv, full_env);
    if (!result.ok()) return CommandResult{.exit_code = -1, .err = result.status().ToString()};
    return *result;
  }

  // Like Temoin(), for steps that must succeed: their stdout, or why they failed.
  static absl::StatusOr<std::string> Run(const std::string& home,
                                         const std::vector<std::string>& args) {
    CommandResult r = Temoin(home, args);
    if (r.exit_code != 0) return CommandFailed(args, r);
    return r.out;
  }

  static absl::Status BuildWorld(World& w);
  static absl::Status RecordTestimonies(World& w);

  // A new, not yet enrolled home directory.
  static std::string NewHome() {
    return world_->dir->Sub(absl::StrCat("home-", ++world_->homes_made));
  }

  // A vault made in `home` under kPassphrase, not enrolled, holding one marker value
  // (made at the floor cost: the test pays Argon2id once per open).
  static absl::Status MakeUnenrolledVault(const std::string& home) {
    absl::StatusOr<std::unique_ptr<client::Vault>> vault =
        client::Vault::Create(home, kPassphrase, client::VaultOptions{client::kKdfFloor});
    if (!vault.ok()) return vault.status();
    client::VaultBatch batch;
    batch.Put("e2e", "marker", "made before enrol");
    return (*vault)->Commit(batch);
  }

  static std::string NewFile(const std::string& name, const std::string& contents) {
    std::string path = world_->dir->Sub(name);
    EXPECT_TRUE(WriteFile(path, contents).ok()) << path;
    return path;
  }

  // A fresh one-time code for a monitor, decoded so that a test can alter it.
  static absl::StatusOr<v1::EnrollmentCode> FreshMonitorCode(const std::string& extra_ttl = "") {
    std::vector<std::string> args = {"invite", "--project", kProject, "--role", "monitor"};
    if (!extra_ttl.empty()) args.insert(args.end(), {"--ttl-hours", extra_ttl});
    absl::StatusOr<std::string> text = Run(world_->admin, args);
    if (!text.ok()) return text.status();
    return DecodeEnrollmentCode(*text);
  }

  // The monitor's `status --json` record counts, or a null object when it fails.
  static nlohmann::json MonitorRecordCounts() {
    CommandResult r = Temoin(world_->monitor, {"status", "--json"});
    nlohmann::json status = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    if (r.exit_code != 0 || status.is_discarded()) return nlohmann::json();
    return status["records"];
  }

  // A refusal as DESIGN.md's command line promises: non-zero exit, no result on stdout,
  // and one line on stderr that starts "temoin: " and says `reason`.
  static ::testing::AssertionResult Refused(const CommandResult& r, const std::string& reason) {
    auto failure = [&r](absl::string_view why) {
      return ::testing::AssertionFailure()
             << why << "\n  exit: " << r.exit_code << (r.timed_out ? " (timed out)" : "")
             << "\n  stdout: " << r.out << "\n  stderr: " << r.err;
    };
    if (r.timed_out) return failure("the command timed out");
    if (r.exit_code == 0) return failure("the command succeeded");
    if (!r.out.empty()) return failure("stdout is not empty");
    if (!absl::StartsWith(r.err, "temoin: ")) return failure("stderr does not start 'temoin: '");
    if (std::count(r.err.begin(), r.err.end(), '\n') != 1) {
      return failure("stderr is not exactly one line");
    }
    if (!absl::StrContains(r.err, reason)) return failure(absl::StrCat("no '", reason, "'"));
    return ::testing::AssertionSuccess();
  }

  // After a refused `record`, nothing may have been sealed and the 200 stay purged.
  static void ExpectNothingNewRecorded() {
    nlohmann::json counts = MonitorRecordCounts();
    ASSERT_TRUE(counts.is_object());
    EXPECT_EQ(counts.value("draft", -1), 0);
    EXPECT_EQ(counts.value("sealed", -1), 0);
    EXPECT_EQ(counts.value("committed", -1), 0);
    EXPECT_EQ(counts.value("received", -1), 0);
    EXPECT_EQ(counts.value("purged", -1), kTotal);
  }

  static World* world_;
  static absl::Status* setup_status_;
};

World* FirstTestimonyTest::world_ = nullptr;
absl::Status* FirstTestimonyTest::setup_status_ = nullptr;

// The test's own ASSIGN_OR_RETURN: `lhs` may be a declaration or a member.
#define E2E_CONCAT_INNER(a, b) a##b
#define E2E_CONCAT(a, b) E2E_CONCAT_INNER(a, b)
#define E2E_ASSIGN_OR_RETURN(lhs, expr) \
  E2E_ASSIGN_OR_RETURN_IMPL(E2E_CONCAT(e2e_or_, __LINE__), lhs, expr)
#define E2E_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)
#define E2E_RETURN_IF_ERROR(expr)                             \
  do {                                                        \
    if (absl::Status e2e_status = (expr); !e2e_status.ok()) { \
      return e2e_status;                                      \
    }                                                         \
  } while (0)

absl::Status FirstTestimonyTest::BuildWorld(World& w) {
  absl::StatusOr<TempDir> dir = TempDir::Create("temoin-e2e-first-testimony");
  if (!dir.ok()) return dir.status();
  w.dir = std::make_unique<TempDir>(std::move(*dir));
  w.server_data = w.dir->Sub("server");
  w.server_log = w.dir->Sub("server.log");  // outside the data dir; scanned as well
  w.admin = w.dir->Sub("admin");
  w.monitor = w.dir->Sub("monitor");
  w.reviewer = w.dir->Sub("reviewer");
  E2E_ASSIGN_OR_RETURN(w.port, PickFreeLoopbackPort());

  std::vector<std::string> init = {
      kServer, "init",     "--data",   w.server_data,
      "--org", "Demo NGO", "--listen", absl::StrCat("127.0.0.1:", w.port)};
  E2E_ASSIGN_OR_RETURN(CommandResult init_result, RunCommand(init));
  if (init_result.exit_code != 0) return CommandFailed(init, init_result);
  E2E_ASSIGN_OR_RETURN(w.server,
                       ServerProcess::Start(kServer, w.server_data, w.port, w.server_log));

  E2E_RETURN_IF_ERROR(Run(w.admin, {"enroll", Trimmed(init_result.out)}).status());
  E2E_RETURN_IF_ERROR(Run(w.admin, {"project", "create", kProject}).status());
  E2E_ASSIGN_OR_RETURN(std::string monitor_code,
                       Run(w.admin, {"invite", "--project", kProject, "--role", "monitor"}));
  E2E_ASSIGN_OR_RETURN(std::string reviewer_code,
                       Run(w.admin, {"invite", "--project", kProject, "--role", "reviewer"}));
  w.monitor_code = Trimmed(monitor_code);
  E2E_ASSIGN_OR_RETURN(std::string monitor_id, Run(w.monitor, {"enroll", w.monitor_code}));
  E2E_ASSIGN_OR_RETURN(std::string reviewer_id,
                       Run(w.reviewer, {"enroll", Trimmed(reviewer_code)}));
  w.monitor_id = Trimmed(monitor_id);
  w.reviewer_id = Trimmed(reviewer_id);
  E2E_RETURN_IF_ERROR(
      Run(w.admin, {"grant", "--project", kProject, "--reviewer", w.reviewer_id}).status());

  E2E_RETURN_IF_ERROR(RecordTestimonies(w));
  // One sync uploads all 200; the tests below check that nothing was left behind.
  E2E_RETURN_IF_ERROR(Run(w.monitor, {"sync"}).status());
  E2E_RETURN_IF_ERROR(Run(w.reviewer, {"sync"}).status());
  return absl::OkStatus();
}

// Records kSingleFiles testimonies one file at a time, then kArrayTestimonies from one
// JSON array, and keeps each original under the record id that `record` printed.
absl::Status FirstTestimonyTest::RecordTestimonies(World& w) {
  TestimonyGenerator generator(kSeed);
  std::vector<v1::Testimony> originals;
  std::vector<std::string> ids;
  for (int i = 0; i < kSingleFiles; ++i) {
    originals.push_back(generator.Next());
    std::string path = w.dir->Sub(absl::StrCat("testimony-", i, ".json"));
    E2E_RETURN_IF_ERROR(WriteFile(path, TestimonyToJson(originals.back())));
    E2E_ASSIGN_OR_RETURN(std::string out,
                         Run(w.monitor, {"record", "--project", kProject, "--from", path}));
    for (std::string& id : Lines(out)) ids.push_back(std::move(id));
  }
  std::string array = "[";
  for (int i = 0; i < kArrayTestimonies; ++i) {
    originals.push_back(generator.Next());
    absl::StrAppend(&array, i == 0 ? "\n" : ",\n", TestimonyToJson(originals.back()));
  }
  absl::StrAppend(&array, "\n]\n");
  std::string path = w.dir->Sub("testimonies.json");
  E2E_RETURN_IF_ERROR(WriteFile(path, array));
  E2E_ASSIGN_OR_RETURN(std::string out,
                       Run(w.monitor, {"record", "--project", kProject, "--from", path}));
  for (std::string& id : Lines(out)) ids.push_back(std::move(id));

  if (ids.size() != originals.size()) {
    return absl::InternalError(
        absl::StrCat("record printed ", ids.size(), " ids for ", originals.size(), " testimonies"));
  }
  for (size_t i = 0; i < ids.size(); ++i) w.recorded[ids[i]] = originals[i];
  if (w.recorded.size() != ids.size()) return absl::InternalError("record printed a duplicate id");
  w.secrets = generator.SecretStrings();
  return absl::OkStatus();
}

TEST_F(FirstTestimonyTest, ReviewerJsonExportHoldsEveryTestimonyFieldForField) {
  std::string path = world_->dir->Sub("export.json");
  CommandResult r =
      Temoin(world_->reviewer, {"review", "export", "--format", "json", "--out", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.status();
  nlohmann::json exported = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(exported.is_array()) << "export is not one JSON array";
  ASSERT_EQ(exported.size(), static_cast<size_t>(kTotal));

  // Parsed, not pattern-matched: std::regex trips GCC 12's -Wmaybe-uninitialized in
  // libstdc++ under the sanitizer build (tests/sanitize/run.sh), and a parse also
  // refuses a month 13.
  auto is_rfc3339 = [](const std::string& text) {
    absl::Time time;
    std::string error;
    return absl::ParseTime(absl::RFC3339_full, text, &time, &error);
  };
  std::set<std::string> ids;
  std::set<int64_t> seqs;
  for (const nlohmann::json& element : exported) {
    std::string id = element.value("record_id", "");
    SCOPED_TRACE(id);
    EXPECT_TRUE(IsLowerHex(id, 32));
    EXPECT_EQ(element.value("project", ""), kProject);
    EXPECT_EQ(element.value("device_id", ""), world_->monitor_id);
    EXPECT_TRUE(is_rfc3339(element.value("received_at", ""))) << element.value("received_at", "");
    ids.insert(id);
    seqs.insert(element.value("device_seq", int64_t{-1}));

    auto original = world_->recorded.find(id);
    ASSERT_NE(original, world_->recorded.end()) << "exported a record nobody recorded";
    v1::Testimony parsed;
    // Strict parsing: a field the proto does not know would be a bug in the export.
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(element["testimony"].dump(), &parsed).ok());
    if (!MessageDifferencer::Equals(parsed, original->second)) {
      std::string diff;
      MessageDifferencer differencer;
      differencer.ReportDifferencesToString(&diff);
      differencer.Compare(original->second, parsed);
      ADD_FAILURE() << "testimony differs from what was recorded:\n" << diff;
    }
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kTotal)) << "duplicate record ids";
  std::set<int64_t> expected_seqs;
  for (int i = 1; i <= kTotal; ++i) expected_seqs.insert(i);
  EXPECT_EQ(seqs, expected_seqs) << "device_seq must be 1..200, each once";
}

TEST_F(FirstTestimonyTest, ReviewerCsvExportHasAHeaderAndOneRowPerRecord) {
  std::string path = world_->dir->Sub("export.csv");
  CommandResult r =
      Temoin(world_->reviewer, {"review", "export", "--format", "csv", "--out", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.status();
  std::vector<std::string> lines = absl::StrSplit(Trimmed(*text), '\n');
  ASSERT_EQ(lines.size(), static_cast<size_t>(kTotal + 1));
  EXPECT_THAT(lines[0], StartsWith("record_id,project,device_id,device_seq,received_at"));

  const size_t columns = ParseCsvLine(lines[0]).size();
  std::set<std::string> ids;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = ParseCsvLine(lines[i]);
    SCOPED_TRACE(lines[i]);
    ASSERT_EQ(fields.size(), columns) << "quoting broke a row";
    EXPECT_TRUE(world_->recorded.count(fields[0]));
    EXPECT_EQ(fields[1], kProject);
    EXPECT_EQ(fields[2], world_->monitor_id);
    ids.insert(fields[0]);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kTotal));
}

TEST_F(FirstTestimonyTest, SecondSyncUploadsNothingAndTheReviewerStillSeesExactly200) {
  CommandResult sync = Temoin(world_->monitor, {"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("nothing to upload"));
  nlohmann::json counts = MonitorRecordCounts();
  ASSERT_TRUE(counts.is_object());
  EXPECT_EQ(counts.value("purged", -1), kTotal);
  EXPECT_EQ(counts.value("sealed", -1), 0);

  CommandResult reviewer_sync = Temoin(world_->reviewer, {"sync"});
  ASSERT_EQ(reviewer_sync.exit_code, 0) << reviewer_sync.err;
  CommandResult list = Temoin(world_->reviewer, {"review", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::set<std::string> listed;
  for (const std::string& line : Lines(list.out)) {
    listed.insert(std::string(line.substr(0, line.find('\t'))));
  }
  std::set<std::string> recorded;
  for (const auto& [id, testimony] : world_->recorded) recorded.insert(id);
  EXPECT_EQ(Lines(list.out).size(), static_cast<size_t>(kTotal));
  EXPECT_EQ(listed, recorded);
}

TEST_F(FirstTestimonyTest, ReviewerStatsCountEveryActRegionAndVictim) {
  CommandResult r = Temoin(world_->reviewer, {"review", "--offline", "stats", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json stats = nlohmann::json::parse(r.out);
  // The same figures computed here from the originals.
  std::map<std::string, uint64_t> acts, regions;
  uint64_t victims = 0;
  for (const auto& [id, t] : world_->recorded) {
    for (const v1::Act& act : t.acts()) acts[act.type()] += act.count() > 0 ? act.count() : 1;
    ++regions[t.incident().region().empty() ? "unknown" : t.incident().region()];
    victims += t.victim_counts().total() > 0 ? t.victim_counts().total() : t.victims_size();
  }
  EXPECT_EQ(stats["records"], world_->recorded.size());
  EXPECT_EQ(stats["victims"], victims);
  for (const auto& [type, count] : acts) EXPECT_EQ(stats["acts"][type], count) << type;
  for (const auto& [region, count] : regions) EXPECT_EQ(stats["regions"][region], count) << region;
}

TEST_F(FirstTestimonyTest, AdminSeesEachDeviceWithItsRoleAndProject) {
  absl::StatusOr<std::string> devices = Run(world_->admin, {"devices"});
  ASSERT_TRUE(devices.ok()) << devices.status();
  EXPECT_THAT(*devices, HasSubstr(absl::StrCat(world_->monitor_id, "\tmonitor\t", kProject)));
  EXPECT_THAT(*devices, HasSubstr(absl::StrCat(world_->reviewer_id, "\treviewer\t", kProject)));
}

TEST_F(FirstTestimonyTest, MonitorCannotListRecords) {
  // A seized monitor device must not be a way to download anything.
  EXPECT_TRUE(Refused(Temoin(world_->monitor, {"review", "list"}), "reviewer role"));
}

TEST_F(FirstTestimonyTest, ReviewerCannotRecord) {
  std::string path = NewFile("reviewer-record.json", TestimonyToJson(TestimonyGenerator(1).Next()));
  EXPECT_TRUE(Refused(Temoin(world_->reviewer, {"record", "--project", kProject, "--from", path}),
                      "monitor"));
}

TEST_F(FirstTestimonyTest, OnlyAnAdminCanInvite) {
  for (const std::string& home : {world_->monitor, world_->reviewer}) {
    SCOPED_TRACE(home);
    EXPECT_TRUE(
        Refused(Temoin(home, {"invite", "--project", kProject, "--role", "monitor"}), "admin"));
  }
}

TEST_F(FirstTestimonyTest, NoTestimonyTextIsLeftInClearOnTheServerOrAnyDevice) {
  ASSERT_GT(world_->secrets.size(), static_cast<size_t>(2 * kTotal));
  // Positive control: the same scan does find every string in a plaintext export, so a
  // clean result below means the strings are absent, not that the scan is blind.
  std::string control_dir = world_->dir->Sub("scan-control");
  ASSERT_EQ(mkdir(control_dir.c_str(), 0700), 0);
  CommandResult r = Temoin(world_->reviewer, {"review", "export", "--format", "json", "--out",
                                              control_dir + "/export.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> found;
  for (const Hit& hit : FindInTree(control_dir, world_->secrets)) found.insert(hit.needle);
  EXPECT_EQ(found.size(), world_->secrets.size()) << "the scan misses strings it should see";

  // The reviewer's home is scanned after it decrypted and exported everything: the
  // plaintext it handled must not have been cached in clear.
  for (const std::string& root : {world_->server_data, world_->server_log, world_->monitor,
                                  world_->reviewer, world_->admin}) {
    std::vector<Hit> hits = FindInTree(root, world_->secrets);
    EXPECT_TRUE(hits.empty()) << root << " holds " << hits.size() << " plaintext strings, e.g. '"
                              << hits.front().needle << "' in " << hits.front().path;
  }
}

TEST_F(FirstTestimonyTest, EnrolmentCodeWithAnUnknownTokenIsNotValid) {
  absl::StatusOr<v1::EnrollmentCode> code = FreshMonitorCode();
  ASSERT_TRUE(code.ok()) << code.status();
  std::string token(16, '\0');
  std::random_device random;
  for (char& c : token) c = static_cast<char>(random());
  code->set_token(token);
  EXPECT_TRUE(Refused(Temoin(NewHome(), {"enroll", EncodeEnrollmentCode(*code)}), "not valid"));
}

TEST_F(FirstTestimonyTest, EnrolmentCodeCannotBeUsedTwice) {
  const std::string home = NewHome();
  EXPECT_TRUE(Refused(Temoin(home, {"enroll", world_->monitor_code}), "already been used"));
  // The refusal leaves no vault behind (key, store, cover file): the home can be
  // enrolled afresh.
  EXPECT_FALSE(std::filesystem::exists(home + "/vault.key"));
  EXPECT_FALSE(std::filesystem::exists(home + "/store"));
  EXPECT_FALSE(std::filesystem::exists(home + "/vault.cover"));
  absl::StatusOr<v1::EnrollmentCode> code = FreshMonitorCode();
  ASSERT_TRUE(code.ok()) << code.status();
  CommandResult again = Temoin(home, {"enroll", EncodeEnrollmentCode(*code)});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

TEST_F(FirstTestimonyTest, EnrollingAnEnrolledHomeIsRefusedAndTheCodeStillWorksElsewhere) {
  absl::StatusOr<v1::EnrollmentCode> code = FreshMonitorCode();
  ASSERT_TRUE(code.ok()) << code.status();
  const std::string text = EncodeEnrollmentCode(*code);
  EXPECT_TRUE(Refused(Temoin(world_->reviewer, {"enroll", text}),
                      "this home is already enrolled; use another --home"));
  CommandResult fresh = Temoin(NewHome(), {"enroll", text});
  EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
}

TEST_F(FirstTestimonyTest, RefusedEnrolmentLeavesAVaultThatWasThereBeforeWhole) {
  const std::string home = NewHome();
  ASSERT_TRUE(MakeUnenrolledVault(home).ok());
  EXPECT_TRUE(Refused(Temoin(home, {"enroll", world_->monitor_code}), "already been used"));
  EXPECT_TRUE(std::filesystem::exists(home + "/vault.key"));
  absl::StatusOr<std::unique_ptr<client::Vault>> vault = client::Vault::Open(home, kPassphrase);
  ASSERT_TRUE(vault.ok()) << vault.status();
  absl::StatusOr<std::optional<std::string>> marker = (*vault)->Get("e2e", "marker");
  ASSERT_TRUE(marker.ok()) << marker.status();
  EXPECT_EQ(*marker, "made before enrol");
}

// The vault is opened before the code goes to the server (client/sync/enroll.cc): a
// wrong passphrase must not burn it, and the home enrols with the right one.
TEST_F(FirstTestimonyTest, WrongPassphraseForTheHomesVaultDoesNotSpendTheCode) {
  const std::string home = NewHome();
  ASSERT_TRUE(MakeUnenrolledVault(home).ok());
  absl::StatusOr<v1::EnrollmentCode> code = FreshMonitorCode();
  ASSERT_TRUE(code.ok()) << code.status();
  const std::string text = EncodeEnrollmentCode(*code);
  EXPECT_TRUE(Refused(
      Temoin(home, {"enroll", text}, {{"TEMOIN_PASSPHRASE", "correct horse battery stapler"}}),
      "wrong passphrase"));
  CommandResult again = Temoin(home, {"enroll", text});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

TEST_F(FirstTestimonyTest, ExpiredEnrolmentCodeIsRefusedAsExpired) {
  absl::StatusOr<v1::EnrollmentCode> code = FreshMonitorCode(/*extra_ttl=*/"0.0003");  // ~1 s
  ASSERT_TRUE(code.ok()) << code.status();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CommandResult r = Temoin(NewHome(), {"enroll", EncodeEnrollmentCode(*code)});
  EXPECT_TRUE(Refused(r, "expired"));
}

TEST_F(FirstTestimonyTest, CodeWithAnotherTlsPinNeverReachesTheServer) {
  absl::StatusOr<v1::EnrollmentCode> code = FreshMonitorCode();
  ASSERT_TRUE(code.ok()) << code.status();
  v1::EnrollmentCode tampered = *code;
  std::string pin = tampered.tls_spki_sha256();
  pin[0] ^= 0x01;
  tampered.set_tls_spki_sha256(pin);
  EXPECT_TRUE(Refused(Temoin(NewHome(), {"enroll", EncodeEnrollmentCode(tampered)}), "pin"));
  // The token was never sent: the client stopped at the TLS handshake, so the genuine
  // code is still unused and works.
  CommandResult genuine = Temoin(NewHome(), {"enroll", EncodeEnrollmentCode(*code)});
  EXPECT_EQ(genuine.exit_code, 0) << genuine.err;
  EXPECT_TRUE(IsLowerHex(Trimmed(genuine.out), 32)) << genuine.out;
}

TEST_F(FirstTestimonyTest, CodeForAnAddressWithNoServerFailsFastWithCannotReach) {
  absl::StatusOr<v1::EnrollmentCode> code = FreshMonitorCode();
  ASSERT_TRUE(code.ok()) << code.status();
  absl::StatusOr<int> port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok()) << port.status();
  code->set_server_address(absl::StrCat("127.0.0.1:", *port));
  auto start = std::chrono::steady_clock::now();
  CommandResult r = Temoin(NewHome(), {"enroll", EncodeEnrollmentCode(*code)});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_TRUE(Refused(r, "cannot reach the server"));
}

TEST_F(FirstTestimonyTest, MalformedJsonFileIsRefused) {
  std::string path = NewFile("malformed.json", "{ narrative: this is not JSON }\n");
  EXPECT_TRUE(Refused(Temoin(world_->monitor, {"record", "--project", kProject, "--from", path}),
                      "--from"));
  ExpectNothingNewRecorded();
}

TEST_F(FirstTestimonyTest, TruncatedJsonFileIsRefusedWhole) {
  std::string one = TestimonyToJson(TestimonyGenerator(2).Next());
  std::string cut_object = NewFile("truncated.json", one.substr(0, one.size() / 2));
  // A complete first element must not be recorded when the file as a whole is broken.
  std::string cut_array =
      NewFile("truncated-array.json", absl::StrCat("[", one, ",", one.substr(0, one.size() / 2)));
  for (const std::string& path : {cut_object, cut_array}) {
    SCOPED_TRACE(path);
    EXPECT_TRUE(Refused(Temoin(world_->monitor, {"record", "--project", kProject, "--from", path}),
                        "--from"));
  }
  ExpectNothingNewRecorded();
}

TEST_F(FirstTestimonyTest, UnknownVocabularyCodeNamesTheFieldAndListsTheAllowedCodes) {
  struct Case {
    std::string field;
    std::string list;
    void (*spoil)(v1::Testimony*);
  };
  const Case cases[] = {
      {"acts[0].type", "acts", [](v1::Testimony* t) { t->mutable_acts(0)->set_type("zz-bogus"); }},
      {"perpetrators[0]", "perpetrators",
       [](v1::Testimony* t) {
         t->clear_perpetrators();
         t->add_perpetrators("zz-bogus");
       }},
      {"incident.region", "regions",
       [](v1::Testimony* t) { t->mutable_incident()->set_region("zz-bogus"); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    v1::Testimony testimony = TestimonyGenerator(3).Next();
    c.spoil(&testimony);
    std::string path = NewFile("bad-code.json", TestimonyToJson(testimony));
    CommandResult r = Temoin(world_->monitor, {"record", "--project", kProject, "--from", path});
    EXPECT_TRUE(Refused(r, c.field));
    std::vector<std::string> allowed = VocabularyCodes(c.list);
    ASSERT_FALSE(allowed.empty());
    for (const std::string& code : allowed) EXPECT_THAT(r.err, HasSubstr(code));
    // A slip of free text into a code field must not be echoed into logs.
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("zz-bogus")));
  }
  ExpectNothingNewRecorded();
}

TEST_F(FirstTestimonyTest, WrongPassphraseIsRefusedAndTheVaultStillOpens) {
  EXPECT_TRUE(Refused(Temoin(world_->monitor, {"status", "--json"},
                             {{"TEMOIN_PASSPHRASE", "correct horse battery stapler"}}),
                      "wrong passphrase"));
  CommandResult r = Temoin(world_->monitor, {"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json status = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(status.is_object()) << r.out;
  EXPECT_EQ(status.value("device_id", ""), world_->monitor_id);
}

TEST_F(FirstTestimonyTest, RecordForAnotherProjectIsRefused) {
  std::string path = NewFile("other-project.json", TestimonyToJson(TestimonyGenerator(4).Next()));
  EXPECT_TRUE(Refused(
      Temoin(world_->monitor, {"record", "--project", "other-project", "--from", path}), kProject));
  ExpectNothingNewRecorded();
}

}  // namespace
}  // namespace temoin::e2e

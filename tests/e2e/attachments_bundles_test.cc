// End to end, on loopback: a monitor records a testimony with a 3 MB attachment; the
// upload is cut after a few slices (the client process dies) and resumes where the
// server stopped; commitments come first (status shows committed); the reviewer
// exports the attachment byte-identical. Then offline bundles: exported, imported by
// the stopped server (twice: stored once), and relayed through another device, with
// the receipts reaching the originating device at its next sync.

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/harness.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

constexpr char kClient[] = TEMOIN_BINARY_DIR "/client/temoin";
constexpr char kServer[] = TEMOIN_BINARY_DIR "/server/temoin-server";
constexpr char kPassphrase[] = "correct horse battery staple";
constexpr char kProject[] = "gao-2026";

std::string Trimmed(const std::string& s) {
  size_t end = s.find_last_not_of(" \r\n");
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

CommandResult Temoin(const std::string& home, const std::vector<std::string>& args,
                     const EnvVars& extra = {}) {
  std::vector<std::string> argv = {kClient, "--home", home};
  argv.insert(argv.end(), args.begin(), args.end());
  EnvVars env = {{"TEMOIN_PASSPHRASE", kPassphrase}};
  env.insert(env.end(), extra.begin(), extra.end());
  absl::StatusOr<CommandResult> r = RunCommand(argv, env, std::chrono::seconds(120));
  if (!r.ok()) return CommandResult{.exit_code = -1, .err = r.status().ToString()};
  return *r;
}

// Output of a step that must succeed.
std::string Must(const std::string& home, const std::vector<std::string>& args) {
  CommandResult r = Temoin(home, args);
  EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
  return Trimmed(r.out);
}

nlohmann::json Counts(const std::string& home) {
  CommandResult r = Temoin(home, {"status", "--json"});
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j["records"];
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

TEST(AttachmentsBundlesTest, AttachmentResumesAndBundlesArriveOnce) {
  absl::StatusOr<TempDir> dir = TempDir::Create("temoin-e2e-attach");
  ASSERT_TRUE(dir.ok());
  const std::string data = dir->Sub("server"), admin = dir->Sub("admin"),
                    monitor = dir->Sub("monitor"), monitor2 = dir->Sub("monitor2"),
                    reviewer = dir->Sub("reviewer");
  absl::StatusOr<int> port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  absl::StatusOr<CommandResult> init =
      RunCommand({kServer, "init", "--data", data, "--org", "Synthetic Org", "--listen",
                  absl::StrCat("127.0.0.1:", *port)});
  ASSERT_TRUE(init.ok() && init->exit_code == 0);
  auto server = ServerProcess::Start(kServer, data, *port, dir->Sub("server.log"));
  ASSERT_TRUE(server.ok()) << server.status();
  Must(admin, {"enroll", Trimmed(init->out)});
  Must(admin, {"project", "create", kProject});
  Must(monitor, {"enroll", Must(admin, {"invite", "--project", kProject, "--role", "monitor"})});
  Must(monitor2, {"enroll", Must(admin, {"invite", "--project", kProject, "--role", "monitor"})});
  std::string reviewer_id = Must(
      reviewer, {"enroll", Must(admin, {"invite", "--project", kProject, "--role", "reviewer"})});
  Must(admin, {"grant", "--project", kProject, "--reviewer", reviewer_id});
  Must(monitor, {"sync"});  // project keys and the server's bundle key
  Must(monitor2, {"sync"});

  TestimonyGenerator generator(7);
  const std::string testimony = dir->Sub("t.json");
  ASSERT_TRUE(WriteFile(testimony, TestimonyToJson(generator.Next())).ok());
  const std::string audio = RandomBytes(3 * 1000 * 1000, 42);
  const std::string audio_path = dir->Sub("interview.m4a");
  ASSERT_TRUE(WriteFile(audio_path, audio).ok());

  // --attach with an array is refused.
  const std::string array = dir->Sub("array.json");
  ASSERT_TRUE(WriteFile(array, absl::StrCat("[", TestimonyToJson(generator.Next()), ",",
                                            TestimonyToJson(generator.Next()), "]"))
                  .ok());
  CommandResult refused =
      Temoin(monitor, {"record", "--project", kProject, "--from", array, "--attach", audio_path});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(refused.err, "exactly one testimony")) << refused.err;

  CommandResult recorded = Temoin(
      monitor, {"record", "--project", kProject, "--from", testimony, "--attach", audio_path});
  ASSERT_EQ(recorded.exit_code, 0) << recorded.err;
  EXPECT_TRUE(absl::StrContains(recorded.err, "still on disk")) << recorded.err;
  const std::string record_id = Trimmed(recorded.out);
  std::filesystem::remove(audio_path);  // the vault holds it now

  // The phone dies after 10 slices: commitment and body are in, the attachment half.
  CommandResult cut = Temoin(monitor, {"sync"}, {{"TEMOIN_TEST_STOP_AFTER_CHUNKS", "10"}});
  EXPECT_EQ(cut.exit_code, 75) << cut.err;
  nlohmann::json counts = Counts(monitor);
  EXPECT_EQ(counts["committed"], 1) << counts.dump();
  EXPECT_EQ(counts["purged"], 0);

  // Resumes at slice >= 10 (never from zero): each slice crosses at most twice.
  CommandResult resumed = Temoin(monitor, {"sync"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  std::vector<std::string> parts = absl::StrSplit(resumed.err, "resuming at slice ");
  ASSERT_EQ(parts.size(), 2u) << resumed.err;
  int from = std::atoi(parts[1].c_str());
  EXPECT_GE(from, 10);
  EXPECT_LE(from, 10 + 4);  // acknowledged, plus at most the window in flight
  // Progress counts what the server already held: the last line reads all of it done.
  size_t last = resumed.err.rfind("sync: 1/1 records, ");
  ASSERT_NE(last, std::string::npos) << resumed.err;
  std::vector<std::string> kib = absl::StrSplit(
      resumed.err.substr(last + 19, resumed.err.find(" KiB", last) - last - 19), '/');
  ASSERT_EQ(kib.size(), 2u) << resumed.err;
  EXPECT_EQ(kib[0], kib[1]) << resumed.err;
  counts = Counts(monitor);
  EXPECT_EQ(counts["purged"], 1) << counts.dump();
  EXPECT_EQ(counts["committed"], 0);

  // The reviewer gets the file back, byte-identical.
  const std::string out_dir = dir->Sub("export");
  Must(reviewer, {"review", "export", "--format", "json", "--out", dir->Sub("export.json"),
                  "--attachments", out_dir});
  absl::StatusOr<std::string> exported =
      ReadFile(absl::StrCat(out_dir, "/", record_id, "/interview.m4a"));
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_TRUE(*exported == audio);

  // Bundles: monitor2 records two testimonies offline and exports them.
  const std::string two = dir->Sub("two.json");
  ASSERT_TRUE(WriteFile(two, absl::StrCat("[", TestimonyToJson(generator.Next()), ",",
                                          TestimonyToJson(generator.Next()), "]"))
                  .ok());
  Must(monitor2, {"record", "--project", kProject, "--from", two});
  const std::string bundle = dir->Sub("outbox.bundle");
  EXPECT_EQ(Must(monitor2, {"bundle", "export", bundle}), "2");

  // Relay through another enrolled device (it cannot read it), then its sync.
  Must(monitor, {"bundle", "import", bundle});
  Must(monitor, {"bundle", "import", bundle});  // twice: kept once
  CommandResult relayed = Temoin(monitor, {"sync"});
  ASSERT_EQ(relayed.exit_code, 0) << relayed.err;
  EXPECT_TRUE(absl::StrContains(relayed.err, "2 records relayed")) << relayed.err;

  // The stopped server imports the same bundle: nothing stored twice.
  server->reset();
  absl::StatusOr<CommandResult> import = RunCommand({kServer, "import", "--data", data, bundle});
  ASSERT_TRUE(import.ok());
  EXPECT_EQ(import->exit_code, 0) << import->err;
  EXPECT_TRUE(absl::StrContains(import->out, "0 new, 2 already stored")) << import->out;
  server = ServerProcess::Start(kServer, data, *port, dir->Sub("server2.log"));
  ASSERT_TRUE(server.ok()) << server.status();

  // Receipts reach the originating device at its next contact.
  CommandResult home = Temoin(monitor2, {"sync"});
  ASSERT_EQ(home.exit_code, 0) << home.err;
  counts = Counts(monitor2);
  EXPECT_EQ(counts["purged"], 2) << counts.dump();
  EXPECT_EQ(counts["sealed"], 0);
  Must(reviewer, {"sync"});
  std::vector<std::string> listed =
      absl::StrSplit(Must(reviewer, {"review", "--offline", "list"}), '\n', absl::SkipEmpty());
  EXPECT_EQ(listed.size(), 3u);
}

}  // namespace
}  // namespace temoin::e2e

// Issue 12, run it like a service, through the real binaries: SIGTERM during a sync
// loses no acknowledged record and exits within its deadline; settings come from
// DATA/server.toml; the metrics port counts what happened, names no device and refuses
// to open on a public address; the log is JSON lines without client addresses; init is
// quiet.

#include <chrono>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/metrics_scrape.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::testing::HasSubstr;

constexpr char kAccepted[] = "temoin_records_total{outcome=\"accepted\",reason=\"ok\"}";

TEST(ServiceTest, SigtermDuringASyncLosesNoAcknowledgedRecordAndExitsInTime) {
  absl::StatusOr<std::unique_ptr<Deployment>> made =
      Deployment::Create("temoin-e2e-service", /*monitors=*/1);
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  const std::string& monitor = d.monitors()[0];
  absl::StatusOr<int> metrics_port = PickFreeLoopbackPort();
  ASSERT_TRUE(metrics_port.ok());
  // Settings from the data directory's file, as an operator would write them.
  ASSERT_TRUE(WriteFile(d.server_data() + "/server.toml",
                        absl::StrCat("metrics = \"127.0.0.1:", *metrics_port,
                                     "\"\nlog-format = \"json\"\nshutdown-seconds = 10\n"))
                  .ok());
  d.StopServer();
  ASSERT_TRUE(d.StartServer().ok());

  constexpr int kRecords = 400;
  TestimonyGenerator generator(20261204);
  std::vector<v1::Testimony> testimonies;
  for (int i = 0; i < kRecords; ++i) testimonies.push_back(generator.Next());
  auto recorded = d.Record(monitor, testimonies);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  std::set<std::string> created;
  for (const auto& [id, testimony] : *recorded) created.insert(id);

  // SIGTERM as soon as the server has accepted its first records: mid-sync.
  CommandResult sync;
  std::thread syncing([&] { sync = d.Temoin(monitor, {"sync"}); });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int64_t accepted_at_sigterm = 0;
  while ((accepted_at_sigterm = Sample(Scrape(*metrics_port), kAccepted)) <= 0 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const auto sigterm_at = std::chrono::steady_clock::now();
  const int exit_code = d.TerminateServer(std::chrono::seconds(20));
  const double stop_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - sigterm_at).count();
  syncing.join();
  std::cerr << "service_test: SIGTERM with " << accepted_at_sigterm << " of " << kRecords
            << " records stored; the server exited " << exit_code << " " << stop_seconds
            << " s later; the sync exited " << sync.exit_code << "\n";
  EXPECT_EQ(exit_code, 0) << "a clean stop exits 0, within its deadline (10 s + closing)";
  EXPECT_LT(stop_seconds, 15);

  // Every record the device was told was received is on the server, once.
  absl::StatusOr<nlohmann::json> counts = d.RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  const int64_t acknowledged =
      counts->value("received", int64_t{0}) + counts->value("purged", int64_t{0});
  absl::StatusOr<Deployment::ServerListing> listing = d.ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  std::set<std::string> on_server(listing->record_ids.begin(), listing->record_ids.end());
  EXPECT_EQ(on_server.size(), listing->record_ids.size());
  EXPECT_GE(static_cast<int64_t>(on_server.size()), acknowledged) << counts->dump();
  for (const std::string& id : on_server) EXPECT_TRUE(created.count(id)) << id;
  std::cerr << "service_test: " << acknowledged << " acknowledged, " << on_server.size()
            << " on the server after the stop\n";

  // After a restart, the device finishes (with a few new records, so that this process
  // surely stores some); the new process counts only what it stored.
  ASSERT_TRUE(d.StartServer().ok());
  constexpr int kLater = 5;
  std::vector<v1::Testimony> later;
  for (int i = 0; i < kLater; ++i) later.push_back(generator.Next());
  ASSERT_TRUE(d.Record(monitor, later).ok());
  CommandResult finish = d.Temoin(monitor, {"sync", "--until-done", "--max-time", "120"});
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  absl::StatusOr<Deployment::ServerListing> after = d.ListServerRecords();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->record_ids.size(), static_cast<size_t>(kRecords + kLater));
  const std::string body = Scrape(*metrics_port);
  EXPECT_EQ(Sample(body, kAccepted), static_cast<int64_t>(kRecords + kLater - on_server.size()))
      << body;
  EXPECT_GE(Sample(body, "temoin_sign_ins_total{result=\"ok\"}"), 1) << body;
  EXPECT_GT(Sample(body, "temoin_received_bytes_total"), 0) << body;
  EXPECT_GT(Sample(body, "temoin_store_bytes"), 0) << body;
  // The embedded store's memory: something held, never past its 64 MiB budget.
  EXPECT_GT(Sample(body, "temoin_store_memory_bytes"), 0) << body;
  EXPECT_LE(Sample(body, "temoin_store_memory_bytes"), int64_t{64} << 20) << body;
  EXPECT_GE(Sample(body, "temoin_commit_seconds_count"), 1) << body;
  for (const std::string& id : d.monitor_ids()) {
    EXPECT_EQ(body.find(id), std::string::npos) << "a device id in the metrics";
  }

  // Issue 13, the attempt: one new record's sign-in rides on its upload (no sign-in
  // call), its log proofs close the upload stream, and no GetLogProofs call (a round
  // trip more) follows.
  constexpr char kViaUpload[] = "temoin_log_proofs_total{via=\"upload\"}";
  constexpr char kViaCall[] = "temoin_log_proofs_total{via=\"call\"}";
  constexpr char kSignIns[] = "temoin_sign_ins_total{result=\"ok\"}";
  constexpr char kSignInsOnUpload[] = "temoin_upload_sign_ins_total";
  const int64_t via_upload = Sample(body, kViaUpload), via_call = Sample(body, kViaCall);
  const int64_t sign_ins = Sample(body, kSignIns), on_upload = Sample(body, kSignInsOnUpload);
  ASSERT_GE(via_upload, 0) << body;
  ASSERT_GE(on_upload, 0) << body;
  ASSERT_TRUE(d.Record(monitor, {generator.Next()}).ok());
  CommandResult one = d.Temoin(monitor, {"sync"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const std::string after_one = Scrape(*metrics_port);
  EXPECT_EQ(Sample(after_one, kViaUpload), via_upload + 1) << after_one;
  EXPECT_EQ(Sample(after_one, kViaCall), via_call) << after_one;
  EXPECT_EQ(Sample(after_one, kSignIns), sign_ins + 1) << after_one;
  EXPECT_EQ(Sample(after_one, kSignInsOnUpload), on_upload + 1) << after_one;

  // A record with an attachment, beside one without: no commitment goes before the
  // bodies (the bodies' answer carries the commitment receipt), and the log proofs of
  // both close the attachment stream, not the bodies' stream nor a GetLogProofs call.
  const std::string audio_path = d.dir().Sub("interview.m4a");
  ASSERT_TRUE(WriteFile(audio_path, std::string(200 << 10, 'a')).ok());
  ASSERT_TRUE(d.Record(monitor, {generator.Next()}).ok());
  ASSERT_TRUE(d.Record(monitor, {generator.Next()}, {"--attach", audio_path}).ok());
  CommandResult with_file = d.Temoin(monitor, {"sync"});
  ASSERT_EQ(with_file.exit_code, 0) << with_file.err;
  // The attachment's record was fixed by the commitment receipt its body's answer carried.
  EXPECT_THAT(with_file.err,
              HasSubstr("2 receipts verified, 1 commitments fixed, 2 shown in the log"));
  const std::string after_file = Scrape(*metrics_port);
  EXPECT_EQ(Sample(after_file, kViaUpload), via_upload + 2) << after_file;
  EXPECT_EQ(Sample(after_file, kViaCall), via_call) << after_file;
  absl::StatusOr<nlohmann::json> left = d.RecordCounts(monitor);
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_EQ(left->value("sealed", -1) + left->value("committed", -1), 0) << left->dump();

  // More records than one GetLogProofs group (256): the upload's closing still proves
  // them all, where it used to leave them to two calls after the stream.
  std::vector<v1::Testimony> many;
  for (int i = 0; i < 300; ++i) many.push_back(generator.Next());
  ASSERT_TRUE(d.Record(monitor, many).ok());
  CommandResult bulk = d.Temoin(monitor, {"sync"});
  ASSERT_EQ(bulk.exit_code, 0) << bulk.err;
  EXPECT_THAT(bulk.err, HasSubstr("300 receipts verified, 300 shown in the log"));
  const std::string after_bulk = Scrape(*metrics_port);
  EXPECT_EQ(Sample(after_bulk, kViaUpload), via_upload + 3) << after_bulk;
  EXPECT_EQ(Sample(after_bulk, kViaCall), via_call) << after_bulk;
  d.StopServer();

  // The logs: JSON lines, the stop announced and finished, no client address, no id.
  for (int start = 2; start <= 3; ++start) {
    absl::StatusOr<std::string> log = ReadFile(d.dir().Sub(absl::StrCat("server-", start, ".log")));
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_NE(log->find("\"event\":\"serving\""), std::string::npos) << *log;
    EXPECT_NE(log->find("\"event\":\"stopped\""), std::string::npos) << *log;
    EXPECT_EQ(log->find("ipv4:"), std::string::npos) << *log;
    EXPECT_EQ(log->find("ipv6:"), std::string::npos) << *log;
    for (const std::string& id : d.monitor_ids()) EXPECT_EQ(log->find(id), std::string::npos);
    std::istringstream lines(*log);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_TRUE(line.starts_with("{\"time\":\"") && line.ends_with("}")) << line;
    }
  }
}

TEST(ServiceTest, RefusesAPublicMetricsAddressAndAnUnknownSetting) {
  absl::StatusOr<TempDir> dir = TempDir::Create("temoin-e2e-service-flags");
  ASSERT_TRUE(dir.ok());
  const std::string data = dir->Sub("server");
  absl::StatusOr<CommandResult> init = RunCommand({ServerBinary(), "init", "--data", data, "--org",
                                                   "Synthetic Org", "--listen", "127.0.0.1:1"});
  ASSERT_TRUE(init.ok());
  ASSERT_EQ(init->exit_code, 0) << init->err;
  // A new user's first command says what happened and nothing alarming.
  EXPECT_EQ(init->err.find("rocksdb"), std::string::npos) << init->err;
  EXPECT_EQ(init->err.find("ERROR"), std::string::npos) << init->err;

  absl::StatusOr<CommandResult> open_metrics =
      RunCommand({ServerBinary(), "run", "--data", data, "--metrics", "0.0.0.0:9464"}, {},
                 std::chrono::seconds(20));
  ASSERT_TRUE(open_metrics.ok());
  EXPECT_EQ(open_metrics->exit_code, 1);
  EXPECT_NE(open_metrics->err.find("loopback"), std::string::npos) << open_metrics->err;

  ASSERT_TRUE(WriteFile(data + "/server.toml", "max-stream = 4\n").ok());
  absl::StatusOr<CommandResult> unknown =
      RunCommand({ServerBinary(), "run", "--data", data}, {}, std::chrono::seconds(20));
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->exit_code, 1);
  EXPECT_NE(unknown->err.find("unknown key 'max-stream'"), std::string::npos) << unknown->err;
}

}  // namespace
}  // namespace temoin::e2e

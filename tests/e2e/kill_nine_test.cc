// kill -9 during sync, many times: records are created, then `temoin sync` and/or
// `temoin-server run` are SIGKILLed at a random moment (the client, the server, or both),
// the server is restarted, and after every round the device must still account for
// every record it created (sealed + purged == created: nothing deleted without a
// receipt), and every record the server holds must be one that was created, once. A
// final clean sync converges to exactly the records created: none missing, none twice,
// field for field in the reviewer's export.
//
// Seeded (printed; TEMOIN_KILL_SEED replays a run); TEMOIN_KILL_ROUNDS changes the
// number of rounds (default 100, about two minutes on two cores).

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::google::protobuf::util::MessageDifferencer;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  uint64_t value = fallback;
  if (const char* env = std::getenv(name); env != nullptr && !absl::SimpleAtoi(env, &value)) {
    ADD_FAILURE() << name << " is not a number";
  }
  return value;
}

enum class Victim { kClient, kServer, kBoth };

const char* Name(Victim v) {
  return v == Victim::kClient ? "client" : v == Victim::kServer ? "server" : "both";
}

int64_t Sum(const nlohmann::json& counts) {
  int64_t total = 0;
  for (const char* state : {"draft", "sealed", "committed", "received", "purged"}) {
    total += counts.value(state, int64_t{0});
  }
  return total;
}

TEST(KillNineTest, SyncConvergesAfterRandomKillsOfClientAndServer) {
  const uint64_t seed = EnvOr("TEMOIN_KILL_SEED", 20260707);
  const int rounds = static_cast<int>(EnvOr("TEMOIN_KILL_ROUNDS", 100));
  std::cerr << "kill_nine_test: seed " << seed << ", " << rounds
            << " rounds (TEMOIN_KILL_SEED / TEMOIN_KILL_ROUNDS to replay)\n";
  std::mt19937_64 rng(seed);
  auto uniform = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  absl::StatusOr<std::unique_ptr<Deployment>> made =
      Deployment::Create("temoin-e2e-kill-nine", /*monitors=*/1);
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  const std::string& monitor = d.monitors()[0];
  TestimonyGenerator generator(static_cast<uint32_t>(seed));
  std::map<std::string, v1::Testimony> created;
  std::map<std::string, int> kills;
  int client_completed = 0;

  // Where the sync happens in a client's life: after process start and the vault
  // unlock (timed with `status`), for roughly as long as a sync of a few records takes.
  auto timed = [&d, &monitor](const std::vector<std::string>& args) {
    const auto start = std::chrono::steady_clock::now();
    CommandResult r = d.Temoin(monitor, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count());
  };
  const int unlock_ms = timed({"status", "--json"});
  const int sync_ms = timed({"sync"});
  const int kill_from_ms = unlock_ms * 4 / 5;
  const int kill_to_ms = std::max(sync_ms * 13 / 10, unlock_ms + 250);
  std::cerr << "kill_nine_test: unlock " << unlock_ms << " ms, no-op sync " << sync_ms
            << " ms: kills land " << kill_from_ms << "-" << kill_to_ms << " ms after start\n";

  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round, " seed ", seed));
    std::vector<v1::Testimony> batch;
    for (int i = uniform(1, 4); i > 0; --i) batch.push_back(generator.Next());
    auto recorded = d.Record(monitor, batch);
    ASSERT_TRUE(recorded.ok()) << recorded.status();
    for (auto& [id, testimony] : *recorded) created.emplace(id, testimony);

    // The client spends ~0.15 s unlocking its vault before it dials; the sync itself
    // takes ~0.1–0.3 s. Kill anywhere in that span.
    const Victim victim = static_cast<Victim>(uniform(0, 2));
    const int client_after_ms = uniform(kill_from_ms, kill_to_ms);
    const int server_after_ms = uniform(kill_from_ms, kill_to_ms);
    ++kills[Name(victim)];
    std::thread server_killer;
    if (victim != Victim::kClient) {
      server_killer = std::thread([&d, server_after_ms] {
        std::this_thread::sleep_for(std::chrono::milliseconds(server_after_ms));
        d.KillServer();
      });
    }
    CommandResult sync =
        d.Temoin(monitor, {"sync"},
                 victim == Victim::kServer ? std::chrono::milliseconds(30'000)
                                           : std::chrono::milliseconds(client_after_ms));
    if (server_killer.joinable()) server_killer.join();
    if (sync.exit_code == 0) ++client_completed;
    ASSERT_FALSE(victim == Victim::kServer && sync.timed_out) << "sync hung: " << sync.err;

    // Every record the device created is still accounted for on the device.
    absl::StatusOr<nlohmann::json> counts = d.RecordCounts(monitor);
    ASSERT_TRUE(counts.ok()) << counts.status();
    ASSERT_EQ(Sum(*counts), static_cast<int64_t>(created.size())) << counts->dump();
    ASSERT_EQ(counts->value("draft", -1), 0) << counts->dump();

    // What the server holds (read from its store, whether it runs or was killed): only
    // records that were created, each once, and at least every purged one.
    absl::StatusOr<Deployment::ServerListing> listing = d.ListServerRecords();
    ASSERT_TRUE(listing.ok()) << listing.status();
    std::set<std::string> on_server(listing->record_ids.begin(), listing->record_ids.end());
    ASSERT_EQ(on_server.size(), listing->record_ids.size());
    ASSERT_EQ(listing->log_entries, listing->record_ids.size()) << "log and records disagree";
    for (const std::string& id : on_server) {
      ASSERT_TRUE(created.count(id)) << "the server holds a record nobody created: " << id;
    }
    ASSERT_LE(counts->value("purged", int64_t{0}), static_cast<int64_t>(on_server.size()))
        << "the device purged a record the server does not hold";

    if (!d.server_running() || d.server_pid() <= 0) {
      absl::Status started = d.StartServer();
      ASSERT_TRUE(started.ok()) << started;
    }
  }
  std::cerr << "kill_nine_test: kills: client " << kills["client"] << ", server " << kills["server"]
            << ", both " << kills["both"] << "; " << client_completed
            << " syncs finished before their kill\n";

  // A final clean sync converges.
  CommandResult final_sync = d.Temoin(monitor, {"sync", "--until-done", "--max-time", "60"});
  ASSERT_EQ(final_sync.exit_code, 0) << final_sync.err;
  absl::StatusOr<nlohmann::json> counts = d.RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->value("purged", -1), static_cast<int64_t>(created.size())) << counts->dump();

  absl::StatusOr<Deployment::ServerListing> listing = d.ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  std::set<std::string> on_server(listing->record_ids.begin(), listing->record_ids.end());
  std::set<std::string> expected;
  for (const auto& [id, testimony] : created) expected.insert(id);
  EXPECT_EQ(on_server, expected);
  EXPECT_EQ(listing->log_entries, created.size());

  absl::StatusOr<std::vector<nlohmann::json>> exported = d.ReviewerExport();
  ASSERT_TRUE(exported.ok()) << exported.status();
  ASSERT_EQ(exported->size(), created.size());
  std::set<std::string> seen;
  std::set<int64_t> seqs;
  for (const nlohmann::json& element : *exported) {
    std::string id = element.value("record_id", "");
    ASSERT_TRUE(seen.insert(id).second) << "exported twice: " << id;
    seqs.insert(element.value("device_seq", int64_t{-1}));
    auto original = created.find(id);
    ASSERT_NE(original, created.end()) << id;
    v1::Testimony parsed;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(element["testimony"].dump(), &parsed).ok());
    EXPECT_TRUE(MessageDifferencer::Equals(parsed, original->second)) << id;
  }
  EXPECT_EQ(seqs.size(), created.size());
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), static_cast<int64_t>(created.size())) << "device_seq has a gap";
}

}  // namespace
}  // namespace temoin::e2e

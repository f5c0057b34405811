// The monitor's vault through the real binary (issue 5): passphrase change, duress,
// the failed-unlock limit, panic wipe and a corrupt store, on a device enrolled with a
// real server.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

namespace fs = std::filesystem;
constexpr char kPassphrase[] = "correct horse battery staple";  // the Deployment's

class VaultE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<Deployment>> deployment = Deployment::Create("vault-e2e", 8);
    ASSERT_TRUE(deployment.ok()) << deployment.status();
    deployment_ = std::move(*deployment).release();
  }
  static void TearDownTestSuite() {
    delete deployment_;
    deployment_ = nullptr;
  }

  // `temoin --home HOME args` with an explicit passphrase (and optionally a new one).
  CommandResult Run(const std::string& home, const std::vector<std::string>& args,
                    const std::string& passphrase, const std::string& new_passphrase = "") {
    std::vector<std::string> argv = {ClientBinary(), "--home", home};
    argv.insert(argv.end(), args.begin(), args.end());
    EnvVars env = {{"TEMOIN_PASSPHRASE", passphrase}};
    if (!new_passphrase.empty()) env.push_back({"TEMOIN_NEW_PASSPHRASE", new_passphrase});
    absl::StatusOr<CommandResult> r = RunCommand(argv, env);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommandResult{};
  }

  // Records `n` synthetic testimonies on `home`; returns their narratives.
  std::vector<std::string> RecordSome(const std::string& home, int n, uint32_t seed) {
    TestimonyGenerator generator(seed);
    std::vector<v1::Testimony> testimonies;
    for (int i = 0; i < n; ++i) testimonies.push_back(generator.Next());
    EXPECT_TRUE(deployment_->Record(home, testimonies).ok());
    return generator.SecretStrings();
  }

  static Deployment* deployment_;
};

Deployment* VaultE2eTest::deployment_ = nullptr;

TEST_F(VaultE2eTest, PassphraseChangeRetiresTheOldOneAndKeepsTheRecords) {
  const std::string& home = deployment_->monitors()[0];
  RecordSome(home, 2, 501);
  CommandResult change = Run(home, {"passphrase", "change"}, kPassphrase, "brand new words here");
  ASSERT_EQ(change.exit_code, 0) << change.err;
  CommandResult old = Run(home, {"status", "--json"}, kPassphrase);
  EXPECT_NE(old.exit_code, 0);
  EXPECT_EQ(old.err, "temoin: wrong passphrase\n");
  CommandResult fresh = Run(home, {"status", "--json"}, "brand new words here");
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_TRUE(absl::StrContains(fresh.out, "\"sealed\":2")) << fresh.out;
  // Put it back for the other tests' helpers.
  ASSERT_EQ(Run(home, {"passphrase", "change"}, "brand new words here", kPassphrase).exit_code, 0);
}

// Every value stored in a home's RocksDB (read-only): what was sealed there, in the
// bytes that sit on the disk.
std::vector<std::string> RawStoredValues(const std::string& home) {
  rocksdb::DB* raw = nullptr;
  std::vector<std::string> values;
  if (!rocksdb::DB::OpenForReadOnly(rocksdb::Options(), home + "/store", &raw).ok()) return values;
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) values.push_back(it->value().ToString());
  return values;
}

// Issue 12: a forced unlock keeps the enrolment (the device looks like a monitor who has
// sent everything), destroys drafts and unsent records, and the next sync tells the
// server, which marks the device and quarantines what it sends from then on.
TEST_F(VaultE2eTest, DuressKeepsTheEnrolmentDestroysThePendingAndSignalsTheServer) {
  const std::string& home = deployment_->monitors()[1];
  const std::string& admin = deployment_->admin();
  TestimonyGenerator generator(502);
  auto dir = TempDir::Create("vault-e2e-duress");
  ASSERT_TRUE(dir.ok());
  auto save_draft = [&](const std::string& name) {
    std::string file = dir->Sub(name);
    ASSERT_TRUE(WriteFile(file, TestimonyToJson(generator.Next())).ok());
    CommandResult saved = Run(
        home, {"record", "--project", kDeploymentProject, "--draft", "--from", file}, kPassphrase);
    ASSERT_EQ(saved.exit_code, 0) << saved.err;
    fs::remove(file);
  };
  save_draft("d1.json");
  save_draft("d2.json");
  auto sent = deployment_->Record(home, {generator.Next()});
  ASSERT_TRUE(sent.ok()) << sent.status();
  ASSERT_TRUE(deployment_->Run(home, {"sync"}).ok());
  EXPECT_EQ(Run(admin, {"devices"}, kPassphrase).out.find("DURESS"), std::string::npos);

  CommandResult set = Run(home, {"duress", "set"}, kPassphrase, "the checkpoint words");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  auto unsent = deployment_->Record(home, {generator.Next()});
  ASSERT_TRUE(unsent.ok()) << unsent.status();
  std::string before = Run(home, {"status", "--json"}, kPassphrase).out;
  EXPECT_TRUE(absl::StrContains(before, "\"draft\":2")) << before;
  EXPECT_TRUE(absl::StrContains(before, "\"sealed\":1")) << before;
  // The drafts and the unsent record as they sit on the disk (vault-encrypted).
  std::vector<std::string> old_values = RawStoredValues(home);
  ASSERT_FALSE(old_values.empty());

  CommandResult forced = Run(home, {"status", "--json"}, "the checkpoint words");
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(forced.err.empty()) << forced.err;  // nothing about a wipe or duress
  auto forced_json = nlohmann::json::parse(forced.out);
  const nlohmann::json& counts = forced_json["records"];
  EXPECT_EQ(counts.value("draft", 0), 0) << forced.out;
  EXPECT_EQ(counts.value("sealed", 0), 0) << forced.out;
  EXPECT_EQ(counts.value("committed", 0), 0) << forced.out;
  EXPECT_GE(counts.value("purged", 0) + counts.value("received", 0), 1) << forced.out;
  EXPECT_TRUE(Trim(Run(home, {"draft", "list"}, "the checkpoint words").out).empty());
  EXPECT_EQ(Run(home, {"status"}, kPassphrase).err, "temoin: wrong passphrase\n");
  // Not one stored value of the old vault is left in any file of the home: the store
  // was shredded and rebuilt under a new key.
  std::vector<std::string> needles;
  for (const std::string& value : old_values) {
    if (value.size() >= 48) needles.push_back(value.substr(value.size() - 32));
  }
  ASSERT_FALSE(needles.empty());
  EXPECT_TRUE(FindInTree(home, needles).empty());
  EXPECT_TRUE(FindInTree(home, generator.SecretStrings()).empty());

  // The enrolment still works: the sync succeeds and carries the signal.
  CommandResult synced = Run(home, {"sync"}, "the checkpoint words");
  ASSERT_EQ(synced.exit_code, 0) << synced.err;
  std::string devices = Run(admin, {"devices"}, kPassphrase).out;
  EXPECT_TRUE(absl::StrContains(devices, "DURESS since")) << devices;
  EXPECT_TRUE(absl::StrContains(Run(admin, {"audit"}, kPassphrase).out, "device.duress"));

  // What it sends now is quarantined for the reviewer; what it sent before is not.
  std::string file = dir->Sub("after.json");
  ASSERT_TRUE(WriteFile(file, "[\n" + TestimonyToJson(generator.Next()) + "\n]\n").ok());
  CommandResult after = Run(home, {"record", "--project", kDeploymentProject, "--from", file},
                            "the checkpoint words");
  ASSERT_EQ(after.exit_code, 0) << after.err;
  std::string after_id = Trim(after.out);
  ASSERT_EQ(Run(home, {"sync"}, "the checkpoint words").exit_code, 0);
  auto exported = deployment_->ReviewerExport();
  ASSERT_TRUE(exported.ok()) << exported.status();
  bool saw_after = false, saw_before = false;
  for (const nlohmann::json& record : *exported) {
    const std::string id = record.value("record_id", "");
    if (id == after_id) {
      saw_after = true;
      EXPECT_TRUE(record.value("quarantined", false)) << record.dump();
    }
    if (id == (*sent)[0].first) {
      saw_before = true;
      EXPECT_FALSE(record.value("quarantined", false)) << record.dump();
    }
  }
  EXPECT_TRUE(saw_after);
  EXPECT_TRUE(saw_before);
}

TEST_F(VaultE2eTest, UnlockLimitWipesAfterTooManyWrongPassphrases) {
  const std::string& home = deployment_->monitors()[2];
  RecordSome(home, 1, 503);
  ASSERT_EQ(Run(home, {"unlock-limit", "2"}, kPassphrase).exit_code, 0);
  EXPECT_EQ(Run(home, {"status"}, "guess one").err, "temoin: wrong passphrase\n");
  EXPECT_EQ(Run(home, {"status"}, "guess two").err, "temoin: wrong passphrase\n");
  EXPECT_FALSE(fs::exists(home + "/vault.key"));
  CommandResult after = Run(home, {"status"}, kPassphrase);
  EXPECT_NE(after.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(after.err, "no vault")) << after.err;
}

TEST_F(VaultE2eTest, WipeDestroysTheKeyThenTheStore) {
  const std::string& home = deployment_->monitors()[3];
  std::vector<std::string> narratives = RecordSome(home, 2, 504);
  CommandResult wipe = Run(home, {"wipe", "--yes"}, "");
  ASSERT_EQ(wipe.exit_code, 0) << wipe.err;
  EXPECT_FALSE(fs::exists(home + "/vault.key"));
  EXPECT_FALSE(fs::exists(home + "/store"));
  CommandResult after = Run(home, {"status"}, kPassphrase);
  EXPECT_NE(after.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(after.err, "no vault")) << after.err;
  // Without a terminal there is nobody to ask: `temoin wipe` alone, as DESIGN's
  // command line has it, wipes at once (a panic button is a script).
  auto dir = TempDir::Create("vault-e2e-wipe");
  ASSERT_TRUE(dir.ok());
  std::string copy = dir->Sub("admin");
  fs::copy(deployment_->admin(), copy, fs::copy_options::recursive);
  CommandResult plain = Run(copy, {"wipe"}, "");
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_FALSE(fs::exists(copy + "/vault.key"));
}

TEST_F(VaultE2eTest, DamagedKeyFileIsATypedErrorNotAWrongPassphrase) {
  auto dir = TempDir::Create("vault-e2e-damaged");
  ASSERT_TRUE(dir.ok());
  std::string copy = dir->Sub("admin");
  fs::copy(deployment_->admin(), copy, fs::copy_options::recursive);
  std::string key = *ReadFile(copy + "/vault.key");
  ASSERT_TRUE(WriteFile(copy + "/vault.key", key.substr(0, key.size() / 2)).ok());
  CommandResult r = Run(copy, {"status"}, kPassphrase);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err, "temoin: vault key file is damaged\n");
}

// Compacts a home's store directly, so that the scan also covers table files, not only
// the write-ahead log.
void Compact(const std::string& home) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Options options;
  ASSERT_TRUE(rocksdb::DB::Open(options, home + "/store", &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  ASSERT_TRUE(db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
}

// Which blocks `status` reads depends on the table layout, so it may never meet a
// damaged one; `check` reads them all. The store is compacted first, so every value
// sits in a table file whose first data block starts at offset 0: one flipped byte
// there is always in a block that `check` reads and whose checksum fails. Every table
// file is damaged so, not only "the" one: unlocking (the `check` of the whole vault
// included) writes, and whether that leaves a second table file depends on when
// RocksDB flushes, which a test must not assume.
TEST_F(VaultE2eTest, CorruptTableFileIsATypedError) {
  auto dir = TempDir::Create("vault-e2e-sst");
  ASSERT_TRUE(dir.ok());
  std::string copy = dir->Sub("admin");
  fs::copy(deployment_->admin(), copy, fs::copy_options::recursive);
  CommandResult whole = Run(copy, {"check"}, kPassphrase);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_TRUE(absl::StartsWith(whole.out, "vault is whole: ")) << whole.out;
  Compact(copy);

  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(copy + "/store")) {
    if (entry.path().extension() != ".sst") continue;
    std::string bytes = *ReadFile(entry.path().string());
    ASSERT_GT(bytes.size(), 64u);
    bytes[32] ^= 0x5a;  // inside the first data block
    ASSERT_TRUE(WriteFile(entry.path().string(), bytes).ok());
    names.push_back(entry.path().filename().string());
  }
  ASSERT_FALSE(names.empty()) << "a full compaction leaves a table file";

  CommandResult r = Run(copy, {"check"}, kPassphrase);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StartsWith(r.err, "temoin: vault store is damaged")) << r.err;
  EXPECT_TRUE(std::any_of(names.begin(), names.end(),
                          [&](const std::string& name) { return absl::StrContains(r.err, name); }))
      << "the error names no damaged table file: " << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(VaultE2eTest, DraftsAreEditableUntilSealedAndThenUnreadableHere) {
  const std::string& home = deployment_->monitors()[4];
  TestimonyGenerator generator(505);
  auto dir = TempDir::Create("vault-e2e-draft");
  ASSERT_TRUE(dir.ok());
  std::string file = dir->Sub("t.json");
  ASSERT_TRUE(WriteFile(file, TestimonyToJson(generator.Next())).ok());
  CommandResult saved = Run(
      home, {"record", "--project", kDeploymentProject, "--draft", "--from", file}, kPassphrase);
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  std::string id = Trim(saved.out);
  EXPECT_EQ(Trim(Run(home, {"draft", "list"}, kPassphrase).out), id);
  CommandResult shown = Run(home, {"draft", "show", id}, kPassphrase);
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(absl::StrContains(shown.out, TestimonyGenerator::NarrativeMarker(505, 0)));
  EXPECT_TRUE(absl::StrContains(Run(home, {"status", "--json"}, kPassphrase).out, "\"draft\":1"));

  CommandResult sealed = Run(home, {"draft", "seal", id}, kPassphrase);
  ASSERT_EQ(sealed.exit_code, 0) << sealed.err;
  EXPECT_EQ(Trim(sealed.out).size(), 32u);
  EXPECT_NE(Run(home, {"draft", "show", id}, kPassphrase).exit_code, 0);
  std::string status = Run(home, {"status", "--json"}, kPassphrase).out;
  EXPECT_TRUE(absl::StrContains(status, "\"draft\":0")) << status;
}

TEST_F(VaultE2eTest, HundredTestimoniesLeaveNoPlaintextInAnyHome) {
  const std::string& home = deployment_->monitors()[4];
  TestimonyGenerator generator(506);
  std::vector<v1::Testimony> sealed_ones;
  auto dir = TempDir::Create("vault-e2e-scan");
  ASSERT_TRUE(dir.ok());
  for (int i = 0; i < 100; ++i) {
    v1::Testimony t = generator.Next();
    if (i % 2 == 0) {
      sealed_ones.push_back(t);
      continue;
    }
    std::string file = dir->Sub("d" + std::to_string(i) + ".json");
    ASSERT_TRUE(WriteFile(file, TestimonyToJson(t)).ok());
    ASSERT_EQ(Run(home, {"record", "--project", kDeploymentProject, "--draft", "--from", file},
                  kPassphrase)
                  .exit_code,
              0);
    fs::remove(file);  // the test's own plaintext, not the product's
  }
  ASSERT_TRUE(deployment_->Record(home, sealed_ones).ok());
  const std::vector<std::string>& secrets = generator.SecretStrings();
  std::vector<std::string> homes = {home, deployment_->reviewer(), deployment_->admin()};
  auto scan_all = [&](const char* when) {
    for (const std::string& h : homes) {
      std::vector<Hit> hits = FindInTree(h, secrets);
      EXPECT_TRUE(hits.empty()) << when << ": " << hits.front().path << " holds "
                                << hits.front().needle;
    }
    EXPECT_TRUE(FindInTree(deployment_->server_data(), secrets).empty()) << when;
  };
  scan_all("before sync");
  ASSERT_TRUE(deployment_->Run(home, {"sync"}).ok());
  ASSERT_TRUE(deployment_->ReviewerExport().ok());  // the reviewer opens them in memory
  scan_all("after sync");
  for (const std::string& h : homes) Compact(h);
  scan_all("after compaction");
}

TEST_F(VaultE2eTest, KillDuringRecordLeavesAllOrNothingAndNoSequenceGap) {
  const std::string& home = deployment_->monitors()[5];
  uint32_t seed = std::random_device{}();
  std::printf("KillDuringRecord seed %u\n", seed);
  std::mt19937 rng(seed);
  TestimonyGenerator generator(seed);
  auto dir = TempDir::Create("vault-e2e-kill");
  ASSERT_TRUE(dir.ok());
  uint64_t sealed = 0;
  int killed_midway = 0, completed = 0;
  for (int round = 0; round < 12; ++round) {
    std::vector<v1::Testimony> batch;
    for (int i = 0; i < 40; ++i) batch.push_back(generator.Next());
    std::string json = "[";
    for (size_t i = 0; i < batch.size(); ++i) json += (i ? "," : "") + TestimonyToJson(batch[i]);
    json += "]";
    std::string file = dir->Sub("batch.json");
    ASSERT_TRUE(WriteFile(file, json).ok());
    auto delay = std::chrono::milliseconds(std::uniform_int_distribution<int>(10, 350)(rng));
    absl::StatusOr<CommandResult> r = RunCommand(
        {ClientBinary(), "--home", home, "record", "--project", kDeploymentProject, "--from", file},
        {{"TEMOIN_PASSPHRASE", kPassphrase}}, delay);
    ASSERT_TRUE(r.ok());
    absl::StatusOr<nlohmann::json> counts = deployment_->RecordCounts(home);
    ASSERT_TRUE(counts.ok()) << "round " << round << ": the vault must reopen: " << counts.status();
    uint64_t now = (*counts)["sealed"].get<uint64_t>() + (*counts)["committed"].get<uint64_t>() +
                   (*counts)["purged"].get<uint64_t>() + (*counts)["received"].get<uint64_t>();
    EXPECT_TRUE(now == sealed || now == sealed + 40)
        << "round " << round << " (killed: " << r->timed_out << "): " << now - sealed;
    if (!r->timed_out) {
      EXPECT_EQ(now, sealed + 40) << r->err;
      ++completed;
    } else if (now == sealed) {
      ++killed_midway;
    }
    sealed = now;
  }
  std::printf("rounds: %d completed, %d killed before their commit\n", completed, killed_midway);
  ASSERT_TRUE(deployment_->Run(home, {"sync"}).ok());
  absl::StatusOr<std::vector<nlohmann::json>> exported = deployment_->ReviewerExport();
  ASSERT_TRUE(exported.ok()) << exported.status();
  std::set<uint64_t> seqs;
  std::string device = deployment_->monitor_ids()[5];
  for (const nlohmann::json& record : *exported) {
    if (record["device_id"] == device) {
      EXPECT_TRUE(seqs.insert(record["device_seq"].get<uint64_t>()).second) << "seq twice";
    }
  }
  EXPECT_EQ(seqs.size(), sealed);
  if (!seqs.empty()) {
    EXPECT_EQ(*seqs.begin(), 1u);
    EXPECT_EQ(*seqs.rbegin(), sealed) << "a gap in device_seq";
  }
}

// The largest table file of a home's store, or "" when there is none.
std::string LargestTable(const std::string& home) {
  std::string table;
  uintmax_t largest = 0;
  for (const auto& entry : fs::directory_iterator(home + "/store")) {
    if (entry.path().extension() == ".sst" && fs::file_size(entry.path()) > largest) {
      largest = fs::file_size(entry.path());
      table = entry.path().string();
    }
  }
  return table;
}

TEST_F(VaultE2eTest, RecoverExportSavesTheIntactRecordsOfADamagedVault) {
  const std::string& home = deployment_->monitors()[6];
  ASSERT_TRUE(deployment_->Run(home, {"sync"}).ok());  // learns the server's bundle key
  TestimonyGenerator generator(507);
  std::vector<v1::Testimony> originals;
  for (int i = 0; i < 6; ++i) originals.push_back(generator.Next());
  absl::StatusOr<std::vector<std::pair<std::string, v1::Testimony>>> recorded =
      deployment_->Record(home, originals);
  ASSERT_TRUE(recorded.ok());
  auto dir = TempDir::Create("vault-e2e-recover");
  ASSERT_TRUE(dir.ok());

  // An intact vault exports everything pending.
  std::string intact = dir->Sub("intact");
  fs::copy(home, intact, fs::copy_options::recursive);
  CommandResult all = Run(intact, {"recover-export", dir->Sub("all.bundle")}, kPassphrase);
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(Trim(all.out), "6");

  // Damaged ones: one byte flipped at several places of the compacted store. Whatever
  // the place, recover-export either writes only intact records or says clearly that
  // it cannot; and some places damage part of the outbox, where it must save the rest.
  // Stored keys are keyed hashes, so where the outbox lies in the table differs from run
  // to run: nineteen places (every 5%) make missing it every time unlikely, where eight
  // did not; the loop stops at the first that damages the outbox.
  int recovered = 0;
  std::string partial_bundle;
  for (int k = 1; k <= 19 && partial_bundle.empty(); ++k) {
    std::string damaged = dir->Sub("damaged" + std::to_string(k));
    fs::copy(home, damaged, fs::copy_options::recursive);
    Compact(damaged);
    std::string table = LargestTable(damaged);
    ASSERT_FALSE(table.empty());
    std::string bytes = *ReadFile(table);
    bytes[bytes.size() * k / 20] ^= 0x5a;
    ASSERT_TRUE(WriteFile(table, bytes).ok());
    CommandResult check = Run(damaged, {"check"}, kPassphrase);
    EXPECT_NE(check.exit_code, 0) << "check missed a flipped byte at " << k * 5 << "%";
    std::string out = dir->Sub("some" + std::to_string(k) + ".bundle");
    CommandResult some = Run(damaged, {"recover-export", out}, kPassphrase);
    EXPECT_FALSE(fs::exists(damaged + "/recovery-scratch"));
    if (some.exit_code != 0) {
      EXPECT_TRUE(absl::StartsWith(some.err, "temoin: ")) << some.err;
      continue;
    }
    int n = std::stoi(Trim(some.out));
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 6);
    if (n < 6) {
      EXPECT_TRUE(absl::StrContains(check.err, "damaged")) << check.err;
      recovered = n;
      partial_bundle = out;
    }
  }
  ASSERT_FALSE(partial_bundle.empty()) << "no flip damaged part of the outbox";

  // Carried by another device, the recovered records reach the server, each verified
  // there by its device signature, and the reviewer reads them field for field.
  const std::string& carrier = deployment_->monitors()[0];
  ASSERT_TRUE(deployment_->Run(carrier, {"bundle", "import", partial_bundle}).ok());
  ASSERT_TRUE(deployment_->Run(carrier, {"sync"}).ok());
  absl::StatusOr<std::vector<nlohmann::json>> exported = deployment_->ReviewerExport();
  ASSERT_TRUE(exported.ok()) << exported.status();
  int found = 0;
  for (const auto& [id, original] : *recorded) {
    for (const nlohmann::json& record : *exported) {
      if (record["record_id"] != id) continue;
      ++found;
      EXPECT_EQ(record["testimony"]["narrative"], original.narrative());
    }
  }
  EXPECT_GE(found, recovered);
}

// The guided record on a real terminal (tmux): the passphrase is typed at the prompt
// with echo off, the questions are answered one by one (a bad date is asked again),
// and the testimony is kept as a draft.
TEST_F(VaultE2eTest, GuidedRecordOnATerminalAsksAgainAndSavesADraft) {
  if (!fs::exists("/usr/bin/tmux")) GTEST_SKIP() << "tmux is not installed";
  const std::string& home = deployment_->monitors()[7];
  auto dir = TempDir::Create("vault-e2e-tty");
  ASSERT_TRUE(dir.ok());
  std::string done = dir->Sub("exit");
  std::string session = "temoin-tty-" + std::to_string(::getpid());
  std::string command = "env -u TEMOIN_PASSPHRASE " + ClientBinary() + " --home " + home +
                        " record --project " + kDeploymentProject + " --lang fr; echo $? > " +
                        done + "; sleep 30";
  ASSERT_EQ(RunCommand({"/usr/bin/tmux", "new-session", "-d", "-s", session, "-x", "160", "-y",
                        "50", command})
                ->exit_code,
            0);
  // Ended however the test ends, so that no session outlives it.
  struct SessionGuard {
    std::string name;
    ~SessionGuard() { RunCommand({"/usr/bin/tmux", "kill-session", "-t", name}).IgnoreError(); }
  } guard{session};
  auto type = [&](const std::string& line) {
    RunCommand({"/usr/bin/tmux", "send-keys", "-t", session, line, "Enter"}).IgnoreError();
  };
  auto screen_now = [&] {
    absl::StatusOr<CommandResult> r =
        RunCommand({"/usr/bin/tmux", "capture-pane", "-t", session, "-p", "-S", "-200"});
    return r.ok() ? r->out : std::string();
  };
  // The passphrase prompt flushes what was typed before it (TCSAFLUSH) and so does
  // turning echo back on: type only once the prompt is up, and the answers only once the
  // first question is, however slow the machine. Answers typed ahead of later questions
  // wait in the terminal's line buffer.
  auto wait_for = [&](absl::string_view text) {
    for (int i = 0; i < 300 && !absl::StrContains(screen_now(), text); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(absl::StrContains(screen_now(), text)) << screen_now();
  };
  ASSERT_NO_FATAL_FAILURE(wait_for("Passphrase:"));  // capture-pane drops trailing spaces
  type(kPassphrase);
  ASSERT_NO_FATAL_FAILURE(wait_for("(terminez par une ligne"));
  for (const char* line :
       {"SYNTHETIC-TTY-MARKER account.", ".", "fr", "2026-02-30", "2026-02-03", "6",
        "Synthville TTY", "4", "2", "", "8", "", "2", "2", "o", "o", "n", "n", "b"}) {
    type(line);
  }
  for (int i = 0; i < 300 && !fs::exists(done); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string screen =
      RunCommand({"/usr/bin/tmux", "capture-pane", "-t", session, "-p", "-S", "-200"})->out;
  RunCommand({"/usr/bin/tmux", "kill-session", "-t", session}).IgnoreError();
  ASSERT_TRUE(fs::exists(done)) << screen;
  EXPECT_EQ(Trim(*ReadFile(done)), "0") << screen;
  EXPECT_FALSE(absl::StrContains(screen, kPassphrase)) << "the passphrase was echoed";
  EXPECT_TRUE(absl::StrContains(screen, "Date invalide")) << screen;
  EXPECT_TRUE(absl::StrContains(screen, "Enlèvement")) << screen;  // French labels
  CommandResult list = Run(home, {"draft", "list"}, kPassphrase);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::string id = Trim(list.out);
  ASSERT_EQ(id.size(), 16u) << list.out;
  CommandResult shown = Run(home, {"draft", "show", id}, kPassphrase);
  EXPECT_TRUE(absl::StrContains(shown.out, "SYNTHETIC-TTY-MARKER")) << shown.out;
  EXPECT_TRUE(absl::StrContains(shown.out, "\"2026-02-03\"")) << shown.out;
  EXPECT_TRUE(absl::StrContains(shown.out, "abduction")) << shown.out;
  // A draft is readable on the device, but only through the vault: never in clear on disk.
  EXPECT_TRUE(FindInTree(home, "SYNTHETIC-TTY-MARKER").empty());
}

}  // namespace
}  // namespace temoin::e2e

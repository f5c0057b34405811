// Witnesses through the real binaries (issue 9): temoin-witness cosigns the checkpoints
// temoin-server submits to it; a device told to require that witness's cosignature syncs
// while the server has the witness and fails, sending and purging nothing, while it has
// none; a checkpoint shown to the witness that contradicts one it cosigned (a fork, a
// rollback) is refused and the witness keeps both notes.

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <httplib.h>
#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crypto/checkpoint.h"
#include "crypto/merkle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kWitnessName[] = "witness.test/w1";

// SHA-256 of the log's origin, lowercase hex: the witness's path for that log.
std::string OriginHash(absl::string_view origin) {
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(origin.data()), origin.size());
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(hash), sizeof hash));
}

class WitnessE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Deployment>> made =
        Deployment::Create("temoin-e2e-witness", /*monitors=*/1);
    ASSERT_TRUE(made.ok()) << made.status();
    d_ = std::move(*made);
    witness_data_ = d_->dir().Sub("witness");
    absl::StatusOr<CommandResult> init =
        RunCommand({WitnessBinary(), "init", "--data", witness_data_, "--name", kWitnessName});
    ASSERT_TRUE(init.ok() && init->exit_code == 0) << (init.ok() ? init->err : "");
    witness_vkey_ = Trim(init->out);
    absl::StatusOr<CommandResult> log_vkey =
        RunCommand({ServerBinary(), "log", "vkey", "--data", d_->server_data()});
    ASSERT_TRUE(log_vkey.ok() && log_vkey->exit_code == 0);
    log_vkey_ = Trim(log_vkey->out);
    absl::StatusOr<CommandResult> added =
        RunCommand({WitnessBinary(), "add-log", "--data", witness_data_, "--vkey", log_vkey_});
    ASSERT_TRUE(added.ok() && added->exit_code == 0) << (added.ok() ? added->err : "");
    absl::StatusOr<int> port = PickFreeLoopbackPort();
    ASSERT_TRUE(port.ok());
    witness_port_ = *port;
    absl::StatusOr<std::unique_ptr<ServerProcess>> witness = ServerProcess::Start(
        WitnessBinary(), witness_data_, witness_port_, d_->dir().Sub("witness.log"), {},
        std::chrono::seconds(10), {"--listen", absl::StrCat("127.0.0.1:", witness_port_)});
    ASSERT_TRUE(witness.ok()) << witness.status();
    witness_ = std::move(*witness);
  }

  // DATA/server.toml names the witness (the array form of `run --witness`).
  void RestartServerWithWitness() {
    d_->StopServer();
    ASSERT_TRUE(WriteFile(d_->server_data() + "/server.toml",
                          absl::StrCat("witness = [\"http://127.0.0.1:", witness_port_, "=",
                                       witness_vkey_, "\"]\n"))
                    .ok());
    ASSERT_TRUE(d_->StartServer().ok());
  }

  httplib::Result PostToWitness(const std::string& body) {
    httplib::Client client("127.0.0.1", witness_port_);
    return client.Post("/add-checkpoint", body, "text/plain");
  }

  std::unique_ptr<Deployment> d_;
  std::string witness_data_, witness_vkey_, log_vkey_;
  int witness_port_ = 0;
  std::unique_ptr<ServerProcess> witness_;
};

TEST_F(WitnessE2eTest, CosignedSyncsAndAForkOrRollbackShownToTheWitness) {
  const std::string& monitor = d_->monitors()[0];
  TestimonyGenerator generator(/*seed=*/911);
  ASSERT_TRUE(d_->Run(monitor, {"log", "require-witness", "--vkey", witness_vkey_}).ok());
  ASSERT_TRUE(d_->Record(monitor, {generator.Next(), generator.Next()}).ok());

  // The server has no witness: its checkpoint carries no cosignature.
  CommandResult refused = d_->Temoin(monitor, {"sync"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("carries 0 of the 1 witness cosignatures")) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr(absl::StrCat("missing: ", kWitnessName))) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("sent and purged nothing")) << refused.err;
  absl::StatusOr<nlohmann::json> counts = d_->RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)["sealed"], 2) << counts->dump();
  EXPECT_TRUE(d_->ListServerRecords()->record_ids.empty());

  RestartServerWithWitness();
  const auto started = std::chrono::steady_clock::now();
  CommandResult synced = d_->Temoin(monitor, {"sync"});
  // A figure, not a check (timing must not decide a test): the sync's wait for the
  // witness round that covers its records.
  std::cerr << "sync of 2 records with a cosigned checkpoint: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count()
            << " ms\n";
  ASSERT_EQ(synced.exit_code, 0) << synced.err;
  EXPECT_THAT(synced.err, HasSubstr("2 shown in the log")) << synced.err;
  counts = d_->RecordCounts(monitor);
  EXPECT_EQ((*counts)["purged"], 2) << counts->dump();
  // The checkpoint the device holds is the log's, with the witness's cosignature line.
  CommandResult held = d_->Temoin(monitor, {"checkpoint"});
  ASSERT_EQ(held.exit_code, 0) << held.err;
  EXPECT_THAT(held.out, HasSubstr(absl::StrCat("\n\xe2\x80\x94 ", kWitnessName, " ")));
  std::vector<std::string> lines = absl::StrSplit(held.out, '\n');
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[1], "2");

  // Then the server shows the witness other histories (one deployment for both parts:
  // making one costs most of this test's time).
  // What the witness cosigned last (its monitoring endpoint): the tree of 2 leaves.
  absl::StatusOr<crypto::NoteVerifier> log_verifier = crypto::ParseVkey(log_vkey_);
  ASSERT_TRUE(log_verifier.ok());
  httplib::Client client("127.0.0.1", witness_port_);
  const std::string origin = log_verifier->name;
  const std::string hash = OriginHash(origin);
  httplib::Result latest = client.Get(absl::StrCat("/", hash, "/checkpoint"));
  ASSERT_TRUE(latest);
  ASSERT_EQ(latest->status, 200);
  absl::StatusOr<crypto::Checkpoint> cosigned =
      crypto::VerifyCheckpoint(latest->body, *log_verifier);
  ASSERT_TRUE(cosigned.ok()) << cosigned.status();
  ASSERT_EQ(cosigned->size, 2u);

  // A fork: the same size, another root, signed with the server's own log key (as a
  // server that shows another history to other devices would).
  absl::StatusOr<std::string> secret = ReadFile(d_->server_data() + "/keys/log.key");
  ASSERT_TRUE(secret.ok());
  absl::StatusOr<crypto::SigningKey> log_key = crypto::SigningKey::FromSecretKey(*secret);
  ASSERT_TRUE(log_key.ok());
  crypto::Checkpoint forked{origin, 2, crypto::merkle::HashLeaf("another history"), {}};
  const std::string fork_note = *crypto::SignCheckpoint(forked, *log_key);
  httplib::Result fork = PostToWitness(absl::StrCat("old 2\n\n", fork_note));
  ASSERT_TRUE(fork);
  EXPECT_EQ(fork->status, 422) << fork->body;
  // A rollback: a smaller tree.
  crypto::Checkpoint smaller{origin, 1, crypto::merkle::HashLeaf("an old copy"), {}};
  const std::string rollback_note = *crypto::SignCheckpoint(smaller, *log_key);
  httplib::Result rollback = PostToWitness(absl::StrCat("old 1\n\n", rollback_note));
  ASSERT_TRUE(rollback);
  EXPECT_EQ(rollback->status, 409);
  EXPECT_EQ(rollback->body, "2\n");
  EXPECT_EQ(rollback->get_header_value("Content-Type"), "text/x.tlog.size");

  // Both notes of each, in the witness's data directory.
  std::map<std::string, std::string> evidence;
  for (const auto& entry : std::filesystem::directory_iterator(
           absl::StrCat(witness_data_, "/logs/", hash, "/evidence"))) {
    evidence[entry.path().filename().string()] = *ReadFile(entry.path().string());
  }
  ASSERT_EQ(evidence.size(), 4u);
  for (const auto& [name, note] : evidence) {
    SCOPED_TRACE(name);
    if (absl::EndsWith(name, "-held")) {
      EXPECT_EQ(note, latest->body);  // the cosigned one, with the witness's line
    } else if (absl::StartsWith(name, "fork-")) {
      EXPECT_EQ(note, fork_note);
    } else {
      EXPECT_EQ(note, rollback_note);
    }
  }

  // The honest log goes on being cosigned, and the device (still requiring it) accepts it.
  ASSERT_TRUE(d_->Record(monitor, {generator.Next()}).ok());
  CommandResult after = d_->Temoin(monitor, {"sync"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_THAT(after.err, Not(HasSubstr("witness cosignatures")));
  held = d_->Temoin(monitor, {"checkpoint"});
  EXPECT_THAT(held.out, HasSubstr(absl::StrCat("\n3\n")));
  EXPECT_THAT(held.out, HasSubstr(absl::StrCat("\n\xe2\x80\x94 ", kWitnessName, " ")));
}

}  // namespace
}  // namespace temoin::e2e

// The server's witness submissions against a real witness core (witness/witness.h) in
// process, through a transport that speaks its HTTP statuses: cosignatures are
// collected and appended to the checkpoint; a witness restarted, refusing or unreachable
// costs a device cosignatures, never an answer.

#include "server/core/witness_pool.h"

#include <stdlib.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/memory_store.h"
#include "witness/witness.h"

namespace temoin::server {
namespace {

using namespace std::chrono_literals;

class InProcessTransport final : public WitnessTransport {
 public:
  explicit InProcessTransport(witness::Witness** target, int* refuse_with)
      : target_(target), refuse_with_(refuse_with) {}
  absl::StatusOr<Reply> AddCheckpoint(const std::string& url, const std::string& body) override {
    if (*refuse_with_ == -1) return absl::UnavailableError("connection refused");
    if (*refuse_with_ != 0) return Reply{*refuse_with_, "no\n"};
    absl::StatusOr<witness::AddCheckpointRequest> request = witness::ParseAddCheckpoint(body);
    absl::StatusOr<std::string> line =
        request.ok() ? (*target_)->AddCheckpoint(*request) : request.status();
    if (line.ok()) return Reply{200, *line};
    if (auto size = witness::LatestSizeOf(line.status())) return Reply{409, absl::StrCat(*size, "\n")};
    return Reply{witness::HttpStatusOf(line.status()), std::string(line.status().message())};
  }

 private:
  witness::Witness** target_;
  int* refuse_with_;
};

class WitnessPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/temoin_wpool_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    log_.set_log_key(crypto::SigningKey::Generate());
    ASSERT_TRUE(witness::InitWitness(dir_, "witness.example.org/w").ok());
    ASSERT_TRUE(witness::AddLog(dir_, *log_.Vkey()).ok());
    OpenWitness();
    witness_vkey_ = *witness::WitnessVkey(dir_);
    absl::StatusOr<std::unique_ptr<WitnessPool>> pool =
        WitnessPool::Create({{"http://w.example", witness_vkey_}}, &log_,
                            std::make_unique<InProcessTransport>(&target_, &refuse_with_));
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
  }
  void OpenWitness() {
    witness_ = *witness::Witness::Open(dir_, &clock_);
    target_ = witness_.get();
  }
  void Append(int n) {
    std::vector<std::string> leaves;
    for (int i = 0; i < n; ++i) leaves.push_back(absl::StrCat("leaf ", next_++));
    ASSERT_TRUE(store_
                    .AppendToLog([&](uint64_t size) -> absl::StatusOr<LogAppend> {
                      LogAppend append;
                      absl::Status added = AddLogLeaves(store_, size, leaves, append.batch);
                      if (!added.ok()) return added;
                      append.new_size = size + leaves.size();
                      return append;
                    })
                    .ok());
  }
  // The cosignatures of the witness found on `note`.
  size_t Cosignatures(const std::string& note) {
    crypto::NoteParts parts = *crypto::SplitNote(note);
    auto verified = crypto::VerifyCosignatures(parts.text, parts.signature_lines,
                                               {*crypto::ParseCosignerVkey(witness_vkey_)});
    EXPECT_TRUE(verified.ok()) << verified.status();
    return verified.ok() ? verified->size() : 0;
  }

  MemoryStore store_;
  TransparencyLog log_{&store_};
  FakeClock clock_{1700000000};
  std::string dir_, witness_vkey_;
  std::unique_ptr<witness::Witness> witness_;
  witness::Witness* target_ = nullptr;
  int refuse_with_ = 0;
  std::unique_ptr<WitnessPool> pool_;
  int next_ = 0;
};

TEST_F(WitnessPoolTest, CollectsCosignaturesOfEachNewCheckpoint) {
  Append(3);
  ASSERT_TRUE(pool_->SubmitLatest().ok());
  std::optional<TransparencyLog::Signed> cosigned = pool_->Cosigned(3, 0ms);
  ASSERT_TRUE(cosigned.has_value());
  EXPECT_EQ(cosigned->size, 3u);
  EXPECT_EQ(Cosignatures(cosigned->note), 1u);
  // Still the log's checkpoint: its own signature verifies with the line appended.
  EXPECT_TRUE(crypto::VerifyCheckpoint(cosigned->note, *crypto::ParseVkey(*log_.Vkey())).ok());

  Append(4);
  EXPECT_FALSE(pool_->Cosigned(7, 0ms).has_value()) << "not submitted yet";
  ASSERT_TRUE(pool_->SubmitLatest().ok());  // with a proof from 3
  cosigned = pool_->Cosigned(7, 0ms);
  ASSERT_TRUE(cosigned.has_value());
  EXPECT_EQ(cosigned->size, 7u);
  EXPECT_EQ(Cosignatures(cosigned->note), 1u);
}

TEST_F(WitnessPoolTest, LearnsTheWitnessSizeAfterARestartOfTheServer) {
  Append(2);
  ASSERT_TRUE(pool_->SubmitLatest().ok());
  // A new pool (the server restarted) knows nothing: "old 0" draws a 409 with the size.
  pool_ = *WitnessPool::Create({{"http://w.example/", witness_vkey_}}, &log_,
                               std::make_unique<InProcessTransport>(&target_, &refuse_with_));
  Append(1);
  ASSERT_TRUE(pool_->SubmitLatest().ok());
  std::optional<TransparencyLog::Signed> cosigned = pool_->Cosigned(3, 0ms);
  ASSERT_TRUE(cosigned.has_value());
  EXPECT_EQ(Cosignatures(cosigned->note), 1u);
}

TEST_F(WitnessPoolTest, ARefusingOrDeadWitnessCostsCosignaturesNotAnswers) {
  std::vector<std::pair<std::string, absl::Status>> reports;
  pool_ = *WitnessPool::Create(
      {{"http://w.example", witness_vkey_}}, &log_,
      std::make_unique<InProcessTransport>(&target_, &refuse_with_),
      [&](const std::string& url, const absl::Status& s) { reports.emplace_back(url, s); });
  Append(2);
  refuse_with_ = 422;
  ASSERT_TRUE(pool_->SubmitLatest().ok());
  std::optional<TransparencyLog::Signed> uncosigned = pool_->Cosigned(2, 0ms);
  ASSERT_TRUE(uncosigned.has_value());
  EXPECT_EQ(Cosignatures(uncosigned->note), 0u);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_THAT(std::string(reports[0].second.message()), ::testing::HasSubstr("HTTP 422"));
  refuse_with_ = -1;
  ASSERT_TRUE(pool_->SubmitLatest().ok());
  EXPECT_EQ(reports.back().second.code(), absl::StatusCode::kUnavailable);
  refuse_with_ = 0;
  ASSERT_TRUE(pool_->SubmitLatest().ok());
  EXPECT_TRUE(reports.back().second.ok());
  EXPECT_EQ(Cosignatures(pool_->Cosigned(2, 0ms)->note), 1u);
}

TEST_F(WitnessPoolTest, TheThreadSubmitsOnItsOwnAndWaitersAreWoken) {
  pool_->Start();
  Append(5);
  std::optional<TransparencyLog::Signed> cosigned = pool_->Cosigned(5, 5000ms);
  ASSERT_TRUE(cosigned.has_value());
  EXPECT_EQ(cosigned->size, 5u);
  EXPECT_EQ(Cosignatures(cosigned->note), 1u);
  pool_->Stop();
}

TEST(WitnessFlagTest, ParsesUrlAndVkey) {
  crypto::SigningKey key = crypto::SigningKey::Generate();
  const std::string vkey = crypto::FormatCosignerVkey("w.example", key.public_key());
  absl::StatusOr<WitnessConfig> config = ParseWitnessFlag("http://127.0.0.1:7480=" + vkey);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->url, "http://127.0.0.1:7480");
  EXPECT_EQ(config->vkey, vkey);
  EXPECT_FALSE(ParseWitnessFlag(vkey).ok());
  EXPECT_FALSE(ParseWitnessFlag("ftp://x=" + vkey).ok());
  EXPECT_FALSE(ParseWitnessFlag("http://x=" + crypto::FormatVkey("w", key.public_key())).ok());
}

}  // namespace
}  // namespace temoin::server

// Two `temoin-server run` front-ends on one PostgreSQL database with a synchronous
// standby (issue 11): the state front-ends share (audit head, one-time codes, sign-in
// nonces, upload quotas) lives in the store, so any front-end serves any device.
//  - Four monitors sync at once, half through each front-end: every record is stored
//    once, the log is dense, a reviewer sees every record exactly once through either,
//    and the audit chain (written by both) verifies.
//  - The same outbox (a copy of a monitor's home) synced to both at once: one copy of
//    each record, and both copies of the device hold byte-identical receipts.
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/core/outbox.h"
#include "client/vault/vault.h"
#include "crypto/sodium_init.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "temoin/v1/client_store.pb.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"
#include "tests/pg/pg_cluster.h"

namespace temoin::e2e {
namespace {

using ::temoin::testing::PgCluster;

constexpr int kMonitors = 4;
constexpr int kPerMonitor = 10;
constexpr char kCountRecords[] =
    "SELECT count(*) FROM kv WHERE substring(key from 1 for 4) = 'rec/'::bytea";
// Leaves of the transparency log (tlog/n/ level 0, be64 index): count, min, max.
constexpr char kLeafSpan[] =
    "SELECT count(*) || ' ' || min(i) || ' ' || max(i) FROM (SELECT ('x' || "
    "encode(substring(key from 9 for 8), 'hex'))::bit(64)::bigint AS i FROM kv WHERE "
    "substring(key from 1 for 8) = '\\x746c6f672f6e2f00'::bytea) AS leaves";

// The data directory of a second front-end: the first one's keys, certificate and
// configuration (never its runtime files).
void CopyFrontEnd(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  fs::create_directories(to);
  for (const auto& entry : fs::directory_iterator(from)) {
    const std::string name = entry.path().filename().string();
    if (name == "spool" || name == "control.sock") continue;
    fs::copy(entry.path(), fs::path(to) / name, fs::copy_options::recursive);
  }
}

// record id -> serialized receipt, from a monitor's vault.
std::map<std::string, std::string> HeldReceipts(const std::string& home) {
  std::map<std::string, std::string> receipts;
  auto vault = client::Vault::Open(home, "correct horse battery staple");
  EXPECT_TRUE(vault.ok()) << vault.status();
  if (!vault.ok()) return receipts;
  absl::Status scanned =
      (*vault)->Scan(client::kOutboxNs, [&](absl::string_view name, absl::string_view value) {
        v1::OutboxEntry entry;
        EXPECT_TRUE(entry.ParseFromArray(value.data(), static_cast<int>(value.size())));
        if (entry.has_receipt()) receipts[std::string(name)] = entry.receipt().SerializeAsString();
        return true;
      });
  EXPECT_TRUE(scanned.ok()) << scanned;
  return receipts;
}

// One deployment (both front-ends, the devices) for the suite: enrolling devices is
// most of the cost, and each test checks counts relative to what it added.
class PgFrontEndsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = PgCluster::Get();
    if (cluster_ == nullptr) return;
    cluster_->Reset();
    absl::StatusOr<std::unique_ptr<Deployment>> made =
        Deployment::Create("temoin-pg-fronts", kMonitors, {"--store", cluster_->conninfo()});
    if (!made.ok()) {
      setup_error_ = made.status().ToString();
      return;
    }
    d_ = std::move(*made);
    // Front-end B: a copy of A's data directory, on its own port, same database.
    const std::string data_b = d_->dir().Sub("server-b");
    CopyFrontEnd(d_->server_data(), data_b);
    absl::StatusOr<int> port = PickFreeLoopbackPort();
    if (!port.ok()) {
      setup_error_ = port.status().ToString();
      return;
    }
    port_b_ = *port;
    absl::StatusOr<std::unique_ptr<ServerProcess>> b = ServerProcess::Start(
        ServerBinary(), data_b, port_b_, d_->dir().Sub("server-b.log"), {},
        std::chrono::seconds(15), {"--listen", absl::StrCat("127.0.0.1:", port_b_)});
    if (!b.ok()) {
      setup_error_ = b.status().ToString();
      return;
    }
    b_ = std::move(*b);
  }
  static void TearDownTestSuite() {
    b_.reset();
    d_.reset();
  }
  void SetUp() override {
    ASSERT_TRUE(crypto::InitializeCrypto().ok());  // the test opens vaults itself
    if (cluster_ == nullptr) GTEST_SKIP() << "PostgreSQL: " << PgCluster::SkipReason();
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }
  int StoredRecords() const { return std::stoi(cluster_->Sql(kCountRecords)); }

  std::string Address(bool b) const { return absl::StrCat("127.0.0.1:", b ? port_b_ : d_->port()); }
  CommandResult SyncThrough(const std::string& home, bool b) const {
    return d_->Temoin(home, {"sync", "--server", Address(b)});
  }

  static inline PgCluster* cluster_ = nullptr;
  static inline std::unique_ptr<Deployment> d_;
  static inline int port_b_ = 0;
  static inline std::unique_ptr<ServerProcess> b_;
  static inline std::string setup_error_;
};

TEST_F(PgFrontEndsTest, DevicesSyncConcurrentlyThroughBothAndEveryRecordIsStoredOnce) {
  ASSERT_EQ(StoredRecords(), 0) << "runs first, on an empty store";
  TestimonyGenerator generator(/*seed=*/3311);
  std::set<std::string> created;
  for (const std::string& monitor : d_->monitors()) {
    std::vector<v1::Testimony> testimonies;
    for (int i = 0; i < kPerMonitor; ++i) testimonies.push_back(generator.Next());
    auto recorded = d_->Record(monitor, testimonies);
    ASSERT_TRUE(recorded.ok()) << recorded.status();
    for (const auto& [id, testimony] : *recorded) created.insert(id);
  }
  std::vector<std::future<CommandResult>> syncs;
  for (int m = 0; m < kMonitors; ++m) {
    syncs.push_back(std::async(std::launch::async, [this, m] {
      return SyncThrough(d_->monitors()[m], /*b=*/m % 2 == 1);
    }));
  }
  for (int m = 0; m < kMonitors; ++m) {
    CommandResult sync = syncs[m].get();
    EXPECT_EQ(sync.exit_code, 0) << "monitor " << m << ": " << sync.err;
  }
  const int total = kMonitors * kPerMonitor;
  EXPECT_EQ(cluster_->Sql(kCountRecords), std::to_string(total));
  EXPECT_EQ(cluster_->Sql("SELECT tree_size FROM log_head"), std::to_string(total));
  EXPECT_EQ(cluster_->Sql(kLeafSpan), absl::StrCat(total, " 0 ", total - 1));  // dense

  // The reviewer through B first, then through A: every record exactly once.
  CommandResult pulled = SyncThrough(d_->reviewer(), /*b=*/true);
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  absl::StatusOr<std::vector<nlohmann::json>> exported = d_->ReviewerExport();  // syncs via A
  ASSERT_TRUE(exported.ok()) << exported.status();
  std::multiset<std::string> seen;
  for (const nlohmann::json& element : *exported) seen.insert(element.value("record_id", ""));
  EXPECT_EQ(seen.size(), created.size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), created);

  // Both front-ends appended to the audit chain; it is one chain.
  CommandResult audit = d_->Temoin(d_->admin(), {"audit", "--verify"});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
}

TEST_F(PgFrontEndsTest, TheSameOutboxToBothAtOnceIsStoredOnceWithIdenticalReceipts) {
  TestimonyGenerator generator(/*seed=*/3322);
  const std::string& monitor = d_->monitors()[0];
  const int before = StoredRecords();
  const size_t held_before = HeldReceipts(monitor).size();
  int total = 0;
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    ASSERT_TRUE(d_->Record(monitor, {generator.Next(), generator.Next()}).ok());
    total += 2;
    // A second copy of the same device, holding the same outbox (and the same
    // pre-issued sign-in nonce: one of the two sign-ins falls back to a challenge).
    const std::string twin = d_->dir().Sub(absl::StrCat("twin-", round));
    std::filesystem::copy(monitor, twin, std::filesystem::copy_options::recursive);
    auto via_a = std::async(std::launch::async, [&] { return SyncThrough(monitor, false); });
    auto via_b = std::async(std::launch::async, [&] { return SyncThrough(twin, true); });
    CommandResult a = via_a.get(), b = via_b.get();
    EXPECT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(StoredRecords(), before + total);
    EXPECT_EQ(cluster_->Sql("SELECT tree_size FROM log_head"), std::to_string(before + total));
    const std::map<std::string, std::string> from_a = HeldReceipts(monitor);
    const std::map<std::string, std::string> from_b = HeldReceipts(twin);
    EXPECT_EQ(from_a.size(), held_before + total);
    EXPECT_EQ(from_b.size(), held_before + total);  // the twin was copied after each round
    for (const auto& [id, receipt] : from_b) {
      auto it = from_a.find(id);
      ASSERT_NE(it, from_a.end()) << "record only the twin holds a receipt for";
      EXPECT_TRUE(it->second == receipt) << "receipts differ for a record";
    }
  }
  EXPECT_EQ(cluster_->Sql(kLeafSpan),
            absl::StrCat(before + total, " 0 ", before + total - 1));  // still dense
}

}  // namespace
}  // namespace temoin::e2e

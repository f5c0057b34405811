// Primary crash and standby promotion during continuous ingest (issue 11), and the
// failover figure for docs/BENCHMARKS.md. Two `temoin-server run` front-ends share a
// PostgreSQL primary with a synchronous standby (tests/pg/pg-up.sh; the front-ends'
// conninfo names both nodes with target_session_attrs=read-write). Monitors record and
// sync in a loop, half through each front-end; then the primary's postmaster is SIGKILLed
// and the standby promoted at once (pg_ctl promote, as Patroni would after its TTL); the
// front-ends are NOT restarted: the store drops broken connections and reconnects.
// Checked, exit code 1 when any fails:
//  - every receipt any device holds names a record on the promoted node whose stored
//    envelope has the receipt's digest (byte for byte) at the receipt's log index;
//  - the log is dense (leaves 0..n-1, tree_size = n = every logged record);
//  - ingest continues through both front-ends after the promotion.
// Printed: failover = seconds from the kill to the first receipt of a sync started after
// it (so from the promoted node). By hand, not in CI (docs/BENCHMARKS.md):
//   build/tests/pg/pg_failover_bench [--monitors 4] [--before 6] [--after 8]
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/core/outbox.h"
#include "client/vault/vault.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "crypto/sodium_init.h"
#include "server/storage/pg/pg_store.h"
#include "temoin/v1/client_store.pb.h"
#include "temoin/v1/record.pb.h"
#include "temoin/v1/server_store.pb.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"
#include "tests/pg/bench_flags.h"
#include "tests/pg/front_end_copy.h"
#include "tests/pg/pg_cluster.h"

namespace temoin::e2e {
namespace {

using ::temoin::testing::CopyFrontEnd;
using ::temoin::testing::ParsePositiveFlags;
using ::temoin::testing::PgCluster;
using Clock = std::chrono::steady_clock;

struct Args {
  int monitors = 4;
  int before = 6;  // seconds of ingest before the kill
  int after = 8;   // seconds of ingest after the first receipt from the promoted node
};

// Every receipt a monitor's vault holds (its outbox keeps receipts after purging bodies).
absl::StatusOr<std::vector<v1::Receipt>> HeldReceipts(const std::string& home) {
  std::vector<v1::Receipt> receipts;
  TEMOIN_ASSIGN_OR_RETURN(auto vault, client::Vault::Open(home, "correct horse battery staple"));
  TEMOIN_RETURN_IF_ERROR(vault->Scan(client::kOutboxNs, [&](absl::string_view,
                                                            absl::string_view value) {
    v1::OutboxEntry entry;
    if (entry.ParseFromArray(value.data(), static_cast<int>(value.size())) && entry.has_receipt()) {
      receipts.push_back(entry.receipt());
    }
    return true;
  }));
  return receipts;
}

struct Attempt {
  Clock::time_point start, end;
  bool ok = false;
  int front_end = 0;
};

class FailoverRun {
 public:
  FailoverRun(Args args, PgCluster& cluster) : args_(args), cluster_(cluster) {}

  int Main() {
    auto made =
        Deployment::Create("temoin-pg-failover", args_.monitors, {"--store", cluster_.conninfo()});
    if (!made.ok()) return Fail(made.status().ToString());
    d_ = std::move(*made);
    const std::string data_b = d_->dir().Sub("server-b");
    CopyFrontEnd(d_->server_data(), data_b);
    port_b_ = *PickFreeLoopbackPort();
    auto b = ServerProcess::Start(ServerBinary(), data_b, port_b_, d_->dir().Sub("server-b.log"),
                                  {}, std::chrono::seconds(15),
                                  {"--listen", absl::StrCat("127.0.0.1:", port_b_)});
    if (!b.ok()) return Fail(b.status().ToString());
    b_ = std::move(*b);

    std::vector<std::thread> devices;
    for (int m = 0; m < args_.monitors; ++m) devices.emplace_back([this, m] { Ingest(m); });
    std::this_thread::sleep_for(std::chrono::seconds(args_.before));

    const std::string stored_before = cluster_.Sql("SELECT tree_size FROM log_head");
    const int killed = cluster_.KillPrimary();
    kill_time_ = Clock::now();
    killed_.store(true);
    if (killed == 0) return Fail("could not kill the primary");
    if (!cluster_.PromoteStandby()) return Fail("pg_ctl promote failed");
    const double promoted = Seconds(kill_time_, Clock::now());
    std::printf("killed the primary (pid %d) at %s log entries; standby promoted after %.2f s\n",
                killed, stored_before.c_str(), promoted);

    // Ingest continues; stop `after` seconds past the first receipt from the new primary.
    const Clock::time_point give_up = Clock::now() + std::chrono::seconds(120);
    while (!FirstReceiptAfterKill().has_value() && Clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::seconds(args_.after));
    stop_.store(true);
    for (std::thread& device : devices) device.join();
    // Whatever is still in an outbox: one last sync each, so every device holds its
    // receipts (and none is left in doubt).
    for (const std::string& monitor : d_->monitors()) {
      CommandResult last = d_->Temoin(monitor, {"sync"});
      if (last.exit_code != 0) return Fail("last sync: " + last.err);
    }
    return Verify();
  }

 private:
  static double Seconds(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
  }
  int Fail(const std::string& why) {
    std::fprintf(stderr, "FAILED: %s\n", why.c_str());
    return 1;
  }

  // One device: record two testimonies, sync, again, until told to stop.
  void Ingest(int m) {
    TestimonyGenerator generator(/*seed=*/5500 + m);
    const std::string& home = d_->monitors()[m];
    const int front_end = m % 2;
    const std::string address = absl::StrCat("127.0.0.1:", front_end == 1 ? port_b_ : d_->port());
    while (!stop_.load()) {
      {
        std::lock_guard lock(record_mu_);  // Deployment::Record numbers its files unlocked
        if (!d_->Record(home, {generator.Next(), generator.Next()}).ok()) {
          std::fprintf(stderr, "record failed for monitor %d\n", m);
          return;
        }
      }
      Attempt attempt{.start = Clock::now(), .front_end = front_end};
      CommandResult sync = d_->Temoin(home, {"sync", "--server", address});
      attempt.end = Clock::now();
      attempt.ok = sync.exit_code == 0;
      {
        std::lock_guard lock(attempts_mu_);
        attempts_.push_back(attempt);
      }
      if (!attempt.ok) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // The end of the earliest successful sync that started after the kill.
  std::optional<Clock::time_point> FirstReceiptAfterKill() {
    if (!killed_.load()) return std::nullopt;
    std::lock_guard lock(attempts_mu_);
    std::optional<Clock::time_point> first;
    for (const Attempt& attempt : attempts_) {
      if (!attempt.ok || attempt.start < kill_time_) continue;
      if (!first.has_value() || attempt.end < *first) first = attempt.end;
    }
    return first;
  }

  int Verify() {
    // The promoted node's records, by record id.
    auto store = server::PgStore::Open(cluster_.conninfo());
    if (!store.ok()) return Fail(store.status().ToString());
    std::map<std::string, v1::StoredRecord> rows;
    absl::Status scanned =
        (*store)->Scan("rec/", "", [&](absl::string_view key, absl::string_view value) {
          v1::StoredRecord row;
          if (!row.ParseFromArray(value.data(), static_cast<int>(value.size()))) return false;
          rows[std::string(key.substr(4 + row.device_id().size()))] = row;
          return true;
        });
    if (!scanned.ok()) return Fail(scanned.ToString());

    size_t receipts = 0;
    for (const std::string& monitor : d_->monitors()) {
      auto held = HeldReceipts(monitor);
      if (!held.ok()) return Fail(held.status().ToString());
      for (const v1::Receipt& receipt : *held) {
        ++receipts;
        v1::ReceiptBody body;
        if (!body.ParseFromString(receipt.body())) return Fail("a receipt that does not parse");
        auto row = rows.find(body.record_id());
        if (row == rows.end()) return Fail("a receipt names a record the new primary lacks");
        if (crypto::RecordDigest(row->second.envelope()) != body.digest()) {
          return Fail("a stored record differs from the one its receipt names");
        }
        if (row->second.log_index() != body.log_index()) {
          return Fail("a stored record sits at another log index than its receipt says");
        }
      }
    }
    std::set<uint64_t> indexes;
    for (const auto& [id, row] : rows) indexes.insert(row.log_index());
    const std::string tree_size = cluster_.Sql("SELECT tree_size FROM log_head");
    const bool dense = indexes.size() == rows.size() && !indexes.empty() &&
                       *indexes.rbegin() == rows.size() - 1 + *indexes.begin() &&
                       tree_size == std::to_string(rows.size());
    if (!dense) {
      return Fail(
          absl::StrCat("the log is not dense: ", rows.size(), " records, tree_size ", tree_size));
    }
    if (receipts != rows.size()) {
      return Fail(absl::StrCat(receipts, " receipts held for ", rows.size(), " stored records"));
    }

    const Clock::time_point first = *FirstReceiptAfterKill();
    int failed = 0, after = 0;
    std::set<int> front_ends_after;
    for (const Attempt& attempt : attempts_) {
      if (attempt.start < kill_time_) continue;
      if (attempt.ok) {
        ++after;
        front_ends_after.insert(attempt.front_end);
      } else {
        ++failed;
      }
    }
    if (front_ends_after.size() != 2) return Fail("a front-end never recovered");
    std::printf(
        "every one of %zu receipts names a record on the promoted node, byte for byte; log "
        "dense (%zu entries)\nsyncs after the kill: %d failed, %d succeeded (both front-ends, "
        "not restarted)\nfailover: %.2f s from the primary's kill to the first receipt from "
        "the promoted node\n",
        receipts, rows.size(), failed, after, Seconds(kill_time_, first));
    return 0;
  }

  const Args args_;
  PgCluster& cluster_;
  std::unique_ptr<Deployment> d_;
  int port_b_ = 0;
  std::unique_ptr<ServerProcess> b_;
  std::mutex record_mu_, attempts_mu_;
  std::vector<Attempt> attempts_;
  std::atomic<bool> stop_{false}, killed_{false};
  Clock::time_point kill_time_;
};

int Main(int argc, char** argv) {
  Args args;
  if (!ParsePositiveFlags(
          argc, argv,
          {{"--monitors", &args.monitors}, {"--before", &args.before}, {"--after", &args.after}},
          "pg_failover_bench [--monitors N] [--before S] [--after S]")) {
    return 2;
  }
  if (!crypto::InitializeCrypto().ok()) return 1;
  setenv("TEMOIN_VAULT_UNLOCK_MS", "1", 1);
  // A front-end gives up on a dead node's commit after 2 s, not 10.
  setenv("TEMOIN_PG_DEADLINE_MS", "2000", 1);
  PgCluster* cluster = PgCluster::Get();
  if (cluster == nullptr) {
    std::fprintf(stderr, "PostgreSQL: %s\n", PgCluster::SkipReason().c_str());
    return 1;
  }
  cluster->Reset();
  return FailoverRun(args, *cluster).Main();
}

}  // namespace
}  // namespace temoin::e2e

int main(int argc, char** argv) { return temoin::e2e::Main(argc, argv); }

// Ingest records/s of the real binaries on three stores, in one run (issue 11):
//   rocksdb      one `temoin-server run` on the embedded store
//   pg-1         one front-end on PostgreSQL with a synchronous standby (tests/pg/pg-up.sh)
//   pg-2         two front-ends on that database, devices split between them
// Each: M monitors record R testimonies each (not timed), then all sync at once; the
// figure is M*R / the wall time from the first sync's start to the last one's end. Not a
// test; by hand (docs/BENCHMARKS.md):
//   build/tests/pg/store_ingest_bench --monitors 4 --records 250 [--db-latency-ms 5]
// With --scale N (issue 11: ingest at 1,000,000 stored records against 10,000), each engine
// (rocksdb, pg-1) is measured twice, on a store pre-filled with 10,000 and with N records
// (Prefill: synthetic records of 100 other devices written through Store::AppendToLog in
// batches of 5,000, with their log leaves and tree nodes, while the server is stopped);
// the measured ingest is the normal path, as above:
//   nice build/tests/pg/store_ingest_bench --monitors 4 --records 250 --scale 1000000
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/app/open_store.h"
#include "server/core/registry.h"
#include "server/core/transparency_log.h"
#include "server/storage/rocks_store.h"
#include "temoin/v1/server_store.pb.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"
#include "tests/netsim/link_simulator.h"
#include "tests/pg/bench_flags.h"
#include "tests/pg/front_end_copy.h"
#include "tests/pg/pg_cluster.h"

namespace temoin::e2e {
namespace {

using ::temoin::testing::CopyFrontEnd;
using ::temoin::testing::ParsePositiveFlags;
using ::temoin::testing::PgCluster;

struct Args {
  int monitors = 4;
  int records = 250;
  int scale = 0;  // --scale N: the pre-filled comparison
  // --db-latency-ms N: the front-ends reach the primary through a proxy adding N ms each
  // way (a database in another building); the standby stays direct.
  int db_latency_ms = 0;
};

// A record row as ingest writes it (server/core/ingest.cc), with random bytes of the sizes
// a synthetic testimony's envelope has, so that the store's keys and pages are as many
// and as large as N real records make them.
v1::StoredRecord SyntheticRow(std::mt19937_64& rng, const std::string& device, uint64_t seq,
                              uint64_t log_index, int64_t hour) {
  auto random = [&rng](size_t n) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    return bytes;
  };
  v1::StoredRecord row;
  v1::Envelope& envelope = *row.mutable_envelope();
  envelope.set_header(random(180));
  envelope.set_nonce(random(24));
  envelope.set_ciphertext(random(1100));
  envelope.set_signature(random(64));
  row.set_digest(random(32));
  row.set_project("prefill");
  row.set_device_id(device);
  row.set_device_seq(seq);
  row.set_log_index(log_index);
  row.set_received_at(hour);
  row.mutable_receipt()->set_body(random(120));
  row.mutable_receipt()->set_signature(random(64));
  return row;
}

// Appends `count` synthetic records to the log of `store`, 5,000 per AppendToLog: each
// with its record row, record-id index, log and project-log references, leaf and tree
// nodes (AddLogLeaves), i.e. every key ingest writes for a record.
absl::Status Prefill(server::Store& store, uint64_t count) {
  constexpr uint64_t kPerCommit = 5000;
  std::mt19937_64 rng(77);
  std::vector<std::string> devices(100, std::string(16, '\0'));
  for (std::string& device : devices) {
    for (char& c : device) c = static_cast<char>(rng());
  }
  std::string project_id(16, '\0');
  for (char& c : project_id) c = static_cast<char>(rng());
  const int64_t hour = time(nullptr) / 3600 * 3600;
  uint64_t done = 0;
  while (done < count) {
    const uint64_t n = std::min(kPerCommit, count - done);
    absl::StatusOr<uint64_t> size =
        store.AppendToLog([&](uint64_t log_size) -> absl::StatusOr<server::LogAppend> {
          server::LogAppend append;
          std::vector<std::string> leaves;
          for (uint64_t i = 0; i < n; ++i) {
            const std::string& device = devices[(done + i) % devices.size()];
            const uint64_t seq = (done + i) / devices.size() + 1, index = log_size + i + 1;
            std::string id(16, '\0');
            for (char& c : id) c = static_cast<char>(rng());
            const v1::StoredRecord row = SyntheticRow(rng, device, seq, index, hour);
            append.batch.Put(server::keys::Record(device, id), row.SerializeAsString());
            append.batch.Put(server::keys::RecordIdIndex(id, device), "");
            append.batch.Put(server::keys::Log(index), server::EncodeRecordRef(device, id));
            append.batch.Put(server::keys::ProjectLog(project_id, index),
                             server::EncodeRecordRef(device, id));
            leaves.push_back(crypto::EncodeLogLeaf({.log_index = index,
                                                    .record_id = id,
                                                    .digest = row.digest(),
                                                    .device_id = device,
                                                    .device_seq = seq,
                                                    .received_hour = hour}));
          }
          TEMOIN_RETURN_IF_ERROR(server::AddLogLeaves(store, log_size, leaves, append.batch));
          append.new_size = log_size + n;
          return append;
        });
    if (!size.ok()) return size.status();
    done += n;
    if (done % 100000 == 0) std::fprintf(stderr, "prefill: %llu\n", (unsigned long long)done);
  }
  return absl::OkStatus();
}

// Measured settled, as a long-running server's store is: RocksDB compacted (a burst of
// level-0 files would otherwise be compacted during the measurement), PostgreSQL
// vacuumed, analysed and checkpointed (what autovacuum and the checkpointer do in time).
absl::Status Settle(server::Store& store) {
  if (auto* rocks = dynamic_cast<server::RocksStore*>(&store)) return rocks->CompactAll();
  PgCluster* cluster = PgCluster::Get();
  if (cluster == nullptr) return absl::OkStatus();
  for (const char* sql : {"VACUUM ANALYZE", "CHECKPOINT"}) {
    if (cluster->Sql(sql) == "ERROR") return absl::InternalError(absl::StrCat(sql, " failed"));
  }
  return absl::OkStatus();
}

// Records, then syncs every monitor at once (monitor m through front-end m % ports).
// Records/s, or -1 when a sync failed.
double Run(const std::string& name, const Args& args, const std::vector<std::string>& init_args,
           int front_ends, uint64_t prefill = 0) {
  auto made = Deployment::Create(absl::StrCat("temoin-bench-", name), args.monitors, init_args);
  if (!made.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), made.status().ToString().c_str());
    return -1;
  }
  Deployment& d = **made;
  if (prefill > 0) {
    d.StopServer();
    const auto start = std::chrono::steady_clock::now();
    absl::Status filled = [&]() -> absl::Status {
      TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<server::Store> store,
                              server::OpenStore(d.server_data()));
      TEMOIN_RETURN_IF_ERROR(Prefill(*store, prefill));
      return Settle(*store);
    }();
    if (!filled.ok()) {
      std::fprintf(stderr, "%s: prefill: %s\n", name.c_str(), filled.ToString().c_str());
      return -1;
    }
    std::fprintf(stderr, "%s: pre-filled %llu records in %.0f s\n", name.c_str(),
                 (unsigned long long)prefill,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (absl::Status started = d.StartServer(); !started.ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), started.ToString().c_str());
      return -1;
    }
  }
  std::vector<int> ports = {d.port()};
  std::unique_ptr<ServerProcess> second;
  if (front_ends == 2) {
    const std::string data_b = d.dir().Sub("server-b");
    CopyFrontEnd(d.server_data(), data_b);
    int port = *PickFreeLoopbackPort();
    auto b = ServerProcess::Start(ServerBinary(), data_b, port, d.dir().Sub("server-b.log"), {},
                                  std::chrono::seconds(15),
                                  {"--listen", absl::StrCat("127.0.0.1:", port)});
    if (!b.ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), b.status().ToString().c_str());
      return -1;
    }
    second = std::move(*b);
    ports.push_back(port);
  }
  TestimonyGenerator generator(/*seed=*/4400);
  for (const std::string& monitor : d.monitors()) {
    std::vector<v1::Testimony> testimonies;
    for (int i = 0; i < args.records; ++i) testimonies.push_back(generator.Next());
    if (!d.Record(monitor, testimonies).ok()) return -1;
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::future<CommandResult>> syncs;
  for (int m = 0; m < args.monitors; ++m) {
    const std::string address = absl::StrCat("127.0.0.1:", ports[m % ports.size()]);
    syncs.push_back(std::async(std::launch::async, [&d, m, address] {
      return d.Temoin(d.monitors()[m], {"sync", "--server", address}, std::chrono::seconds(600));
    }));
  }
  bool failed = false;
  for (auto& sync : syncs) {
    CommandResult result = sync.get();
    if (result.exit_code != 0) {
      std::fprintf(stderr, "%s: sync failed: %s\n", name.c_str(), result.err.c_str());
      failed = true;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed) return -1;
  const double rate = args.monitors * args.records / seconds;
  std::printf("%-8s %d front-end(s), %llu stored before: %d records in %.2f s = %.0f records/s\n",
              name.c_str(), front_ends, (unsigned long long)prefill, args.monitors * args.records,
              seconds, rate);
  std::fflush(stdout);
  return rate;
}

// Each engine on a store of 10,000 records, then of args.scale: the ratio of the rates.
int Scale(const Args& args) {
  constexpr uint64_t kSmall = 10000;
  const double rocks_small = Run("rocksdb", args, {}, 1, kSmall);
  const double rocks_large = Run("rocksdb", args, {}, 1, args.scale);
  std::printf("rocksdb: %.2fx at %d stored records against %llu\n", rocks_large / rocks_small,
              args.scale, (unsigned long long)kSmall);
  std::fflush(stdout);
  PgCluster* cluster = PgCluster::Get();
  if (cluster == nullptr) {
    std::fprintf(stderr, "PostgreSQL: %s\n", PgCluster::SkipReason().c_str());
    return 1;
  }
  cluster->Reset();
  const double pg_small = Run("pg-1", args, {"--store", cluster->conninfo()}, 1, kSmall);
  cluster->Reset();
  const double pg_large = Run("pg-1", args, {"--store", cluster->conninfo()}, 1, args.scale);
  std::printf("pg-1: %.2fx at %d stored records against %llu\n", pg_large / pg_small, args.scale,
              (unsigned long long)kSmall);
  return rocks_small > 0 && rocks_large > 0 && pg_small > 0 && pg_large > 0 ? 0 : 1;
}

int Main(int argc, char** argv) {
  Args args;
  if (!ParsePositiveFlags(
          argc, argv,
          {{"--monitors", &args.monitors},
           {"--records", &args.records},
           {"--scale", &args.scale},
           {"--db-latency-ms", &args.db_latency_ms}},
          "store_ingest_bench [--monitors N] [--records N] [--scale N] [--db-latency-ms N]")) {
    return 2;
  }
  setenv("TEMOIN_VAULT_UNLOCK_MS", "1", 1);
  if (args.scale > 0) return Scale(args);
  Run("rocksdb", args, {}, 1);
  PgCluster* cluster = PgCluster::Get();
  if (cluster == nullptr) {
    std::fprintf(stderr, "PostgreSQL: %s\n", PgCluster::SkipReason().c_str());
    return 1;
  }
  std::string conninfo = cluster->conninfo();
  std::unique_ptr<netsim::LinkSimulator> delay;
  if (args.db_latency_ms > 0) {
    netsim::LinkOptions link;
    link.target_port = cluster->primary_port();
    link.latency = std::chrono::milliseconds(args.db_latency_ms);
    link.queue_bytes = 64 << 20;  // latency only: never the proxy's buffer
    delay = std::make_unique<netsim::LinkSimulator>(link);
    if (absl::Status started = delay->Start(); !started.ok()) {
      std::fprintf(stderr, "proxy: %s\n", started.ToString().c_str());
      return 1;
    }
    conninfo = absl::StrCat("host=127.0.0.1 port=", delay->port(), " user=temoin dbname=temoin");
    std::printf("front-ends reach the primary with %d ms added each way\n", args.db_latency_ms);
  }
  for (int front_ends : {1, 2}) {
    cluster->Reset();
    Run(absl::StrCat("pg-", front_ends), args, {"--store", conninfo}, front_ends);
  }
  return 0;
}

}  // namespace
}  // namespace temoin::e2e

int main(int argc, char** argv) { return temoin::e2e::Main(argc, argv); }

// The transparency log's share of the store's ingest path (issue 9, docs/BENCHMARKS.md):
// the same batches committed through Store::AppendToLog on two RocksDB stores in one
// run, with the log (leaf encoding, leaf and subtree hashes, node reads and writes:
// AddLogLeaves, as Ingest does) and without it (the records and their log-index rows
// only). Rounds alternate which store goes first, so that the machine's load falls on
// both alike. Not a test; by hand:
//   build/tests/bench/log_ingest_bench --batches 200 --batch 50 --rounds 5
// What it leaves out (signature checks, receipts, TLS, gRPC) costs the same with or
// without the log, so the ratio here bounds the log's cost to a whole ingest from above.
#include <sodium.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/core/transparency_log.h"
#include "server/storage/rocks_store.h"

namespace temoin::server {
namespace {

struct Args {
  int batches = 200;  // per round and store
  int batch = 50;     // records per batch (the upload's batches are of this order)
  int rounds = 5;
  int record_bytes = 1200;  // a stored row: ~1 KB envelope, receipt, metadata
};

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

// One batch's rows, made before timing: what differs between the stores is the log.
struct Row {
  std::string record_id, digest, value;
};

std::vector<std::vector<Row>> MakeBatches(const Args& args) {
  std::vector<std::vector<Row>> batches(args.batches);
  for (auto& batch : batches) {
    for (int i = 0; i < args.batch; ++i) {
      batch.push_back({RandomBytes(16), RandomBytes(32), RandomBytes(args.record_bytes)});
    }
  }
  return batches;
}

// Commits every batch; returns the seconds it took.
double Ingest(Store& store, const std::vector<std::vector<Row>>& batches, bool with_log) {
  const std::string device_id = std::string(16, '\x07');
  const auto start = std::chrono::steady_clock::now();
  uint64_t seq = 0;
  for (const std::vector<Row>& rows : batches) {
    absl::StatusOr<uint64_t> appended =
        store.AppendToLog([&](uint64_t log_size) -> absl::StatusOr<LogAppend> {
          WriteBatch batch;
          std::vector<std::string> leaves;
          uint64_t next = log_size;
          for (const Row& row : rows) {
            ++next;
            batch.Put(absl::StrCat("rec/", device_id, row.record_id), row.value);
            batch.Put(absl::StrCat("log/", BigEndian64(next)), row.record_id);
            if (with_log) {
              leaves.push_back(EncodeLogLeaf({.log_index = next,
                                              .record_id = row.record_id,
                                              .digest = row.digest,
                                              .device_id = device_id,
                                              .device_seq = ++seq,
                                              .received_hour = 1764806400}));
            }
          }
          if (with_log) {
            absl::Status added = AddLogLeaves(store, log_size, leaves, batch);
            if (!added.ok()) return added;
          }
          return LogAppend{std::move(batch), next};
        });
    if (!appended.ok()) {
      std::fprintf(stderr, "log_ingest_bench: %s\n", appended.status().ToString().c_str());
      std::exit(1);
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int Main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    int* target = std::strcmp(argv[i], "--batches") == 0        ? &args.batches
                  : std::strcmp(argv[i], "--batch") == 0        ? &args.batch
                  : std::strcmp(argv[i], "--rounds") == 0       ? &args.rounds
                  : std::strcmp(argv[i], "--record-bytes") == 0 ? &args.record_bytes
                                                                : nullptr;
    if (target == nullptr || !absl::SimpleAtoi(argv[i + 1], target) || *target <= 0) {
      std::fprintf(stderr,
                   "usage: log_ingest_bench [--batches N] [--batch N] [--rounds N] "
                   "[--record-bytes N]\n");
      return 2;
    }
  }
  if (sodium_init() < 0) return 1;
  std::string dir = "/tmp/temoin_log_bench_XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return 1;
  auto with = RocksStore::Open(dir + "/with-log");
  auto without = RocksStore::Open(dir + "/without-log");
  if (!with.ok() || !without.ok()) {
    std::fprintf(stderr, "log_ingest_bench: cannot open the stores in %s\n", dir.c_str());
    return 1;
  }
  double on = 0, off = 0;
  std::vector<double> ratios;
  for (int round = 0; round < args.rounds; ++round) {
    const std::vector<std::vector<Row>> batches = MakeBatches(args);
    double t_on, t_off;
    if (round % 2 == 0) {
      t_on = Ingest(**with, batches, true);
      t_off = Ingest(**without, batches, false);
    } else {
      t_off = Ingest(**without, batches, false);
      t_on = Ingest(**with, batches, true);
    }
    on += t_on;
    off += t_off;
    ratios.push_back(t_on / t_off);
    std::printf("round %d: with the log %.3f s, without %.3f s, ratio %.3f\n", round + 1, t_on,
                t_off, t_on / t_off);
  }
  std::sort(ratios.begin(), ratios.end());
  const double records = double(args.rounds) * args.batches * args.batch;
  std::printf(
      "%.0f records a store (%d-record batches, %d B rows): with the log %.0f records/s, "
      "without %.0f records/s; time ratio %.3f (median of rounds %.3f); the log costs "
      "%.1f us a record\n",
      records, args.batch, args.record_bytes, records / on, records / off, on / off,
      ratios[ratios.size() / 2], (on - off) / records * 1e6);
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace temoin::server

int main(int argc, char** argv) { return temoin::server::Main(argc, argv); }

// The transparency log's share of the store's ingest path (issue 9, docs/BENCHMARKS.md):
// the same batches committed through Store::AppendToLog on two RocksDB stores in one
// run, with the log (leaf encoding, leaf and subtree hashes, node reads and writes:
// AddLogLeaves, as Ingest does) and without it (the records and their log-index rows
// only). Rounds alternate which store goes first, so that the machine's load falls on
// both alike. Not a test; by hand:
//   build/tests/bench/log_ingest_bench --batches 200 --batch 50 --rounds 5
// What it leaves out costs the same with or without the log, so the ratio of the store
// path alone bounds the log's cost to a whole ingest from above. A second pair of stores
// adds the signature work no ingest can skip, so that the figure (a whole ingest
// at most 10% slower with the log) is measured in the same run: each record's device
// signature verified (Ed25519 over a 200 B header), one receipt signature a batch, and
// with the log one checkpoint signature a batch (the server signs one at most a commit).
// TLS, gRPC, parsing and the receipts' paths are still left out, so this is an upper
// bound too.
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
  std::string record_id, digest, value, header, signature;
};

// The device's and the server's signing keys (the server's signs receipts and, with the
// log, checkpoints).
struct Keys {
  unsigned char device_pk[crypto_sign_PUBLICKEYBYTES], device_sk[crypto_sign_SECRETKEYBYTES];
  unsigned char server_pk[crypto_sign_PUBLICKEYBYTES], server_sk[crypto_sign_SECRETKEYBYTES];
  Keys() {
    crypto_sign_keypair(device_pk, device_sk);
    crypto_sign_keypair(server_pk, server_sk);
  }
};

std::string Sign(const unsigned char* sk, const std::string& message) {
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(), sk);
  return signature;
}

bool Verify(const unsigned char* pk, const std::string& message, const std::string& signature) {
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), pk) == 0;
}

std::vector<std::vector<Row>> MakeBatches(const Args& args, const Keys& keys) {
  std::vector<std::vector<Row>> batches(args.batches);
  for (auto& batch : batches) {
    for (int i = 0; i < args.batch; ++i) {
      std::string header = RandomBytes(200);
      std::string signature = Sign(keys.device_sk, header);
      batch.push_back({RandomBytes(16), RandomBytes(32), RandomBytes(args.record_bytes),
                       std::move(header), std::move(signature)});
    }
  }
  return batches;
}

struct Mode {
  bool with_log = false;
  const Keys* signatures = nullptr;  // null: the store path alone
};

// The signature work of one batch that every ingest does: each device signature
// checked, one receipt signed.
void SignatureWork(const Keys& keys, const std::vector<Row>& rows) {
  std::string root;
  for (const Row& row : rows) {
    if (!Verify(keys.device_pk, row.header, row.signature)) {
      std::fprintf(stderr, "log_ingest_bench: a device signature did not verify\n");
      std::exit(1);
    }
    root += row.digest.substr(0, 1);
  }
  volatile char sink = Sign(keys.server_sk, root)[0];
  (void)sink;
}

// Commits every batch; returns the seconds it took.
double Ingest(Store& store, const std::vector<std::vector<Row>>& batches, Mode mode) {
  const bool with_log = mode.with_log;
  const std::string device_id = std::string(16, '\x07');
  const auto start = std::chrono::steady_clock::now();
  uint64_t seq = 0;
  for (const std::vector<Row>& rows : batches) {
    if (mode.signatures != nullptr) SignatureWork(*mode.signatures, rows);
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
    if (with_log && mode.signatures != nullptr) {  // the checkpoint after the commit
      volatile char sink = Sign(mode.signatures->server_sk, BigEndian64(*appended))[0];
      (void)sink;
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
  // Stores: the store path alone with and without the log, then the same with the
  // signature work.
  const char* names[4] = {"/path-log", "/path-nolog", "/signed-log", "/signed-nolog"};
  std::vector<std::unique_ptr<RocksStore>> stores;
  for (const char* name : names) {
    auto opened = RocksStore::Open(dir + name);
    if (!opened.ok()) {
      std::fprintf(stderr, "log_ingest_bench: cannot open the stores in %s\n", dir.c_str());
      return 1;
    }
    stores.push_back(std::move(*opened));
  }
  const Keys keys;
  const Mode modes[4] = {{true, nullptr}, {false, nullptr}, {true, &keys}, {false, &keys}};
  double total[4] = {0, 0, 0, 0};
  std::vector<double> ratios[2];
  for (int round = 0; round < args.rounds; ++round) {
    const std::vector<std::vector<Row>> batches = MakeBatches(args, keys);
    double t[4];
    for (int k = 0; k < 4; ++k) {
      // Odd rounds run the stores without the log first.
      const int i = round % 2 == 0 ? k : (k ^ 1);
      t[i] = Ingest(*stores[i], batches, modes[i]);
      total[i] += t[i];
    }
    ratios[0].push_back(t[0] / t[1]);
    ratios[1].push_back(t[2] / t[3]);
    std::printf(
        "round %d: store path with the log %.3f s, without %.3f s (%.3f); with the signature "
        "work %.3f s, without the log %.3f s (%.3f)\n",
        round + 1, t[0], t[1], t[0] / t[1], t[2], t[3], t[2] / t[3]);
  }
  for (auto& r : ratios) std::sort(r.begin(), r.end());
  const double records = double(args.rounds) * args.batches * args.batch;
  std::printf(
      "%.0f records a store (%d-record batches, %d B rows)\n"
      "store path alone: with the log %.0f records/s, without %.0f records/s; time ratio %.3f "
      "(median of rounds %.3f); the log costs %.1f us a record\n"
      "with the signature work every ingest does: with the log %.0f records/s, without %.0f "
      "records/s; time ratio %.3f (median of rounds %.3f)\n",
      records, args.batch, args.record_bytes, records / total[0], records / total[1],
      total[0] / total[1], ratios[0][ratios[0].size() / 2], (total[0] - total[1]) / records * 1e6,
      records / total[2], records / total[3], total[2] / total[3], ratios[1][ratios[1].size() / 2]);
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace temoin::server

int main(int argc, char** argv) { return temoin::server::Main(argc, argv); }

// Ingest records/s of the real binaries on three stores, in one run (issue 11):
//   rocksdb      one `temoin-server run` on the embedded store
//   pg-1         one front-end on PostgreSQL with a synchronous standby (tests/pg/pg-up.sh)
//   pg-2         two front-ends on that database, devices split between them
// Each: M monitors record R testimonies each (not timed), then all sync at once; the
// figure is M*R / the wall time from the first sync's start to the last one's end. Not a
// test; by hand (docs/BENCHMARKS.md):
//   build/tests/pg/store_ingest_bench --monitors 4 --records 250
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"
#include "tests/pg/pg_cluster.h"

namespace temoin::e2e {
namespace {

using ::temoin::testing::PgCluster;

struct Args {
  int monitors = 4;
  int records = 250;
};

void CopyFrontEnd(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  fs::create_directories(to);
  for (const auto& entry : fs::directory_iterator(from)) {
    const std::string name = entry.path().filename().string();
    if (name == "spool" || name == "control.sock") continue;
    fs::copy(entry.path(), fs::path(to) / name, fs::copy_options::recursive);
  }
}

// Records, then syncs every monitor at once (monitor m through front-end m % ports).
// Records/s, or -1 when a sync failed.
double Run(const std::string& name, const Args& args, const std::vector<std::string>& init_args,
           int front_ends) {
  auto made = Deployment::Create(absl::StrCat("temoin-bench-", name), args.monitors, init_args);
  if (!made.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), made.status().ToString().c_str());
    return -1;
  }
  Deployment& d = **made;
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
  std::printf("%-8s %d front-end(s): %d records in %.2f s = %.0f records/s\n", name.c_str(),
              front_ends, args.monitors * args.records, seconds, rate);
  std::fflush(stdout);
  return rate;
}

int Main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    int value = 0;
    if (!absl::SimpleAtoi(argv[i + 1], &value) || value <= 0) {
      std::fprintf(stderr, "bad value for %s\n", flag.c_str());
      return 2;
    }
    if (flag == "--monitors") {
      args.monitors = value;
    } else if (flag == "--records") {
      args.records = value;
    } else {
      std::fprintf(stderr, "usage: store_ingest_bench [--monitors N] [--records N]\n");
      return 2;
    }
  }
  setenv("TEMOIN_VAULT_UNLOCK_MS", "1", 1);
  Run("rocksdb", args, {}, 1);
  PgCluster* cluster = PgCluster::Get();
  if (cluster == nullptr) {
    std::fprintf(stderr, "PostgreSQL: %s\n", PgCluster::SkipReason().c_str());
    return 1;
  }
  for (int front_ends : {1, 2}) {
    cluster->Reset();
    Run(absl::StrCat("pg-", front_ends), args, {"--store", cluster->conninfo()}, front_ends);
  }
  return 0;
}

}  // namespace
}  // namespace temoin::e2e

int main(int argc, char** argv) { return temoin::e2e::Main(argc, argv); }

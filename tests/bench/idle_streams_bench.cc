// Server threads and memory with N idle streams open, and the time of a legitimate sync
// of 50 records meanwhile against its time with none (issue 14's figures). Drives the
// real temoin-server and temoin on loopback; the idle streams are Sync/Upload calls of
// one device enrolled with raw calls, admitted by a server started with a per-device cap
// above N (the default cap of 8 would refuse all but 8). Not a test; run by hand:
//   build/tests/bench/idle_streams_bench --streams 0,1000,10000
// Prints one tab-separated line per N.

#include <sys/resource.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "temoin/v1/sync.grpc.pb.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/raw_client.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

struct Open {
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientReaderWriter<v1::UploadRequest, v1::UploadResponse>> stream;
};

double TimedSync(Deployment& d, uint32_t seed) {
  TestimonyGenerator generator(seed);
  std::vector<v1::Testimony> testimonies;
  for (int i = 0; i < 50; ++i) testimonies.push_back(generator.Next());
  if (!d.Record(d.monitors()[0], testimonies).ok()) return -1;
  auto start = std::chrono::steady_clock::now();
  CommandResult sync = d.Temoin(d.monitors()[0], {"sync"}, std::chrono::seconds(300));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return sync.exit_code == 0 ? s : -1;
}

int Main(int argc, char** argv) {
  rlimit files{};  // 10,000 streams are 1,250 connections: more than the usual 1,024
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  std::vector<int> counts = {0, 1000, 10000};
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--streams") {
      counts.clear();
      for (absl::string_view n : absl::StrSplit(argv[i + 1], ',')) {
        int v = 0;
        if (absl::SimpleAtoi(n, &v)) counts.push_back(v);
      }
    }
  }
  auto made = Deployment::Create("temoin-bench-idle", 1);
  if (!made.ok()) {
    std::cerr << made.status() << "\n";
    return 1;
  }
  Deployment& d = **made;
  d.StopServer();
  auto server = ServerProcess::Start(ServerBinary(), d.server_data(), d.port(),
                                     d.dir().Sub("bench-server.log"), {}, std::chrono::seconds(15),
                                     {"--max-calls-per-device", "100000", "--memory-mib", "4096"});
  if (!server.ok()) {
    std::cerr << server.status() << "\n";
    return 1;
  }
  pid_t pid = (*server)->pid();
  auto raw = RawClient::For(d);
  if (!raw.ok() || !raw->EnrolMonitor(d).ok()) return 1;
  std::string token = *raw->SignIn();
  std::cout << "idle_streams\tthreads\trss_mib\tfds\tsync_50_s\n";
  uint32_t seed = 1;
  for (int n : counts) {
    std::vector<std::unique_ptr<v1::Sync::Stub>> stubs;
    const int connections = std::max(1, n / 8);  // 8 concurrent streams per connection
    for (int c = 0; c < connections; ++c) stubs.push_back(v1::Sync::NewStub(raw->Channel(c + 1)));
    std::vector<Open> open;
    for (int i = 0; i < n; ++i) {
      Open o;
      o.ctx = std::make_unique<grpc::ClientContext>();
      o.ctx->AddMetadata("authorization", "Bearer " + token);
      o.stream = stubs[i % connections]->Upload(o.ctx.get());
      open.push_back(std::move(o));
    }
    std::this_thread::sleep_for(std::chrono::seconds(3));
    ProcessUsage usage = UsageOf(pid);
    double sync = TimedSync(d, seed++);
    std::cout << n << "\t" << usage.threads << "\t" << usage.rss_kib / 1024 << "\t" << usage.fds
              << "\t" << sync << std::endl;
    for (Open& o : open) o.stream->WritesDone();
    for (Open& o : open) o.stream->Finish();
  }
  return 0;
}

}  // namespace
}  // namespace temoin::e2e

int main(int argc, char** argv) { return temoin::e2e::Main(argc, argv); }

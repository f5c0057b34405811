// netsim: a field link on loopback, by hand or from a benchmark.
//
//   netsim --target PORT [--listen PORT] [--rate BITS] [--up BITS] [--down BITS]
//          [--latency-ms MS] [--cut-mean BYTES] [--cut-dist uniform|exponential]
//          [--seed S] [--report-every SECONDS]
//
// Prints "netsim: listening on 127.0.0.1:P" and its seed on stderr, its counters every
// --report-every seconds and once more on SIGINT/SIGTERM, when it exits. Example:
//   netsim --target 7443 --rate 64000 --latency-ms 300 --cut-mean 65536 --seed 7 &
//   temoin --home H sync --until-done --server 127.0.0.1:P

#include <csignal>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/netsim/link_simulator.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

void Print(const temoin::netsim::LinkCounters& c) {
  std::cerr << "netsim: connections " << c.connections << " cuts " << c.cuts << " up_forwarded "
            << c.up_forwarded << " down_forwarded " << c.down_forwarded << " up_lost " << c.up_lost
            << " down_lost " << c.down_lost << std::endl;
}

int Usage(const std::string& why) {
  std::cerr << "netsim: " << why
            << "\nusage: netsim --target PORT [--listen PORT] [--rate BITS] [--up BITS] "
               "[--down BITS] [--latency-ms MS] [--cut-mean BYTES] "
               "[--cut-dist uniform|exponential] [--seed S] [--report-every SECONDS]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  temoin::netsim::LinkOptions o;
  o.seed = std::random_device{}();
  double report_every = 5;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return Usage(arg + " needs a value");
    std::string v = argv[++i];
    int64_t n = 0;
    bool ok = true;
    if (arg == "--cut-dist") {
      if (v == "uniform") {
        o.cut_distribution = temoin::netsim::CutDistribution::kUniform;
      } else if (v == "exponential") {
        o.cut_distribution = temoin::netsim::CutDistribution::kExponential;
      } else {
        return Usage("--cut-dist is uniform or exponential");
      }
      continue;
    }
    if (arg == "--report-every") {
      if (!absl::SimpleAtod(v, &report_every) || report_every <= 0) return Usage("bad " + arg);
      continue;
    }
    ok = absl::SimpleAtoi(v, &n) && n >= 0;
    if (!ok) return Usage("bad value for " + arg);
    if (arg == "--target") {
      o.target_port = static_cast<int>(n);
    } else if (arg == "--listen") {
      o.listen_port = static_cast<int>(n);
    } else if (arg == "--rate") {
      o.up_bits_per_s = o.down_bits_per_s = n;
    } else if (arg == "--up") {
      o.up_bits_per_s = n;
    } else if (arg == "--down") {
      o.down_bits_per_s = n;
    } else if (arg == "--latency-ms") {
      o.latency = std::chrono::milliseconds(n);
    } else if (arg == "--cut-mean") {
      o.cut_mean_bytes = n;
    } else if (arg == "--seed") {
      o.seed = static_cast<uint64_t>(n);
    } else {
      return Usage("unknown argument " + arg);
    }
  }
  if (o.target_port <= 0) return Usage("--target is required");
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  temoin::netsim::LinkSimulator link(o);
  if (absl::Status s = link.Start(); !s.ok()) {
    std::cerr << "netsim: " << s.message() << "\n";
    return 1;
  }
  std::cerr << "netsim: listening on 127.0.0.1:" << link.port() << " -> 127.0.0.1:" << o.target_port
            << " up " << o.up_bits_per_s << " bit/s down " << o.down_bits_per_s << " bit/s latency "
            << o.latency.count() << " ms cut-mean " << o.cut_mean_bytes << " seed " << o.seed
            << std::endl;
  std::cout << link.port() << std::endl;  // for scripts
  auto next = std::chrono::steady_clock::now();
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() >= next) {
      Print(link.counters());
      next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(report_every));
    }
  }
  link.Stop();
  Print(link.counters());
  return 0;
}

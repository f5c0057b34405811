// The fleet soak of issue 12 (outside CI): N simulated devices syncing continuously
// against one real `temoin-server` over TLS on loopback, for a fixed time. Each device is
// a real enrolled `temoin` with its own vault; a cycle records 1 to --records-per-sync
// (default 3) synthetic testimonies and runs `temoin sync`. Every `--sample-seconds` one line
// reports the server's memory, threads and open files and the window's sync times (p50, p99) and
// errors; the same rows go to `--csv`.
//
// At the end every device syncs once more, and the run fails (exit 1) unless:
//   - the server holds exactly the records the devices made (none lost, none extra) and
//     one log entry for each (none stored twice);
//   - every device has purged everything it recorded (nothing left unacknowledged);
//   - the server's peak memory in the last quarter of the run is within
//     --memory-growth-limit of its peak in the second quarter (after warm-up): flat.
// Errors during the run are counted and reported, not fatal: a sync that fails leaves its
// records in the outbox for the next cycle, which is what a device in the field does.
//
//   build/tests/soak/fleet_soak --devices 200 --minutes 60 --csv fleet.csv
// Results: docs/fuzzing.md, "Soak".
#include <dirent.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::soak {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int devices = 200;
  double minutes = 60;
  int concurrency = 12;  // syncs in flight; the server admits 16 anonymous calls per source
  int sample_seconds = 30;
  uint32_t seed = 20261205;
  double memory_growth_limit = 1.2;
  // Larger values write faster: past the store's memtables within minutes, not hours.
  int records_per_sync = 3;
  std::string csv;
};

absl::StatusOr<Options> ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return absl::InvalidArgumentError("missing value for " + flag);
    std::string value = argv[++i];
    bool ok = true;
    if (flag == "--devices")
      ok = absl::SimpleAtoi(value, &o.devices);
    else if (flag == "--minutes")
      ok = absl::SimpleAtod(value, &o.minutes);
    else if (flag == "--concurrency")
      ok = absl::SimpleAtoi(value, &o.concurrency);
    else if (flag == "--sample-seconds")
      ok = absl::SimpleAtoi(value, &o.sample_seconds);
    else if (flag == "--seed")
      ok = absl::SimpleAtoi(value, &o.seed);
    else if (flag == "--memory-growth-limit")
      ok = absl::SimpleAtod(value, &o.memory_growth_limit);
    else if (flag == "--records-per-sync")
      ok = absl::SimpleAtoi(value, &o.records_per_sync);
    else if (flag == "--csv")
      o.csv = value;
    else
      return absl::InvalidArgumentError("unknown flag " + flag);
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("bad value for ", flag, ": ", value));
  }
  if (o.devices < 1 || o.concurrency < 1 || o.sample_seconds < 1 || o.minutes <= 0 ||
      o.records_per_sync < 1) {
    return absl::InvalidArgumentError(
        "--devices, --concurrency, --sample-seconds, --minutes, --records-per-sync > 0");
  }
  return o;
}

// What /proc says about the server process at one moment.
struct ProcessSample {
  int64_t rss_kb = -1;
  int64_t threads = -1;
  int64_t open_files = -1;
};

ProcessSample SampleProcess(pid_t pid) {
  ProcessSample s;
  std::ifstream f(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());  // "VmRSS:\t 123 kB"
    if (parts.size() < 2) continue;
    if (parts[0] == "VmRSS:") (void)absl::SimpleAtoi(parts[1], &s.rss_kb);
    if (parts[0] == "Threads:") (void)absl::SimpleAtoi(parts[1], &s.threads);
  }
  if (DIR* fds = opendir(absl::StrCat("/proc/", pid, "/fd").c_str()); fds != nullptr) {
    s.open_files = 0;
    while (dirent* e = readdir(fds)) s.open_files += e->d_name[0] != '.';
    closedir(fds);
  }
  return s;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// A failed command's reason without what varies between occurrences (numbers, ids), so
// that errors of one kind count together.
std::string ErrorKind(const std::string& stderr_text) {
  std::string first = stderr_text.substr(0, stderr_text.find('\n'));
  std::string kind;
  for (char c : first.substr(0, 120)) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      if (kind.empty() || kind.back() != '#') kind += '#';
    } else {
      kind += c;
    }
  }
  return kind.empty() ? "(no message)" : kind;
}

// Everything the workers report, read by the sampler. Thread-safe.
class FleetLog {
 public:
  void Recorded(const std::vector<std::pair<std::string, v1::Testimony>>& records) {
    std::lock_guard lock(mu_);
    for (const auto& [id, testimony] : records) recorded_.insert(id);
  }
  void Synced(double seconds) {
    std::lock_guard lock(mu_);
    window_.push_back(seconds);
    all_.push_back(seconds);
  }
  void Failed(const std::string& what, const std::string& kind) {
    std::lock_guard lock(mu_);
    ++window_errors_;
    ++errors_[what + ": " + kind];
  }
  struct Window {
    std::vector<double> sync_seconds;
    int errors = 0;
    size_t records = 0;
  };
  Window TakeWindow() {
    std::lock_guard lock(mu_);
    Window w{std::move(window_), window_errors_, recorded_.size()};
    window_.clear();
    window_errors_ = 0;
    return w;
  }
  std::set<std::string> recorded() const {
    std::lock_guard lock(mu_);
    return recorded_;
  }
  std::vector<double> all_syncs() const {
    std::lock_guard lock(mu_);
    return all_;
  }
  std::map<std::string, int> errors() const {
    std::lock_guard lock(mu_);
    return errors_;
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> recorded_;
  std::vector<double> window_, all_;
  int window_errors_ = 0;
  std::map<std::string, int> errors_;
};

// One simulated device: its home and its own testimony generator. `busy` keeps two
// workers off one device (a device runs one command at a time, as a phone would).
struct Device {
  std::string home;
  std::unique_ptr<e2e::TestimonyGenerator> generator;
  std::mutex busy;
};

class Fleet {
 public:
  Fleet(const e2e::Deployment& deployment, const Options& o, FleetLog* log)
      : deployment_(deployment), log_(log), records_per_sync_(o.records_per_sync) {
    for (size_t i = 0; i < deployment.monitors().size(); ++i) {
      auto d = std::make_unique<Device>();
      d->home = deployment.monitors()[i];
      d->generator = std::make_unique<e2e::TestimonyGenerator>(o.seed + static_cast<uint32_t>(i));
      devices_.push_back(std::move(d));
    }
  }

  // Runs cycles on `concurrency` threads until `until`.
  void RunUntil(Clock::time_point until, int concurrency) {
    std::vector<std::thread> workers;
    for (int w = 0; w < concurrency; ++w) {
      workers.emplace_back([this, until, w] { Work(until, w); });
    }
    for (std::thread& t : workers) t.join();
  }

  // Syncs every device until it succeeds (up to 5 tries each); the devices that never did.
  int SyncAll() {
    int failed = 0;
    for (const auto& d : devices_) {
      bool ok = false;
      for (int attempt = 0; attempt < 5 && !ok; ++attempt) ok = Sync(*d);
      failed += !ok;
    }
    return failed;
  }

  // Devices still holding a record they have not seen acknowledged and purged.
  absl::StatusOr<int> DevicesWithUnpurgedRecords() const {
    int count = 0;
    for (const auto& d : devices_) {
      absl::StatusOr<nlohmann::json> counts = deployment_.RecordCounts(d->home);
      if (!counts.ok()) return counts.status();
      int held = 0;
      for (const char* state : {"draft", "sealed", "committed", "received"}) {
        held += (*counts)[state].get<int>();
      }
      count += held > 0;
    }
    return count;
  }

 private:
  void Work(Clock::time_point until, int worker) {
    std::mt19937 rng(static_cast<uint32_t>(worker) * 7919u + 1);
    while (Clock::now() < until) {
      size_t i = next_.fetch_add(1) % devices_.size();
      std::unique_lock lock(devices_[i]->busy, std::try_to_lock);
      if (!lock.owns_lock()) continue;
      Cycle(*devices_[i], 1 + static_cast<int>(rng() % static_cast<uint32_t>(records_per_sync_)));
    }
  }

  void Cycle(Device& d, int records) {
    std::vector<v1::Testimony> testimonies;
    for (int r = 0; r < records; ++r) testimonies.push_back(d.generator->Next());
    auto recorded = deployment_.Record(d.home, testimonies);
    if (!recorded.ok()) {
      log_->Failed("record", ErrorKind(std::string(recorded.status().message())));
      return;
    }
    log_->Recorded(*recorded);
    Sync(d);
  }

  bool Sync(Device& d) {
    Clock::time_point start = Clock::now();
    e2e::CommandResult r = deployment_.Temoin(d.home, {"sync"}, std::chrono::minutes(5));
    if (r.exit_code != 0) {
      log_->Failed("sync", r.timed_out ? "timed out after 5 min" : ErrorKind(r.err));
      return false;
    }
    log_->Synced(std::chrono::duration<double>(Clock::now() - start).count());
    return true;
  }

  const e2e::Deployment& deployment_;
  FleetLog* log_;
  const int records_per_sync_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::atomic<size_t> next_{0};
};

// One row per sample period, on stdout and in the CSV.
class Sampler {
 public:
  Sampler(pid_t server, const std::string& csv_path, FleetLog* log)
      : server_(server), log_(log), start_(Clock::now()) {
    if (!csv_path.empty()) {
      csv_.open(csv_path);
      csv_ << "seconds,rss_kb,threads,open_files,syncs,p50_ms,p99_ms,errors,records\n";
    }
  }

  void Sample() {
    ProcessSample p = SampleProcess(server_);
    FleetLog::Window w = log_->TakeWindow();
    double t = std::chrono::duration<double>(Clock::now() - start_).count();
    rss_.emplace_back(t, p.rss_kb);
    double p50 = Percentile(w.sync_seconds, 0.5) * 1000,
           p99 = Percentile(w.sync_seconds, 0.99) * 1000;
    std::cout << absl::StrFormat(
                     "t=%5.0fs rss=%6.1f MiB threads=%3d fds=%4d syncs=%4d p50=%6.0f ms "
                     "p99=%6.0f ms errors=%d records=%d\n",
                     t, p.rss_kb / 1024.0, p.threads, p.open_files, w.sync_seconds.size(), p50, p99,
                     w.errors, w.records)
              << std::flush;
    if (csv_.is_open()) {
      csv_ << absl::StrFormat("%.0f,%d,%d,%d,%d,%.0f,%.0f,%d,%d\n", t, p.rss_kb, p.threads,
                              p.open_files, w.sync_seconds.size(), p50, p99, w.errors, w.records)
           << std::flush;
    }
  }

  // Peak RSS in the second quarter of the run (after warm-up) and in the last quarter.
  std::pair<int64_t, int64_t> QuarterPeaks() const {
    double end = rss_.empty() ? 0 : rss_.back().first;
    int64_t second = 0, last = 0;
    for (const auto& [t, kb] : rss_) {
      if (t >= end / 4 && t < end / 2) second = std::max(second, kb);
      if (t >= end * 3 / 4) last = std::max(last, kb);
    }
    return {second, last};
  }

 private:
  pid_t server_;
  FleetLog* log_;
  Clock::time_point start_;
  std::ofstream csv_;
  std::vector<std::pair<double, int64_t>> rss_;
};

absl::Status CheckServerHoldsExactly(const e2e::Deployment& d, const std::set<std::string>& made) {
  absl::StatusOr<e2e::Deployment::ServerListing> listing = d.ListServerRecords();
  if (!listing.ok()) return listing.status();
  std::set<std::string> held(listing->record_ids.begin(), listing->record_ids.end());
  int missing = 0, extra = 0;
  for (const std::string& id : made) missing += held.count(id) == 0;
  for (const std::string& id : held) extra += made.count(id) == 0;
  std::cout << absl::StrFormat(
      "server: %d records held (%d distinct), %d log entries; %d made by the devices; "
      "%d missing, %d not made by any device\n",
      listing->record_ids.size(), held.size(), listing->log_entries, made.size(), missing, extra);
  if (missing > 0 || extra > 0 || held.size() != listing->record_ids.size() ||
      listing->log_entries != made.size()) {
    return absl::DataLossError("the server's records are not exactly the devices' records");
  }
  return absl::OkStatus();
}

void PrintSummary(const FleetLog& log, double seconds) {
  std::vector<double> all = log.all_syncs();
  std::cout << absl::StrFormat(
      "syncs: %d in %.0f s (%.2f/s); p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", all.size(), seconds,
      all.size() / seconds, Percentile(all, 0.5) * 1000, Percentile(all, 0.99) * 1000,
      all.empty() ? 0.0 : *std::max_element(all.begin(), all.end()) * 1000);
  int total = 0;
  for (const auto& [kind, n] : log.errors()) total += n;
  std::cout << "errors: " << total << "\n";
  for (const auto& [kind, n] : log.errors()) std::cout << "  " << n << " × " << kind << "\n";
}

absl::Status Run(const Options& o) {
  Clock::time_point enrol_start = Clock::now();
  auto deployment = e2e::Deployment::Create("temoin-fleet", o.devices);
  if (!deployment.ok()) return deployment.status();
  std::cout << absl::StrFormat(
      "enrolled %d devices in %.0f s; server pid %d on port %d; %d syncs at once for %.1f min\n",
      o.devices, std::chrono::duration<double>(Clock::now() - enrol_start).count(),
      (*deployment)->server_pid(), (*deployment)->port(), o.concurrency, o.minutes);
  FleetLog log;
  Fleet fleet(**deployment, o, &log);
  Sampler sampler((*deployment)->server_pid(), o.csv, &log);
  Clock::time_point start = Clock::now();
  Clock::time_point until =
      start + std::chrono::milliseconds(static_cast<int64_t>(o.minutes * 60000));
  std::thread fleet_thread([&] { fleet.RunUntil(until, o.concurrency); });
  while (Clock::now() < until) {
    std::this_thread::sleep_for(
        std::min<Clock::duration>(std::chrono::seconds(o.sample_seconds), until - Clock::now()));
    sampler.Sample();
  }
  fleet_thread.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  PrintSummary(log, seconds);

  int unsynced = fleet.SyncAll();
  absl::StatusOr<int> unpurged = fleet.DevicesWithUnpurgedRecords();
  if (!unpurged.ok()) return unpurged.status();
  std::cout << "final sync: " << unsynced << " devices failed it; " << *unpurged
            << " devices still hold unacknowledged records\n";
  auto [warm, last] = sampler.QuarterPeaks();
  double growth = warm > 0 ? static_cast<double>(last) / static_cast<double>(warm) : 0;
  std::cout << absl::StrFormat(
      "memory: peak %.1f MiB in the 2nd quarter, %.1f MiB in the last: %.2f×\n", warm / 1024.0,
      last / 1024.0, growth);
  absl::Status exact = CheckServerHoldsExactly(**deployment, log.recorded());
  if (!exact.ok()) return exact;
  if (unsynced > 0 || *unpurged > 0) return absl::DataLossError("devices left unsynced");
  if (growth > o.memory_growth_limit) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("server memory grew %.2f× (limit %.2f×)", growth, o.memory_growth_limit));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace temoin::soak

int main(int argc, char** argv) {
  absl::StatusOr<temoin::soak::Options> o = temoin::soak::ParseArgs(argc, argv);
  if (!o.ok()) {
    std::cerr
        << o.status().message()
        << "\nusage: fleet_soak [--devices 200] [--minutes 60] [--concurrency 12] "
           "[--sample-seconds 30] [--seed N] [--memory-growth-limit 1.2] [--records-per-sync 3]\n"
           "       [--csv FILE]\n";
    return 2;
  }
  absl::Status s = temoin::soak::Run(*o);
  std::cout << (s.ok() ? "PASSED" : "FAILED: " + std::string(s.message())) << "\n";
  return s.ok() ? 0 : 1;
}

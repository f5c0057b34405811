// temoin-server: init | run. See DESIGN.md "Command line" and docs/architecture.md.
#include <signal.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "crypto/checkpoint.h"
#include "crypto/secret_buffer.h"
#include "crypto/server_keys.h"
#include "crypto/sodium_init.h"
#include "server/app/backup.h"
#include "server/app/config_file.h"
#include "server/app/data_dir.h"
#include "server/app/grpc_server.h"
#include "server/app/health.h"
#include "server/app/memory_trimmer.h"
#include "server/app/migrate_store.h"
#include "server/app/open_store.h"
#include "server/app/witness_transport.h"
#include "server/core/bundle_import.h"
#include "server/log/log.h"
#include "server/metrics/prometheus_metrics.h"
#include "server/storage/rocks_store.h"

namespace temoin::server {
namespace {

int Fail(const absl::Status& status) {
  std::cerr << "temoin-server: " << status.message() << "\n";
  return 1;
}

int RunInit(const std::string& data, const std::string& org, const std::string& listen,
            const std::string& store) {
  absl::StatusOr<std::string> code =
      InitializeDataDir(data, org, listen.empty() ? kDefaultListen : listen, store);
  if (!code.ok()) return Fail(code.status());
  std::cout << *code << "\n";
  std::cerr << "temoin-server: initialised " << data
            << ". The line above is the first admin's enrolment code (single use, 24 h):\n"
            << "  temoin --home ADMIN_HOME enroll CODE\n";
  return 0;
}

// Bounds on calls (issue 14). Each default is sized so that an honest device on a
// 10 kbit/s link never reaches it; see docs/admin-guide.md.
void AddCallLimitFlags(CLI::App& run, ServerLimits& limits) {
  CallLimits& calls = limits.calls;
  run.add_option("--workers", calls.workers,
                 "threads for the blocking part of calls: store reads, fsync'd commits, "
                 "signature checks (default 8); open and waiting calls hold none")
      ->check(CLI::Range(1, 256));
  run.add_option_function<int>(
         "--first-message-seconds",
         [&calls](int s) { calls.first_message = std::chrono::seconds(s); },
         "a stream that delivers no message this long after opening is ended (default "
         "120: a device's first message is at most ~32 KiB, 26 s at 10 kbit/s)")
      ->check(CLI::Range(5, 3600));
  run.add_option_function<int>(
         "--stream-idle-seconds", [&calls](int s) { calls.stream_idle = std::chrono::seconds(s); },
         "a stream with no message in or out this long is ended (default 1200: a batch "
         "holding one record at the 1 MiB limit takes 14 minutes at 10 kbit/s)")
      ->check(CLI::Range(10, 24 * 3600));
  run.add_option("--max-calls-per-device", calls.max_calls_per_device,
                 "open calls of one device at once (default 8; a sync uses 1 to 3)")
      ->check(CLI::Range(1, 1000000));
  run.add_option("--max-call-rate-per-device", calls.call_rate_per_device,
                 "new calls a device may open per second, sustained (default 500, bursts of "
                 "twice that); the excess is refused before any handler runs")
      ->check(CLI::Range(1.0, 100000.0));
  run.add_option("--max-anonymous-calls-per-source", calls.max_anonymous_calls_per_source,
                 "open enrolment and sign-in calls from one source address at once (default "
                 "16; the address is held in memory only, never logged)")
      ->check(CLI::Range(1, 10000));
  run.add_option("--max-enroll-failures", calls.enrollment.max_failures_per_source,
                 "refused enrolments from one source address in 10 minutes before its "
                 "attempts are refused outright (default 20; a burst is audited once)")
      ->check(CLI::Range(1, 100000));
  run.add_option_function<uint64_t>(
         "--max-relay-spool-mib",
         [&calls](uint64_t mib) { calls.relay.max_spooled_bytes = mib << 20; },
         "disk for relayed bundles in flight, all devices together (default 4096); "
         "beyond it a relay is refused and retried later")
      ->check(CLI::Range(1, 1 << 24));
  run.add_option("--max-relays-per-device", calls.relay.max_relays_per_carrier,
                 "bundles one device may relay at once (default 2)")
      ->check(CLI::Range(1, 1000));
  run.add_option("--connection-idle-seconds", limits.connection_idle_seconds,
                 "a connection with no open call this long is closed (default 300)")
      ->check(CLI::Range(10, 24 * 3600));
}

struct RunFlags {
  std::string listen;
  int shutdown_seconds = 10;  // grace for calls in flight on SIGTERM/SIGINT
  std::string log_format = "text";
  bool log_peer_addresses = false;
  std::string metrics;  // loopback HOST:PORT for Prometheus; empty: no metrics
  ServerLimits limits;
  IngestLimits ingest;
  uint64_t max_attachment_mib = 200;
  std::vector<std::string> witnesses;  // URL=VKEY
};

// Each connection is a descriptor; the usual soft limit of 1024 would let a few hundred
// idle connections stop the server from accepting devices or opening store files.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// `run` reports through the server's log (server/log/log.h); `init` and `import` are
// commands a person types and reads, so they speak plainly on stderr.
int FailToServe(const absl::Status& status) {
  log::Error("startup_failed", {{"reason", status.message()}});
  return 1;
}

sigset_t BlockStopSignals() {
  // Blocked in every thread (threads inherit the mask); one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

absl::StatusOr<std::unique_ptr<PrometheusMetrics>> StartMetrics(const RunFlags& flags, Core& core,
                                                                Store& store,
                                                                const std::string& store_path,
                                                                const std::string& data) {
  if (flags.metrics.empty()) return nullptr;
  ScrapedGauges gauges{[&core] { return core.sessions().OpenSessions(); }, store_path, data,
                       [&store] { return store.MemoryBytes(); }};
  return PrometheusMetrics::Start(flags.metrics, std::move(gauges));
}

// The witnesses of --witness (server/core/witness_pool.h): submitted to from a thread of
// their own; a witness that refuses or cannot be reached is logged when that changes.
absl::StatusOr<std::unique_ptr<WitnessPool>> StartWitnesses(const RunFlags& flags, Core& core) {
  std::vector<WitnessConfig> configs;
  for (const std::string& flag : flags.witnesses) {
    TEMOIN_ASSIGN_OR_RETURN(WitnessConfig config, ParseWitnessFlag(flag));
    configs.push_back(std::move(config));
  }
  if (configs.empty()) return nullptr;
  TEMOIN_ASSIGN_OR_RETURN(
      std::unique_ptr<WitnessPool> pool,
      WitnessPool::Create(
          std::move(configs), &core.log(), MakeHttpWitnessTransport(),
          [](const std::string& url, const absl::Status& status) {
            if (status.ok()) {
              log::Info("witness_cosigning", {{"witness", url}});
            } else {
              log::Warning("witness_failed", {{"witness", url}, {"reason", status.message()}});
            }
          }));
  core.set_witnesses(pool.get());
  pool->Start();
  log::Info("witnesses", {{"count", static_cast<int>(pool->size())}});
  return pool;
}

int RunServe(const std::string& data, RunFlags flags) {
  sigset_t stop_signals = BlockStopSignals();
  if (!flags.metrics.empty()) {
    if (absl::Status s = CheckLoopbackAddress(flags.metrics); !s.ok()) return FailToServe(s);
  }
  RaiseOpenFileLimit();
  absl::StatusOr<ServerData> server_data = LoadDataDir(data);
  if (!server_data.ok()) return FailToServe(server_data.status());
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(data);
  if (!store.ok()) return FailToServe(store.status());
  // `temoin-server backup` asks this process for a checkpoint of the embedded store.
  std::unique_ptr<BackupListener> backups;
  if (auto* rocks = dynamic_cast<RocksStore*>(store->get()); rocks != nullptr) {
    absl::StatusOr<std::unique_ptr<BackupListener>> started = BackupListener::Start(data, rocks);
    if (!started.ok()) return FailToServe(started.status());
    backups = std::move(*started);
  }
  std::string listen = flags.listen.empty() ? server_data->listen : flags.listen;
  absl::StatusOr<crypto::BoxKeyPair> bundle_key = LoadOrCreateBundleKey(data);
  if (!bundle_key.ok()) return FailToServe(bundle_key.status());
  absl::StatusOr<LogIdentity> log = LoadOrCreateLogIdentity(data);
  if (!log.ok()) return FailToServe(log.status());
  flags.ingest.max_attachment_bytes = flags.max_attachment_mib << 20;
  flags.limits.calls.relay.spool_dir = server_data->root + "/spool";
  Core core(store->get(), &SystemClock::Get(), std::move(server_data->receipt_key),
            server_data->vocabulary, flags.ingest);
  core.set_bundle_key(std::move(*bundle_key));
  core.set_log_key(std::move(log->key), log->origin);
  core.set_served_tls_pin(server_data->tls_spki_sha256);
  absl::StatusOr<std::unique_ptr<WitnessPool>> witnesses = StartWitnesses(flags, core);
  if (!witnesses.ok()) return FailToServe(witnesses.status());
  // Declared after the core and before the server: destroyed after the last call ends.
  absl::StatusOr<std::unique_ptr<PrometheusMetrics>> metrics =
      StartMetrics(flags, core, **store, server_data->db_path(), data);
  if (!metrics.ok()) return FailToServe(metrics.status());
  if (*metrics) core.set_metrics(metrics->get());
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(&core, server_data->tls, listen, flags.limits);
  crypto::WipeString(server_data->tls.private_key_pem);
  if (!server.ok()) return FailToServe(server.status());
  log::Info("serving", {{"org", server_data->org_name},
                        {"port", (*server)->port()},
                        {"metrics", flags.metrics.empty() ? "off" : flags.metrics}});

  MemoryTrimmer trimmer(std::chrono::seconds(2));
  // SERVING once a durable write to the store succeeds, and while they keep succeeding.
  HealthReporter health(
      store->get(), [&server](bool serving) { (*server)->SetServing(serving); },
      std::chrono::seconds(10));
  std::thread stopper([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    log::Info("stopping", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
                           {"grace_seconds", flags.shutdown_seconds}});
    // Health first, so that a load balancer stops sending devices here; then gRPC
    // refuses new calls, lets the calls in flight end (a batch being committed is
    // answered with its receipt) and cancels what is left at the deadline.
    health.Stop();
    (*server)->Shutdown(std::chrono::seconds(flags.shutdown_seconds));
  });
  (*server)->Wait();
  stopper.join();
  // Every call has ended: the core and the store close after this (RocksDB's WAL was
  // fsync'd at each commit, so nothing acknowledged depends on this close).
  log::Info("stopped");
  return 0;
}

// DATA/server.toml under the command line (server/app/config_file.h).
absl::Status ApplyConfigFile(const std::string& data, CLI::App& run) {
  const std::string path = data + "/" + kConfigFileName;
  absl::StatusOr<std::vector<ConfigSetting>> settings = ReadConfigFile(path);
  if (!settings.ok()) return settings.status();
  return ApplyConfig(*settings, run, path);
}

// Offline: the store must not be open in a running server (RocksDB's lock says so).
int RunImport(const std::string& data, const std::string& bundle_path) {
  absl::StatusOr<ServerData> server_data = LoadDataDir(data);
  if (!server_data.ok()) return Fail(server_data.status());
  crypto::WipeString(server_data->tls.private_key_pem);
  // Read where it lies, in two streaming passes: a bundle of 1 GiB costs no more memory
  // than a small one.
  const int fd = open(bundle_path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat file_stat {};
  if (fd < 0 || fstat(fd, &file_stat) != 0 || !S_ISREG(file_stat.st_mode)) {
    if (fd >= 0) close(fd);
    return Fail(absl::NotFoundError("cannot read the bundle file " + bundle_path));
  }
  absl::Cleanup close_file = [fd] { close(fd); };
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(data);
  if (!store.ok()) {
    return Fail(absl::FailedPreconditionError(
        "the store is in use (is temoin-server run still running on this data directory?); "
        "stop it, or give the bundle to a device to relay"));
  }
  absl::StatusOr<crypto::BoxKeyPair> bundle_key = LoadOrCreateBundleKey(data);
  if (!bundle_key.ok()) return Fail(bundle_key.status());
  Core core(store->get(), &SystemClock::Get(), std::move(server_data->receipt_key),
            server_data->vocabulary);
  core.set_bundle_key(std::move(*bundle_key));
  absl::StatusOr<BundleImportReport> report =
      ImportBundle(core, FileBundleSource(fd, static_cast<uint64_t>(file_stat.st_size)));
  if (!report.ok()) return Fail(report.status());
  for (const std::string& refusal : report->refusals) {
    std::cerr << "temoin-server: " << refusal << "\n";
  }
  std::cout << report->records << " new, " << report->duplicates << " already stored, "
            << report->refused << " refused\n";
  std::cerr << "temoin-server: imported; receipts reach the device at its next sync\n";
  return report->refused > 0 ? 1 : 0;
}

// Offline, like import: RocksDB's lock refuses while `run` holds the store.
int RunMigrate(const std::string& data, const std::string& to) {
  absl::StatusOr<MigrationReport> report = MigrateToPostgres(data, to);
  if (!report.ok()) return Fail(report.status());
  std::cout << report->keys << " keys (" << report->bytes << " bytes): " << report->records
            << " records, " << report->audit_entries << " audit entries, log size "
            << report->log_size << "\n";
  std::cerr << "temoin-server: copied and verified (every key and value, the log size); " << data
            << " now uses PostgreSQL. " << data
            << "/db is left as it was: remove it once you are satisfied\n";
  return 0;
}

int RunBackup(const std::string& data, const std::string& out) {
  absl::StatusOr<BackupReport> report = BackupDataDir(data, out);
  if (!report.ok()) return Fail(report.status());
  std::cout << report->records << " records, " << report->blobs << " attachments, log size "
            << report->log_size << "\n";
  std::cerr << "temoin-server: backed up " << data << " to " << out
            << (report->from_running_server ? " (taken by the running server)" : "")
            << ". It holds the server's secret keys: keep it as safe as the server\n";
  return 0;
}

int RunRestore(const std::string& from, const std::string& data, bool force) {
  absl::StatusOr<BackupReport> report = RestoreDataDir(from, data, force);
  if (!report.ok()) return Fail(report.status());
  std::cout << report->records << " records, " << report->blobs << " attachments, log size "
            << report->log_size << "\n";
  std::cerr << "temoin-server: restored " << from << " into " << data
            << ". Devices that synced after this backup was taken hold a longer log and will "
               "refuse to sync with this server (docs/operations.md, \"After a restore\")\n";
  return 0;
}

// Reads only keys/log.key, so it works while the server runs.
int RunLogVkey(const std::string& data) {
  if (!PathExists(data + "/config.json")) {
    return Fail(absl::FailedPreconditionError(
        absl::StrCat(data, " is not a temoin data directory; run temoin-server init first")));
  }
  absl::StatusOr<LogIdentity> log = LoadOrCreateLogIdentity(data);
  if (!log.ok()) return Fail(log.status());
  std::cout << log->vkey() << "\n";
  return 0;
}

// The next receipt and log keys while a rotation is under way (keys next): the lines
// `keys show` prints and the flags that certify them.
struct NextKeys {
  std::string lines, flags;
};

absl::StatusOr<NextKeys> ReadNextKeys(const std::string& data) {
  NextKeys next;
  if (PathExists(data + "/keys/receipt.next.key")) {
    TEMOIN_ASSIGN_OR_RETURN(std::string receipt, PrepareNextReceiptKey(data));  // reads it
    absl::StrAppend(&next.lines, "next-receipt ", ToHex(receipt), "\n");
    absl::StrAppend(&next.flags, " --next-receipt-key ", ToHex(receipt));
  }
  if (PathExists(data + "/keys/log.next.key")) {
    TEMOIN_ASSIGN_OR_RETURN(std::string log, PrepareNextLogKey(data));  // reads it
    absl::StrAppend(&next.lines, "next-log ", log, "\n");
    absl::StrAppend(&next.flags, " --next-log-key ", log);
  }
  return next;
}

// Reads only the key files, so it works while the server runs. What the admin reads here,
// on the server's own machine, is what they certify from their device: a server (or a
// network) that lies to the admin's device cannot make them sign a key of its own.
int RunKeysShow(const std::string& data) {
  if (!PathExists(data + "/config.json")) {
    return Fail(absl::FailedPreconditionError(
        absl::StrCat(data, " is not a temoin data directory; run temoin-server init first")));
  }
  absl::StatusOr<std::string> secret = ReadFileToString(data + "/keys/receipt.key", 4096);
  if (!secret.ok()) return Fail(secret.status());
  absl::StatusOr<crypto::SigningKey> receipt_key = crypto::SigningKey::FromSecretKey(*secret);
  crypto::WipeString(*secret);
  if (!receipt_key.ok()) return Fail(absl::DataLossError("keys/receipt.key is damaged"));
  absl::StatusOr<LogIdentity> log = LoadOrCreateLogIdentity(data);
  if (!log.ok()) return Fail(log.status());
  absl::StatusOr<NextKeys> next = ReadNextKeys(data);
  if (!next.ok()) return Fail(next.status());
  const std::string receipt_hex = ToHex(receipt_key->public_key());
  const std::string vkey = log->vkey();
  std::cout << "receipt " << receipt_hex << "\nlog " << vkey << "\n" << next->lines;
  std::cerr << "receipt key fingerprint " << crypto::KeyFingerprint(receipt_key->public_key())
            << ", log key fingerprint " << crypto::KeyFingerprint(vkey)
            << "\nOn an admin device: temoin admin certify-server-keys --receipt-key "
            << receipt_hex << " --log-key " << vkey << next->flags << "\n";
  return 0;
}

// Both of the server's signing keys rotate together: one procedure, one certification.
int RunKeysNext(const std::string& data) {
  absl::StatusOr<std::string> receipt = PrepareNextReceiptKey(data);
  if (!receipt.ok()) return Fail(receipt.status());
  absl::StatusOr<std::string> log = PrepareNextLogKey(data);
  if (!log.ok()) return Fail(log.status());
  std::cout << "next-receipt " << ToHex(*receipt) << "\nnext-log " << *log << "\n";
  std::cerr << "next receipt key (fingerprint " << crypto::KeyFingerprint(*receipt)
            << ") and next log key (fingerprint " << crypto::KeyFingerprint(*log)
            << ") ready, not used yet. On an admin device: temoin admin certify-server-keys "
               "with --next-receipt-key "
            << ToHex(*receipt) << " --next-log-key " << *log
            << " (temoin-server keys show prints the whole command); tell each witness "
               "(temoin-witness add-log --vkey with the next log key); let devices sync, then "
               "stop the server, run temoin-server keys switch and start it again\n";
  return 0;
}

// Each key whose next one is ready switches; each switch can be re-run after an
// interruption, so a rerun finishes what the first run began.
int RunKeysSwitch(const std::string& data) {
  const bool receipt_next = PathExists(data + "/keys/receipt.next.key");
  const bool log_next = PathExists(data + "/keys/log.next.key");
  std::string switched, flags;
  if (receipt_next || !log_next) {  // with neither, this says what to do
    absl::StatusOr<std::string> receipt = SwitchToNextReceiptKey(data);
    if (!receipt.ok()) return Fail(receipt.status());
    absl::StrAppend(&switched, "receipt ", ToHex(*receipt), "\n");
    absl::StrAppend(&flags, " --receipt-key ", ToHex(*receipt));
  }
  if (log_next) {
    absl::StatusOr<std::string> log = SwitchToNextLogKey(data);
    if (!log.ok()) return Fail(log.status());
    absl::StrAppend(&switched, "log ", *log, "\n");
    absl::StrAppend(&flags, " --log-key ", *log);
  }
  std::cout << switched;
  std::cerr << "switched: the server signs with the new key(s) from its next start; the old "
               "secrets are shredded. Then, on an admin device, certify the current keys alone "
               "(retires the old ones): temoin-server keys show prints the command ("
            << absl::StripLeadingAsciiWhitespace(flags) << ")\n";
  return 0;
}

int RunTlsNext(const std::string& data) {
  absl::StatusOr<std::string> pin = PrepareNextTlsKey(data);
  if (!pin.ok()) return Fail(pin.status());
  std::cout << ToHex(*pin) << "\n";
  std::cerr << "next TLS key ready (not served yet). On an admin device: temoin admin rotate-tls "
               "--pin "
            << ToHex(*pin)
            << "; let devices sync, then stop the server, run temoin-server tls switch and "
               "start it again\n";
  return 0;
}

int RunTlsSwitch(const std::string& data) {
  absl::StatusOr<std::string> pin = SwitchToNextTlsKey(data);
  if (!pin.ok()) return Fail(pin.status());
  std::cout << ToHex(*pin) << "\n";
  std::cerr << "switched: the server serves this key from its next start; the old key is "
               "shredded and its certificate kept in tls/retired/\n";
  return 0;
}

}  // namespace
}  // namespace temoin::server

int main(int argc, char** argv) {
  temoin::server::MemoryTrimmer::LimitArenas();
  if (absl::Status s = temoin::crypto::InitializeCrypto(); !s.ok()) {
    return temoin::server::Fail(s);
  }
  CLI::App app{
      "temoin-server: keeps sealed testimonies it cannot read, proves what it received, "
      "and enforces who may fetch what."};
  app.require_subcommand(1);
  std::string data, org, listen, store;

  CLI::App* init = app.add_subcommand("init",
                                      "create a data directory: keys, TLS certificate, "
                                      "store; prints the first admin's enrolment code");
  init->add_option("--data", data, "data directory to create")->required();
  init->add_option("--org", org, "organisation name")->required();
  init->add_option("--listen", listen,
                   "HOST:PORT to serve on (default 127.0.0.1:7443); also "
                   "the address written into enrolment codes");
  init->add_option("--store", store,
                   "keep the store in PostgreSQL instead of RocksDB: a libpq connection "
                   "string, e.g. 'postgresql://temoin@db1,db2/temoin?"
                   "target_session_attrs=read-write' (kept in DIR/store.conninfo, 0600)");

  CLI::App* run = app.add_subcommand("run", "serve devices over gRPC/TLS");
  temoin::server::RunFlags flags;
  run->add_option("--data", data, "data directory made by init")->required();
  run->add_option("--listen", listen, "HOST:PORT (default: the address given at init)");
  run->add_option("--shutdown-seconds", flags.shutdown_seconds,
                  "on SIGTERM or SIGINT, how long calls in flight may take to finish before "
                  "they are cancelled (default 10)")
      ->check(CLI::Range(1, 600));
  run->add_option("--log-format", flags.log_format,
                  "text (key=value, default) or json (one object a line)")
      ->check(CLI::IsMember({"text", "json"}));
  run->add_flag("--log-peer-addresses", flags.log_peer_addresses,
                "put client addresses in log lines (default: never; an address can "
                "identify a monitor)");
  run->add_option("--metrics", flags.metrics,
                  "serve Prometheus metrics at http://HOST:PORT/metrics; loopback only "
                  "(127.0.0.1:PORT or [::1]:PORT); default: no metrics");
  run->add_option("--max-attachment-mib", flags.max_attachment_mib,
                  "largest attachment accepted, MiB (default 200: 30 minutes of audio or a "
                  "few minutes of phone video)");
  run->add_option("--max-message-bytes", flags.limits.max_message_bytes,
                  "largest gRPC message received (default 2 MiB)");
  run->add_option("--max-streams", flags.limits.max_concurrent_streams,
                  "concurrent calls per connection (default 8)");
  temoin::server::AddCallLimitFlags(*run, flags.limits);
  run->add_option("--memory-mib", flags.limits.memory_bytes,
                  "gRPC memory quota in MiB, bounding buffers under many slow clients "
                  "(default 512)")
      ->transform([](std::string v) { return std::to_string(std::stoll(v) << 20); });
  run->add_option("--max-batches-per-minute", flags.ingest.rates.batches_per_minute,
                  "upload batches a device may send per minute (default 600; a sync sends "
                  "a few)")
      ->check(CLI::PositiveNumber);
  run->add_option("--daily-upload-mib", flags.ingest.rates.bytes_per_day,
                  "bytes a device may upload per UTC day, records and attachments together, "
                  "MiB (default 2048)")
      ->check(CLI::PositiveNumber)
      ->transform([](std::string v) { return std::to_string(std::stoull(v) << 20); });
  run->add_option("--max-partial-mib", flags.ingest.max_partial_bytes,
                  "bytes kept for unfinished attachment uploads, MiB (default 4096)")
      ->transform([](std::string v) { return std::to_string(std::stoull(v) << 20); });

  run->add_option("--witness", flags.witnesses,
                  "a witness to submit each new checkpoint to, URL=VKEY (repeatable; VKEY "
                  "as `temoin-witness vkey` prints it); GetLogProofs then serves checkpoints "
                  "with their cosignatures")
      ->allow_extra_args(false);

  std::string bundle;
  CLI::App* import = app.add_subcommand(
      "import", "import an offline bundle (temoin bundle export) while the server is stopped");
  import->add_option("--data", data, "data directory made by init")->required();
  import->add_option("BUNDLE", bundle, "the bundle file")->required();

  std::string migrate_to;
  CLI::App* migrate = app.add_subcommand(
      "migrate", "copy the embedded store into an empty PostgreSQL database (server stopped)");
  migrate->add_option("--data", data, "data directory made by init")->required();
  migrate->add_option("--to", migrate_to, "libpq connection string of the database")->required();

  std::string backup_out;
  CLI::App* backup = app.add_subcommand(
      "backup", "copy the embedded store and the server's keys, while the server runs or not");
  backup->add_option("--data", data, "data directory made by init")->required();
  backup->add_option("--out", backup_out, "a new or empty directory for the backup")->required();
  std::string restore_from;
  bool restore_force = false;
  CLI::App* restore =
      app.add_subcommand("restore", "put a backup back into a data directory (server stopped)");
  restore->add_option("--from", restore_from, "a directory made by backup")->required();
  restore->add_option("--data", data, "data directory to restore into")->required();
  restore->add_flag("--force", restore_force,
                    "replace a store that is not empty (it is moved aside, not deleted)");

  CLI::App* log = app.add_subcommand("log", "the transparency log");
  log->require_subcommand(1);
  CLI::App* vkey = log->add_subcommand("vkey", "print the checkpoint verifier key (note vkey)");
  vkey->add_option("--data", data, "data directory made by init")->required();

  CLI::App* keys_cmd = app.add_subcommand("keys", "the server's receipt and log keys");
  keys_cmd->require_subcommand(1);
  CLI::App* keys_show = keys_cmd->add_subcommand(
      "show", "print the receipt key and log key for temoin admin certify-server-keys");
  keys_show->add_option("--data", data, "data directory made by init")->required();
  CLI::App* keys_next = keys_cmd->add_subcommand(
      "next", "make the next receipt key (kept aside) and print it, to be certified first");
  keys_next->add_option("--data", data, "data directory made by init")->required();
  CLI::App* keys_switch = keys_cmd->add_subcommand(
      "switch", "sign receipts with the next key from the next start; shred the current one");
  keys_switch->add_option("--data", data, "data directory made by init")->required();

  CLI::App* tls = app.add_subcommand("tls", "rotate the TLS key without breaking device pins");
  tls->require_subcommand(1);
  CLI::App* tls_next = tls->add_subcommand(
      "next", "make the next TLS key (kept aside) and print its pin for temoin admin rotate-tls");
  tls_next->add_option("--data", data, "data directory made by init")->required();
  CLI::App* tls_switch = tls->add_subcommand(
      "switch", "serve the next TLS key from the next start; shred the current one");
  tls_switch->add_option("--data", data, "data directory made by init")->required();

  CLI11_PARSE(app, argc, argv);
  if (keys_show->parsed()) return temoin::server::RunKeysShow(data);
  if (keys_next->parsed()) return temoin::server::RunKeysNext(data);
  if (keys_switch->parsed()) return temoin::server::RunKeysSwitch(data);
  if (tls_next->parsed()) return temoin::server::RunTlsNext(data);
  if (tls_switch->parsed()) return temoin::server::RunTlsSwitch(data);
  if (init->parsed()) return temoin::server::RunInit(data, org, listen, store);
  if (vkey->parsed()) return temoin::server::RunLogVkey(data);
  if (import->parsed()) return temoin::server::RunImport(data, bundle);
  if (migrate->parsed()) return temoin::server::RunMigrate(data, migrate_to);
  if (backup->parsed()) return temoin::server::RunBackup(data, backup_out);
  if (restore->parsed()) return temoin::server::RunRestore(restore_from, data, restore_force);
  if (absl::Status s = temoin::server::ApplyConfigFile(data, *run); !s.ok()) {
    return temoin::server::FailToServe(s);
  }
  temoin::server::log::Configure(flags.log_format == "json" ? temoin::server::log::Format::kJson
                                                            : temoin::server::log::Format::kText,
                                 flags.log_peer_addresses);
  flags.listen = listen;
  flags.limits.calls.call_burst_per_device = 2 * flags.limits.calls.call_rate_per_device;
  return temoin::server::RunServe(data, flags);
}

#include "server/metrics/prometheus_metrics.h"

#include <arpa/inet.h>
#include <sys/statvfs.h>

#include <exception>
#include <filesystem>
#include <map>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace temoin::server {
namespace {

bool IsLoopbackHost(absl::string_view host) {
  if (host == "[::1]") return true;
  in_addr v4{};
  // inet_pton accepts only the dotted quad: no "localhost" (a name can resolve to
  // anything), no "0.0.0.0", no shorthand like "127.1".
  return inet_pton(AF_INET, std::string(host).c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

std::string_view OutcomeLabel(RecordOutcome outcome) {
  switch (outcome) {
    case RecordOutcome::kAccepted:
      return "accepted";
    case RecordOutcome::kDuplicate:
      return "duplicate";
    case RecordOutcome::kConflicting:
      return "conflicting";
    case RecordOutcome::kRefused:
      return "refused";
  }
  return "unknown";
}

// Total size of the regular files under `path`; 0 for what cannot be read (a file
// RocksDB deleted between listing and sizing, say).
double TreeBytes(const std::string& path) {
  std::error_code error;
  double total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(path, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    std::error_code size_error;
    if (it->is_regular_file(size_error)) {
      const uintmax_t size = it->file_size(size_error);
      if (!size_error) total += static_cast<double>(size);
    }
  }
  return total;
}

double FreeBytes(const std::string& path) {
  struct statvfs fs {};
  if (statvfs(path.c_str(), &fs) != 0) return -1;  // -1: could not be read
  return static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
}

prometheus::MetricFamily Gauge(std::string name, std::string help, double value) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric metric;
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
  return family;
}

}  // namespace

// Values that cost a walk of the store's directory or a call into the core: computed
// when scraped, never in the background.
class StoreGauges final : public prometheus::Collectable {
 public:
  explicit StoreGauges(ScrapedGauges gauges) : gauges_(std::move(gauges)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families = {
        Gauge("temoin_open_sessions", "session tokens issued and not yet expired",
              gauges_.open_sessions ? static_cast<double>(gauges_.open_sessions()) : 0),
        Gauge("temoin_store_bytes", "size of the store's files on disk",
              TreeBytes(gauges_.store_path)),
        Gauge("temoin_disk_free_bytes",
              "space left for the server on the data directory's file system (-1: unknown)",
              FreeBytes(gauges_.data_path)),
    };
    std::optional<uint64_t> memory =
        gauges_.store_memory ? gauges_.store_memory() : std::optional<uint64_t>();
    if (memory.has_value()) {
      families.push_back(Gauge("temoin_store_memory_bytes",
                               "the embedded store's memtables and block cache (bounded)",
                               static_cast<double>(*memory)));
    }
    return families;
  }

 private:
  const ScrapedGauges gauges_;
};

struct PrometheusMetrics::Families {
  prometheus::Family<prometheus::Counter>* records;
  prometheus::Family<prometheus::Counter>* sign_ins;
  prometheus::Counter* pieces;
  prometheus::Counter* bytes_in;
  prometheus::Counter* bytes_out;
  prometheus::Histogram* commit_seconds;
  prometheus::Family<prometheus::Counter>* log_proofs;
  prometheus::Counter* sign_ins_on_upload;
  prometheus::Family<prometheus::Counter>* commitments;
};

absl::Status CheckLoopbackAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        "--metrics needs HOST:PORT with a loopback host, e.g. 127.0.0.1:9464");
  }
  if (!IsLoopbackHost(address.substr(0, colon))) {
    return absl::InvalidArgumentError(
        "--metrics serves on a loopback address only (127.0.0.1:PORT or [::1]:PORT): "
        "metrics show when devices sync; scrape them locally or through an SSH tunnel");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PrometheusMetrics>> PrometheusMetrics::Start(
    const std::string& address, ScrapedGauges gauges) {
  if (absl::Status s = CheckLoopbackAddress(address); !s.ok()) return s;
  std::unique_ptr<PrometheusMetrics> m(new PrometheusMetrics());
  m->registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Registry& r = *m->registry_;
  m->families_ = std::make_unique<Families>();
  Families& f = *m->families_;
  f.records = &prometheus::BuildCounter()
                   .Name("temoin_records_total")
                   .Help("uploaded record bodies by outcome, and refusals by reason")
                   .Register(r);
  f.sign_ins = &prometheus::BuildCounter()
                    .Name("temoin_sign_ins_total")
                    .Help("device sign-ins by result (ok, or the refusal's reason)")
                    .Register(r);
  f.pieces = &prometheus::BuildCounter()
                  .Name("temoin_attachment_pieces_total")
                  .Help("attachment pieces stored")
                  .Register(r)
                  .Add({});
  f.bytes_in = &prometheus::BuildCounter()
                    .Name("temoin_received_bytes_total")
                    .Help("sealed bytes received in record and attachment uploads")
                    .Register(r)
                    .Add({});
  f.bytes_out = &prometheus::BuildCounter()
                     .Name("temoin_sent_bytes_total")
                     .Help("sealed bytes sent in record and attachment downloads")
                     .Register(r)
                     .Add({});
  f.commit_seconds =
      &prometheus::BuildHistogram()
           .Name("temoin_commit_seconds")
           .Help("time of one durable commit of uploaded records, fsync included")
           .Register(r)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                            0.1, 0.2, 0.5, 1, 2, 5});
  f.log_proofs = &prometheus::BuildCounter()
                      .Name("temoin_log_proofs_total")
                      .Help(
                          "answers of transparency-log proofs, by how they reached the device "
                          "(settings: on sign-in; upload: closing an upload; call: a call "
                          "of its own)")
                      .Register(r);
  f.sign_ins_on_upload =
      &prometheus::BuildCounter()
           .Name("temoin_upload_sign_ins_total")
           .Help("successful sign-ins that rode on an upload (no sign-in call of their own)")
           .Register(r)
           .Add({});
  f.commitments = &prometheus::BuildCounter()
                       .Name("temoin_commitments_total")
                       .Help(
                           "commitments taken, by form (single: one signed commitment each; "
                           "batch: leaves under one device signature a batch)")
                       .Register(r);
  for (CommitmentForm form : {CommitmentForm::kSingle, CommitmentForm::kBatch}) {
    f.commitments->Add({{"form", std::string(CommitmentFormLabel(form))}});
  }
  for (LogProofsVia via :
       {LogProofsVia::kSettings, LogProofsVia::kUploadStream, LogProofsVia::kCall}) {
    f.log_proofs->Add({{"via", std::string(LogProofsViaLabel(via))}});
  }
  // The usual series exist from the start at 0, so that rate() sees the first increase.
  f.records->Add({{"outcome", "accepted"}, {"reason", "ok"}});
  f.records->Add({{"outcome", "duplicate"}, {"reason", "ok"}});
  f.records->Add({{"outcome", "conflicting"}, {"reason", "failed_precondition"}});
  f.sign_ins->Add({{"result", "ok"}});
  f.sign_ins->Add({{"result", "unauthenticated"}});
  m->gauges_ = std::make_shared<StoreGauges>(std::move(gauges));
  try {
    // Two threads: one scrape at a time is the normal case; a second keeps a stuck
    // scraper from blocking the next.
    m->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception&) {
    // civetweb reports a failed bind by throwing; nothing else here throws.
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address));
  }
  m->exposer_->RegisterCollectable(m->registry_);
  m->exposer_->RegisterCollectable(m->gauges_);
  const std::vector<int> ports = m->exposer_->GetListeningPorts();
  m->port_ = ports.empty() ? 0 : ports.front();
  return m;
}

PrometheusMetrics::~PrometheusMetrics() = default;

void PrometheusMetrics::CountRecord(RecordOutcome outcome, absl::StatusCode reason) {
  families_->records
      ->Add({{"outcome", std::string(OutcomeLabel(outcome))},
             {"reason", std::string(StatusCodeLabel(reason))}})
      .Increment();
}

void PrometheusMetrics::CountSignIn(absl::StatusCode result) {
  families_->sign_ins->Add({{"result", std::string(StatusCodeLabel(result))}}).Increment();
}

void PrometheusMetrics::CountLogProofs(LogProofsVia via) {
  families_->log_proofs->Add({{"via", std::string(LogProofsViaLabel(via))}}).Increment();
}

void PrometheusMetrics::CountSignInOnUpload() { families_->sign_ins_on_upload->Increment(); }

void PrometheusMetrics::CountCommitments(CommitmentForm form, uint64_t count) {
  families_->commitments->Add({{"form", std::string(CommitmentFormLabel(form))}})
      .Increment(static_cast<double>(count));
}

void PrometheusMetrics::CountAttachmentPiece() { families_->pieces->Increment(); }

void PrometheusMetrics::CountBytesIn(uint64_t bytes) {
  families_->bytes_in->Increment(static_cast<double>(bytes));
}

void PrometheusMetrics::CountBytesOut(uint64_t bytes) {
  families_->bytes_out->Increment(static_cast<double>(bytes));
}

void PrometheusMetrics::ObserveCommitSeconds(double seconds) {
  families_->commit_seconds->Observe(seconds);
}

}  // namespace temoin::server

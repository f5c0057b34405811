#include "client/sync/sync_engine.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/core/device_state.h"
#include "client/core/outbox.h"
#include "client/core/review_desk.h"
#include "client/sync/connection.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/status_macros.h"

namespace temoin::client {
namespace {

absl::Status PullSettings(Vault& vault, Connection& connection, const v1::Profile& profile) {
  v1::GetSettingsResponse settings;
  TEMOIN_RETURN_IF_ERROR(
      FromGrpc(connection.sync().GetSettings(connection.NewContext().get(),
                                             v1::GetSettingsRequest(), &settings),
               connection.address()));
  TEMOIN_RETURN_IF_ERROR(
      vault.Put(kSettingsNs, "vocabulary", settings.vocabulary().SerializeAsString()));
  for (const v1::SignedProjectKey& key : settings.project_keys()) {
    TEMOIN_RETURN_IF_ERROR(StoreSignedProjectKey(vault, key, profile.org_public_key()).status());
  }
  return absl::OkStatus();
}

std::vector<std::vector<const v1::OutboxEntry*>> MakeBatches(
    const std::vector<v1::OutboxEntry>& pending, const SyncOptions& options) {
  std::vector<std::vector<const v1::OutboxEntry*>> batches;
  size_t bytes = 0;
  for (const v1::OutboxEntry& entry : pending) {
    size_t size = entry.envelope().ByteSizeLong();
    if (batches.empty() || batches.back().size() >= options.max_batch_records ||
        bytes + size > options.max_batch_bytes) {
      batches.emplace_back();
      bytes = 0;
    }
    batches.back().push_back(&entry);
    bytes += size;
  }
  return batches;
}

absl::Status Upload(Vault& vault, Connection& connection, const SyncOptions& options,
                    SyncReport& report) {
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::OutboxEntry> pending, PendingRecords(vault));
  report.pending = pending.size();
  if (pending.empty()) return absl::OkStatus();
  SyncProgress progress{.records_total = pending.size()};
  for (const auto& entry : pending) progress.bytes_total += entry.envelope().ByteSizeLong();
  auto batches = MakeBatches(pending, options);

  std::unique_ptr<grpc::ClientContext> context =
      connection.NewContext(Connection::kTransferDeadline);
  auto stream = connection.sync().Upload(context.get());
  std::mutex mu;
  std::condition_variable window_open;
  int in_flight = 0;
  bool reader_done = false;

  // Pipelining: the writer keeps up to `window` batches in flight; the reader applies
  // receipts as each batch becomes durable on the server.
  std::thread writer([&] {
    for (size_t i = 0; i < batches.size(); ++i) {
      {
        std::unique_lock lock(mu);
        window_open.wait(lock, [&] { return in_flight < options.window || reader_done; });
        if (reader_done) return;
        ++in_flight;
      }
      v1::UploadRequest request;
      request.set_batch_id(i);
      for (const v1::OutboxEntry* entry : batches[i]) *request.add_records() = entry->envelope();
      if (!stream->Write(request)) return;
    }
    stream->WritesDone();
  });

  absl::Status apply_error;
  v1::UploadResponse response;
  while (stream->Read(&response)) {
    {
      std::lock_guard lock(mu);
      --in_flight;
    }
    window_open.notify_all();
    std::vector<std::pair<std::string, v1::Receipt>> receipts;
    for (const v1::RecordResult& result : response.results()) {
      if (result.code() == 0 && result.has_receipt()) {
        receipts.emplace_back(result.record_id(), result.receipt());
      } else {
        ++report.refused;
        report.refusals.push_back(
            absl::StrCat("record ", ToHex(result.record_id()), ": ", result.message()));
      }
    }
    if (response.batch_id() < batches.size()) {
      for (const v1::OutboxEntry* entry : batches[response.batch_id()]) {
        progress.bytes_done += entry->envelope().ByteSizeLong();
      }
      progress.records_done += batches[response.batch_id()].size();
    }
    apply_error = ApplyReceipts(vault, receipts);
    if (!apply_error.ok()) break;
    report.receipted += receipts.size();
    if (options.on_progress) options.on_progress(progress);
  }
  {
    std::lock_guard lock(mu);
    reader_done = true;
  }
  window_open.notify_all();
  if (!apply_error.ok()) context->TryCancel();
  writer.join();
  grpc::Status status = stream->Finish();
  TEMOIN_RETURN_IF_ERROR(apply_error);
  return FromGrpc(status, connection.address());
}

absl::Status PullReviews(Vault& vault, Connection& connection, SyncReport& report) {
  v1::GetGrantsResponse grants;
  TEMOIN_RETURN_IF_ERROR(FromGrpc(
      connection.review().GetGrants(connection.NewContext().get(), v1::GetGrantsRequest(), &grants),
      connection.address()));
  for (const v1::Grant& grant : grants.grants()) {
    TEMOIN_RETURN_IF_ERROR(StoreGrant(vault, grant));
    ++report.grants;
  }
  uint64_t after = 0;
  for (;;) {
    v1::ListRecordsRequest list_request;
    list_request.set_after_log_index(after);
    v1::ListRecordsResponse page;
    TEMOIN_RETURN_IF_ERROR(FromGrpc(
        connection.review().ListRecords(connection.NewContext().get(), list_request, &page),
        connection.address()));
    std::vector<std::string> missing;
    for (const v1::RecordSummary& summary : page.records()) {
      after = std::max(after, summary.log_index());
      TEMOIN_ASSIGN_OR_RETURN(bool have, HasFetched(vault, summary.record_id()));
      if (!have) missing.push_back(summary.record_id());
    }
    for (size_t start = 0; start < missing.size(); start += 256) {
      v1::FetchRecordsRequest fetch;
      for (size_t i = start; i < missing.size() && i < start + 256; ++i) {
        fetch.add_record_ids(missing[i]);
      }
      auto context = connection.NewContext(Connection::kTransferDeadline);
      auto reader = connection.review().FetchRecords(context.get(), fetch);
      std::vector<v1::FetchedRecord> records;
      v1::FetchedRecord record;
      while (reader->Read(&record)) records.push_back(std::move(record));
      TEMOIN_RETURN_IF_ERROR(FromGrpc(reader->Finish(), connection.address()));
      TEMOIN_RETURN_IF_ERROR(StoreFetched(vault, records));
      report.fetched += records.size();
    }
    if (!page.more() || page.records().empty()) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Connection>> SignedIn(const v1::Profile& profile,
                                                     const SyncOptions& options) {
  std::string address =
      options.server_override.empty() ? profile.server_address() : options.server_override;
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          Connection::Create(address, profile.tls_spki_sha256()));
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey device_key, DeviceSigningKey(profile));
  TEMOIN_RETURN_IF_ERROR(connection->SignIn(profile.device_id(), device_key));
  return connection;
}

}  // namespace

absl::StatusOr<SyncReport> PullForReview(Vault& vault, const SyncOptions& options) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, SignedIn(profile, options));
  SyncReport report;
  TEMOIN_RETURN_IF_ERROR(PullReviews(vault, *connection, report));
  return report;
}

absl::StatusOr<SyncReport> SyncDevice(Vault& vault, const SyncOptions& options) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, SignedIn(profile, options));
  TEMOIN_RETURN_IF_ERROR(PullSettings(vault, *connection, profile));
  SyncReport report;
  if (profile.role() == v1::ROLE_MONITOR) {
    TEMOIN_RETURN_IF_ERROR(Upload(vault, *connection, options, report));
  } else if (profile.role() == v1::ROLE_REVIEWER) {
    TEMOIN_RETURN_IF_ERROR(PullReviews(vault, *connection, report));
  }
  // Reload: receipts changed the vault, and the profile must not roll anything back.
  TEMOIN_ASSIGN_OR_RETURN(profile, LoadProfile(vault));
  profile.set_last_sync(SystemClock::Get().NowSeconds());
  VaultBatch batch;
  PutProfile(batch, profile);
  TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
  return report;
}

}  // namespace temoin::client

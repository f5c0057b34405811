#ifndef TEMOIN_CLIENT_SYNC_SYNC_ENGINE_H_
#define TEMOIN_CLIENT_SYNC_SYNC_ENGINE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/core/review_desk.h"
#include "client/sync/attachment_transfer.h"
#include "client/vault/vault.h"

namespace temoin::client {

// Of one attempt. bytes_done counts what the server holds, including attachment bytes
// it already had when the attempt began (a resumed upload); bytes_sent only what this
// attempt sent and had acknowledged, for a rate and for telling progress from none.
struct SyncProgress {
  uint64_t records_done = 0;
  uint64_t records_total = 0;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  uint64_t bytes_sent = 0;
};

// What one attempt of a sync leaves to the next in the same process (`sync
// --until-done`, the desk's retries), so that an attempt after a cut costs a TLS
// handshake and the calls that move data, not a whole sign-in. A carried session token
// proves that the same server process still holds this device's session: no restart,
// no restore from an old copy in between. So while it is accepted, the settings pulled,
// the log checked and the bodies known to be in stay true; when the server refuses it
// (expired, restarted), the attempt signs in again and checks everything anew.
struct SyncCarry {
  SyncCarry() = default;
  SyncCarry(const SyncCarry&) = delete;
  SyncCarry& operator=(const SyncCarry&) = delete;
  ~SyncCarry();
  void Forget();  // after the server refused the token: start over
  void TakeToken(const std::string& fresh);
  // Whether the token is older than `age`. A watch signs in afresh before the server's
  // 15-minute session ends (server/core/sessions.h), not after a refused upload.
  bool TokenOlderThan(std::chrono::seconds age) const;

  std::string token;  // bearer secret, wiped by Forget and the destructor
  std::chrono::steady_clock::time_point token_taken;
  bool log_checked = false;         // this server's log extends the held checkpoint
  std::set<std::string> bodies_in;  // record ids whose sealed body the server holds
  // How far each blob's pieces were acknowledged: a later attempt goes on from there
  // without asking (client/sync/attachment_resume.h), one round trip sooner a cut.
  AcknowledgedBlobs attachments_acknowledged;

  // `sync --watch`: one gRPC channel for every attempt, so that while its connection
  // lasts a new record costs its upload call only, with no TCP, TLS or sign-in. It is
  // dialled afresh after an attempt that failed, when the address or the pins it trusts
  // are no longer the profile's (a rotation, a repin), and after kConnectionIdle without
  // an attempt: below the server's 5 idle minutes, and a path idle that long (a NAT
  // mapping, a phone's radio) may be dead, which a call would take ~80 s of keepalive to
  // find out. Attempts of a run without it (`--until-done`) each dial anew.
  static constexpr std::chrono::seconds kConnectionIdle{240};
  bool keep_connection = false;
  std::shared_ptr<Connection> connection;
  std::string connection_trust;  // address and pins `connection` was dialled with
  std::chrono::steady_clock::time_point connection_used;

  // Upload bytes a connection of this run carried before it dropped, a moving average
  // (0: no cut seen; kept by Forget, being about the link, not the session). A batch is
  // stored only whole, so batches are kept to a small fraction of it.
  double bytes_per_connection = 0;
};

struct SyncOptions {
  std::string server_override;  // host:port; empty: the enrolled address. Pin unchanged.
  // The server's default limit (IngestLimits). Each batch costs one fsync and one
  // signature on the server and one synced vault commit on the device: 256 rather
  // than 128 took 10,000 records from ~1.5 s to ~1.3 s on loopback (BENCHMARKS.md).
  size_t max_batch_records = 256;
  // Batches start at initial_batch_bytes and double with each answered batch up to
  // max_batch_bytes until the link's rate is measured, then carry half a second of air
  // (client/sync/batch_sizer.h: a batch lands only whole, so on a link that cuts every
  // few tens of KB only small batches get through).
  size_t initial_batch_bytes = 8 << 10;
  size_t max_batch_bytes = 512 << 10;
  // Batches unanswered at once. The window in bytes (the round trip's worth plus two
  // batches) sets the count; this bounds it when batches are smaller than their target
  // (a cut capped their size, or few records were left).
  int window = 8;
  // The fewest batches the window holds whatever its bytes (BatchSizer): after a cut,
  // 2 (1 where answers cross at once).
  int least_window_batches = 3;
  // Unanswered bytes, whatever the window asks.
  size_t max_window_bytes = 2 << 20;
  // Attachment pieces and window (client/sync/attachment_transfer.h).
  AttachmentUploadOptions attachments;
  std::function<void(const SyncProgress&)> on_progress;
  // Null: every attempt starts from scratch (one-shot `sync`).
  std::shared_ptr<SyncCarry> carry;
};

struct SyncReport {
  uint64_t pending = 0;               // records that needed a receipt at the start
  uint64_t receipted = 0;             // receipts verified and stored (sealed copies purged)
  uint64_t committed = 0;             // commitment receipts verified (state committed)
  uint64_t attachment_bytes = 0;      // attachment bytes sent and acknowledged
  uint64_t relayed = 0;               // records in bundles relayed for other devices
  uint64_t refused = 0;               // records the server refused; they stay in the outbox
  std::vector<std::string> refusals;  // "record <id>: <reason>", no plaintext
  uint64_t grants = 0;                // reviewers: project epochs readable
  uint64_t fetched = 0;               // reviewers: new sealed records fetched
  uint64_t proven = 0;                // receipted records shown in the log (inclusion)
};

// One sync: sign in, pull settings and org-signed project keys, then by role: monitors
// upload every pending record (pipelined batches; receipts verified and applied as
// they stream back), reviewers pull grants and every new sealed record of their
// projects. Safe to interrupt at any point: a record leaves the outbox only with a
// verified receipt, and a retry never makes a second copy on the server.
absl::StatusOr<SyncReport> SyncDevice(Vault& vault, const SyncOptions& options);

// Whether a sync of this vault would send anything: records without a receipt, proofs a
// cut sync left owed, bundles carried for other devices. Reads the vault only.
absl::StatusOr<bool> HasWorkToSend(Vault& vault);

// Signs in and pulls grants and new records whatever this device's role: the server,
// not the client, decides who may list records (a monitor gets kPermissionDenied).
absl::StatusOr<SyncReport> PullForReview(Vault& vault, const SyncOptions& options);

// Reviewers: for every opened record with attachments, downloads each blob, checks it
// against the device-signed header and writes the plaintext to
// DIR/<record_id hex>/<sanitised file name> (0600; directories 0700). Returns the number
// of files written. A record whose attachment fails is reported in `failures` and does
// not stop the others.
absl::StatusOr<uint64_t> ExportAttachments(Vault& vault, const SyncOptions& options,
                                           const std::vector<OpenedRecord>& records,
                                           const std::string& dir,
                                           std::vector<RecordFailure>& failures);

// Reviewers: attachment `index` of `record`, downloaded, checked against the
// device-signed header and decrypted in memory only (nothing is written). The caller
// wipes the result. kNotFound for a bad index; kDataLoss / kUnauthenticated when the
// blob does not match; kUnavailable when the server cannot be reached.
absl::StatusOr<std::string> FetchAttachmentPlaintext(Vault& vault, const SyncOptions& options,
                                                     const OpenedRecord& record, int index);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_SYNC_ENGINE_H_

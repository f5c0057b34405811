#ifndef TEMOIN_SERVER_CORE_REGISTRY_H_
#define TEMOIN_SERVER_CORE_REGISTRY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/storage/store.h"
#include "temoin/v1/server_store.pb.h"

// Typed access to what the server stores, and the key layout in one place:
//   cfg                          ServerConfig
//   dev/<device_id>              StoredDevice
//   inv/<Hash256(token)>         StoredInvite (the token itself is never stored)
//   prj/<name>                   StoredProject
//   pid/<project_id>             project name
//   grt/<reviewer_id><name>      StoredGrant
//   rec/<device_id><record_id>   StoredRecord
//   rid/<record_id><device_id>   empty (reviewers name records by id: which devices use it)
//   log/<index be64>             device_id || record_id (the append-only log order)
//   plg/<project_id><index be64> device_id || record_id (per-project listing)
//   cfl/<device_id><record_id><digest>  Envelope of a conflicting upload, kept as evidence
// A record id means something only with the device that signed it: every record key
// starts with the device id (16 bytes; record ids are 16 bytes too), so a device cannot
// squat another's id, nor learn from an answer whether another device used it. Stores
// made before this layout (rec/<record_id>) are not migrated: see docs/architecture.md.
//   wip/<device_id>              WipeOrder for a revoked device (org-signed)
//   nxn/<device_id>              the device's next sign-in nonce: Hash256 || expiry be64
//   asc/<name>/<epoch be32>      epoch secret sealed to the admin (epochs after 1)
//   tln                          TlsKeyAnnouncement of the next TLS key (org-signed)
//   aud/..., audh                the audit log (server/core/audit_log.h)
//   drs/<device_id>              the hour (decimal seconds) its duress signal was first
//                                seen (issue 12): its later uploads are quarantined
namespace temoin::server {

namespace keys {
std::string Config();
std::string Device(absl::string_view device_id);
std::string Invite(absl::string_view token);
std::string Project(absl::string_view name);
std::string ProjectId(absl::string_view project_id);
std::string GrantPrefix(absl::string_view reviewer_id);
std::string Grant(absl::string_view reviewer_id, absl::string_view project);
std::string Record(absl::string_view device_id, absl::string_view record_id);
std::string RecordIdIndexPrefix(absl::string_view record_id);
std::string RecordIdIndex(absl::string_view record_id, absl::string_view device_id);
std::string Log(uint64_t index);
std::string ProjectLogPrefix(absl::string_view project_id);
std::string ProjectLog(absl::string_view project_id, uint64_t index);
std::string Conflict(absl::string_view device_id, absl::string_view record_id,
                     absl::string_view digest);
std::string WipeOrder(absl::string_view device_id);
std::string NextNonce(absl::string_view device_id);
std::string Duress(absl::string_view device_id);
std::string NextTlsKey();
std::string ServerKeyStatement();  // the org-signed server-key statement
std::string AdminSecretPrefix(absl::string_view project);
std::string AdminSecret(absl::string_view project, uint32_t epoch);
}  // namespace keys

// The value of a log/ or plg/ row: which device's record. kDataLoss for a value of the
// wrong length (a store made before per-device record keys holds bare record ids).
struct RecordRef {
  std::string device_id;
  std::string record_id;
};
std::string EncodeRecordRef(absl::string_view device_id, absl::string_view record_id);
absl::StatusOr<RecordRef> DecodeRecordRef(absl::string_view value);

// Thread-safe (the store is).
class Registry {
 public:
  explicit Registry(Store* store) : store_(store) {}  // Not owned; must outlive this.

  Store& store() { return *store_; }

  // kDataLoss when a stored value does not parse.
  absl::StatusOr<v1::ServerConfig> Config();
  absl::StatusOr<std::optional<v1::StoredDevice>> Device(absl::string_view device_id);
  absl::StatusOr<std::optional<v1::StoredInvite>> Invite(absl::string_view token);
  absl::StatusOr<std::optional<v1::StoredProject>> Project(absl::string_view name);
  absl::StatusOr<std::optional<v1::StoredProject>> ProjectById(absl::string_view project_id);
  absl::StatusOr<std::optional<v1::StoredGrant>> Grant(absl::string_view reviewer_id,
                                                       absl::string_view project);
  // Project names granted to a reviewer.
  absl::StatusOr<std::vector<std::string>> GrantedProjects(absl::string_view reviewer_id);
  absl::StatusOr<std::optional<v1::StoredRecord>> Record(absl::string_view device_id,
                                                         absl::string_view record_id);
  // Every stored record with this id, whichever device signed it (normally one).
  absl::StatusOr<std::vector<v1::StoredRecord>> RecordsWithId(absl::string_view record_id);
  absl::StatusOr<std::vector<v1::StoredDevice>> Devices();
  // When the device first signalled duress (seconds, to the hour); 0 when it never did.
  absl::StatusOr<int64_t> DuressSince(absl::string_view device_id);
  // Reviewer device ids granted `project` (scans every grant; grants are few).
  absl::StatusOr<std::vector<std::string>> GranteesOf(absl::string_view project);
  // The stored wipe order of a revoked device, as bytes (a serialized WipeOrder).
  absl::StatusOr<std::optional<std::string>> WipeOrder(absl::string_view device_id);
  // The stored announcement of the server's next TLS key, when an admin made one.
  absl::StatusOr<std::optional<v1::TlsKeyAnnouncement>> NextTlsKey();
  // The org-signed server-key statement, once an admin certified the server's keys.
  absl::StatusOr<std::optional<v1::ServerKeyStatement>> ServerKeyStatement();

 private:
  template <typename Message>
  absl::StatusOr<std::optional<Message>> GetMessage(const std::string& key);
  Store* const store_;
};

// Project names: lowercase ASCII letters, digits, '-' and '_', 1..64, starting with a
// letter or digit. kInvalidArgument otherwise.
absl::Status ValidateProjectName(absl::string_view name);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_REGISTRY_H_

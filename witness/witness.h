#ifndef TEMOIN_WITNESS_WITNESS_H_
#define TEMOIN_WITNESS_WITNESS_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "crypto/keys.h"

// A transparency-log witness (c2sp.org/tlog-witness), run by another organisation than
// the log's: it cosigns (c2sp.org/tlog-cosignature v1) a checkpoint only if it extends
// the last one it cosigned for that log, so a server cannot show one history to some
// devices and another to others without a witness refusing one of them. No HTTP here
// (witness_http.h adapts it).
//
// Its data directory:
//   witness.key                 Ed25519 secret key (0600), made by Init
//   witness.name                its cosigner name (e.g. witness.example.org/temoin)
//   lock                        flock'd by the one process that serves
//   logs/<sha256(origin) hex>/vkey         the log's verifier keys, one a line (AddLog)
//   logs/<…>/checkpoint                    the latest cosigned checkpoint: the note as the
//                                          log signed it plus this witness's cosignature
//   logs/<…>/evidence/<kind>-<id>-held     a refused checkpoint that contradicts the one
//   logs/<…>/evidence/<kind>-<id>-received cosigned (kind: fork, rollback), and the one
//                                          held then; <id>: 16 hex of SHA-256(received)
// Every file is written durably (temporary file, fsync, rename, fsync of the directory).
namespace temoin::witness {

// add-checkpoint's answers map to absl codes, each the spec's HTTP status:
//   kInvalidArgument 400 (malformed request, old size above the checkpoint's)
//   kNotFound 404 (unknown log)   kUnauthenticated 403 (no valid log signature)
//   kFailedPrecondition 409 (old size is not the latest cosigned size; LatestSizeOf gives
//                             it for the text/x.tlog.size body)
//   kDataLoss 422 (the proof does not verify: a fork, or an inconsistent request)
//   anything else 500.
int HttpStatusOf(const absl::Status& status);
std::optional<uint64_t> LatestSizeOf(const absl::Status& status);

// The request body of add-checkpoint, untrusted.
struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<std::string> proof;  // 32-byte hashes
  std::string note;                // the signed checkpoint
};
// kInvalidArgument naming what is malformed (at most 63 proof lines, as the spec says).
absl::StatusOr<AddCheckpointRequest> ParseAddCheckpoint(absl::string_view body);
std::string FormatAddCheckpoint(const AddCheckpointRequest& request);

// Makes `dir` a witness: a new key and its name. kAlreadyExists if it is one already.
absl::Status InitWitness(const std::string& dir, absl::string_view name);
// Trusts `log_vkey` (a signed-note Ed25519 vkey, as `temoin-server log vkey` prints) for
// its origin. A second key for a known origin is that log's next key (temoin-server keys
// next): both are trusted, and checkpoints under either must extend the one cosigned, so
// a rotation neither resets the witness's view nor lets the new key fork the tree.
// kInvalidArgument for a bad vkey; adding a key already trusted changes nothing.
absl::Status AddLog(const std::string& dir, absl::string_view log_vkey);
// The witness's cosigner vkey (type 0x04), to give to the log's operator and devices.
absl::StatusOr<std::string> WitnessVkey(const std::string& dir);

class Witness {
 public:
  // Loads the key and name. `clock` gives the cosignatures' timestamps; not owned, must
  // outlive the witness. kFailedPrecondition if `dir` is not a witness directory. Does not
  // take the lock (Lock() does): the caller that serves must.
  static absl::StatusOr<std::unique_ptr<Witness>> Open(const std::string& dir, const Clock* clock);
  // Takes the directory's lock for the life of the process; kFailedPrecondition if
  // another process holds it (two processes would each believe their state the latest).
  absl::Status Lock();
  ~Witness();

  // c2sp.org/tlog-witness add-checkpoint: checks `request` against the log's key and
  // the last checkpoint cosigned, and on success persists the new one before returning
  // this witness's cosignature line (ending in a newline). The check and the write are
  // one step under a mutex: two requests never both pass against the same old state.
  // A validly signed checkpoint that contradicts the one cosigned (same size and another
  // root, a failed proof from that size, or a smaller tree) is kept with the one held as
  // evidence. Thread-safe.
  absl::StatusOr<std::string> AddCheckpoint(const AddCheckpointRequest& request);

  // The latest cosigned checkpoint of the log whose origin hashes (SHA-256, lowercase
  // hex) to `origin_hash`, with the log's signature and this witness's cosignature.
  // kNotFound if none.
  absl::StatusOr<std::string> LatestCheckpoint(absl::string_view origin_hash);

  const std::string& vkey() const { return vkey_; }

 private:
  Witness(std::string dir, std::string name, crypto::SigningKey key, const Clock* clock);

  const std::string dir_;
  const std::string name_;
  const crypto::SigningKey key_;
  const std::string vkey_;
  const Clock* const clock_;
  int lock_fd_ = -1;
  std::mutex mu_;  // one add-checkpoint at a time: check and persist are atomic
};

}  // namespace temoin::witness

#endif  // TEMOIN_WITNESS_WITNESS_H_

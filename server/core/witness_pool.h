#ifndef TEMOIN_SERVER_CORE_WITNESS_POOL_H_
#define TEMOIN_SERVER_CORE_WITNESS_POOL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/cosignature.h"
#include "server/core/transparency_log.h"

// The server's side of c2sp.org/tlog-witness: a thread of its own submits each new
// checkpoint (at most one a second) to the configured witnesses with a consistency proof
// from the size each last cosigned, and keeps the cosignatures they return, so that
// GetLogProofs can hand devices the checkpoint with those lines appended to the note.
// Ingest never waits for it. No HTTP here: a WitnessTransport posts the bodies
// (server/app/witness_transport.h).
namespace temoin::server {

struct WitnessConfig {
  std::string url;   // the submission prefix, e.g. http://witness.example.org:7480
  std::string vkey;  // the witness's cosigner vkey (type 0x04)
};
// "URL=VKEY", as `run --witness` takes it. kInvalidArgument naming what is wrong.
absl::StatusOr<WitnessConfig> ParseWitnessFlag(absl::string_view flag);

class WitnessTransport {
 public:
  struct Reply {
    int status = 0;
    std::string body;
  };
  virtual ~WitnessTransport() = default;
  // POSTs `body` to `url` + "/add-checkpoint". An error only when no HTTP answer came.
  virtual absl::StatusOr<Reply> AddCheckpoint(const std::string& url, const std::string& body) = 0;
};

class WitnessPool {
 public:
  // Called when a witness's outcome changes (refused, unreachable, cosigning again), for
  // the server's log. May be empty.
  using Reporter = std::function<void(const std::string& url, const absl::Status& status)>;

  // `log` is not owned and must outlive the pool. kInvalidArgument for a bad vkey.
  static absl::StatusOr<std::unique_ptr<WitnessPool>> Create(
      std::vector<WitnessConfig> witnesses, TransparencyLog* log,
      std::unique_ptr<WitnessTransport> transport, Reporter reporter = {});
  ~WitnessPool();  // stops the thread

  // Starts the thread: every second (or sooner after Nudge), if the log grew, signs a
  // checkpoint of it and submits it.
  void Start();
  void Stop();
  void Nudge();

  // One round, on the caller's thread (the loop's body; tests call it directly).
  absl::Status SubmitLatest();

  // The newest checkpoint known to the pool whose size is at least `min_size`, with the
  // cosignature lines collected for it appended to its note. If none covers `min_size`
  // yet, or the newest lacks some witness's cosignature, waits up to `wait` for a round
  // to finish. nullopt if no checkpoint covering `min_size` was submitted in time (the
  // caller then serves an uncosigned one).
  std::optional<TransparencyLog::Signed> Cosigned(uint64_t min_size,
                                                  std::chrono::milliseconds wait);

  size_t size() const { return witnesses_.size(); }

 private:
  struct Witness {
    WitnessConfig config;
    crypto::CosignerVerifier verifier;
    std::optional<uint64_t> cosigned_size;  // what the witness holds, as far as we know
    std::string cosigned_note;              // the checkpoint note its latest line is for
    std::string line;                       // its cosignature line (ends in a newline)
    absl::Status last = absl::OkStatus();
  };
  WitnessPool(std::vector<Witness> witnesses, TransparencyLog* log,
              std::unique_ptr<WitnessTransport> transport, Reporter reporter);

  absl::Status Submit(Witness& witness, const TransparencyLog::Signed& checkpoint);
  absl::StatusOr<std::string> Post(Witness& witness, const TransparencyLog::Signed& checkpoint,
                                   uint64_t old_size);
  void Report(Witness& witness, const absl::Status& status);
  std::optional<TransparencyLog::Signed> CosignedLocked(uint64_t min_size, bool need_all);

  TransparencyLog* const log_;
  const std::unique_ptr<WitnessTransport> transport_;
  const Reporter reporter_;
  std::vector<Witness> witnesses_;  // written by the submitting thread under mu_

  std::mutex mu_;
  std::condition_variable round_done_;
  std::condition_variable wake_;
  std::optional<TransparencyLog::Signed> current_;  // the last checkpoint submitted
  uint64_t rounds_ = 0;
  bool nudged_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_WITNESS_POOL_H_

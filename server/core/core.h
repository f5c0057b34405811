#ifndef TEMOIN_SERVER_CORE_CORE_H_
#define TEMOIN_SERVER_CORE_CORE_H_

#include <optional>
#include <string>

#include "common/clock.h"
#include "crypto/keys.h"
#include "server/core/admin_ops.h"
#include "server/core/attachments.h"
#include "server/core/audit_log.h"
#include "server/core/enrollment.h"
#include "server/core/ingest.h"
#include "server/core/registry.h"
#include "server/core/review_ops.h"
#include "server/core/sessions.h"
#include "server/core/transparency_log.h"
#include "server/core/witness_pool.h"
#include "temoin/v1/identity.pb.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::server {

// The whole protocol core, wired together, with no gRPC in sight: the RPC layer adapts
// messages to these calls, and tests drive them directly on a MemoryStore.
class Core {
 public:
  // `store` and `clock` not owned; must outlive the core.
  Core(Store* store, const Clock* clock, crypto::SigningKey receipt_key, v1::Vocabulary vocabulary,
       IngestLimits limits = {})
      : receipt_key_(std::move(receipt_key)),
        receipt_public_key_(receipt_key_.public_key()),
        vocabulary_(std::move(vocabulary)),
        registry_(store),
        audit_(store, clock, &receipt_key_),
        sessions_(&registry_, clock),
        enrollment_(&registry_, clock, &receipt_public_key_, &vocabulary_, &audit_),
        admin_(&registry_, &enrollment_, &audit_),
        ingest_(&registry_, clock, &receipt_key_, limits),
        attachments_(&registry_, &ingest_, clock, &audit_),
        review_(&registry_, &audit_),
        log_(store),
        clock_(clock) {
    // The daily upload quota is counted in the store, once for every front-end.
    ingest_.rate_limiter().ShareDailyQuota(store);
    // Revoking a device gives back what its unfinished attachments held at once.
    admin_.set_on_revoke([this](absl::string_view device_id) {
      return attachments_.ReleaseDevice(device_id).status();
    });
  }

  Registry& registry() { return registry_; }
  AuditLog& audit() { return audit_; }
  SessionAuthority& sessions() { return sessions_; }
  Enrollment& enrollment() { return enrollment_; }
  AdminOps& admin() { return admin_; }
  Ingest& ingest() { return ingest_; }
  Attachments& attachments() { return attachments_; }
  // The X25519 key offline bundles are sealed to; without one, bundles are refused.
  void set_bundle_key(crypto::BoxKeyPair key) { bundle_key_.emplace(std::move(key)); }
  const std::optional<crypto::BoxKeyPair>& bundle_key() const { return bundle_key_; }
  ReviewOps& review() { return review_; }
  // The transparency log; checkpoints need set_log_key (keys/log.key).
  TransparencyLog& log() { return log_; }
  void set_log_key(crypto::SigningKey key, std::string origin = "") {
    log_.set_log_key(std::move(key), std::move(origin));
  }
  // Witnesses whose cosignatures GetLogProofs appends to the checkpoint
  // (server/core/witness_pool.h). Not owned; must outlive every call. Set before serving.
  void set_witnesses(WitnessPool* witnesses) { witnesses_ = witnesses; }
  // SHA-256 of the SPKI of the TLS key this process serves. A stored announcement of
  // that same key is over (the switch happened): GetSettings no longer sends it, so
  // devices stop carrying a "next" pin that is already the current one.
  void set_served_tls_pin(std::string spki_sha256) { served_tls_pin_ = std::move(spki_sha256); }
  // Where the core counts what it does (server/core/metrics.h); NoMetrics() until set.
  // Not owned; must outlive the core. Set before serving (not synchronised).
  void set_metrics(Metrics* metrics) {
    ingest_.set_metrics(metrics);
    sessions_.set_metrics(metrics);
    attachments_.set_metrics(metrics);
    review_.set_metrics(metrics);
    metrics_ = metrics;
  }
  const v1::Vocabulary& vocabulary() const { return vocabulary_; }
  Metrics& metrics() { return *metrics_; }

  // Issue 12: a signed-in device's duress signal (crypto/auth.h OpenDuressSignal),
  // `nonce` being the one its sign-in signed. A signal that opens with the bundle key,
  // bound to that nonce, with flag 1, marks the device once (Registry::DuressSince, to
  // the hour), audited as device.duress; Ingest quarantines its uploads from then on.
  // Anything else is no signal and changes nothing (every sign-in carries one).
  absl::Status NoteDuressSignal(absl::string_view device_id, absl::string_view nonce,
                                absl::string_view signal);

  // Settings a device pulls: the vocabulary and its project's recipient keys.
  absl::StatusOr<v1::GetSettingsResponse> GetSettings(const Session& session);

  // The transparency log's checkpoint (covering every index asked for), an inclusion
  // proof per index and a consistency proof from `old_size` (none when it is 0, equal
  // or larger: a device holding a larger checkpoint refuses the smaller one). Any
  // signed-in device may ask: leaf hashes reveal nothing of a record. kInvalidArgument
  // for an index outside the log or more than 1024 of them.
  // `via` is only counted (Metrics::CountLogProofs).
  absl::StatusOr<v1::GetLogProofsResponse> GetLogProofs(const Session& session,
                                                        const v1::GetLogProofsRequest& request,
                                                        LogProofsVia via = LogProofsVia::kCall);

  // (server_keys_ops.cc) Stores the org-signed server-key statement (admins only). It
  // must verify against the organisation key (kUnauthenticated), list this server's
  // current receipt key and log key as current (kFailedPrecondition: certifying keys
  // the server does not use would cut every device off), and be no older than the
  // one held (kFailedPrecondition). Audited as "server-keys.certify".
  absl::StatusOr<v1::CertifyServerKeysResponse> CertifyServerKeys(
      const Session& session, const v1::CertifyServerKeysRequest& request);

 private:
  // GetLogProofs' inclusion: a path per index asked for, or one joint proof.
  absl::Status AddInclusions(const v1::GetLogProofsRequest& request, uint64_t size,
                             v1::GetLogProofsResponse& response);
  absl::Status AddJointInclusion(const v1::GetLogProofsRequest& request, uint64_t size,
                                 v1::GetLogProofsResponse& response);
  const crypto::SigningKey receipt_key_;
  const std::string receipt_public_key_;
  const v1::Vocabulary vocabulary_;
  Registry registry_;
  AuditLog audit_;
  SessionAuthority sessions_;
  Enrollment enrollment_;
  AdminOps admin_;
  Ingest ingest_;
  Attachments attachments_;
  std::optional<crypto::BoxKeyPair> bundle_key_;
  ReviewOps review_;
  TransparencyLog log_;
  std::string served_tls_pin_;
  WitnessPool* witnesses_ = nullptr;
  const Clock* clock_;
  Metrics* metrics_ = &NoMetrics();
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_CORE_H_

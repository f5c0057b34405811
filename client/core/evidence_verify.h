#ifndef TEMOIN_CLIENT_CORE_EVIDENCE_VERIFY_H_
#define TEMOIN_CLIENT_CORE_EVIDENCE_VERIFY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

// The offline verifier of evidence packages (evidence_package.h, docs/evidence-format.md):
// no home, no network, no vault. Every check of the format document runs, whatever an
// earlier one found, and each is reported by name, so that an independent verifier
// written from the document reaches the same list.
namespace temoin::client {

struct EvidenceCheck {
  std::string name;  // "manifest", "org-key", ..., "attachment <blob id hex>"
  bool ok = false;
  std::string detail;  // one sentence a lawyer can read; no plaintext of the testimony
};

struct EvidenceReport {
  std::string record_id_hex;  // from the manifest (untrusted until the checks pass)
  bool disclosed = false;
  std::vector<EvidenceCheck> checks;
  bool ok() const;
  std::vector<std::string> failed() const;
};

struct EvidenceVerifyOptions {
  std::string org_public_key;  // 32 bytes; empty: the package's own, reported as such
  std::string log_vkey;        // note verifier key; empty: the package's own
  // Witnesses whose c2sp.org/tlog-cosignature of the checkpoint is checked (cosigner
  // vkeys, type 0x04), and how many of them must have cosigned (absent: all of them).
  // None given: cosignature lines are carried but not judged, as before.
  std::vector<std::string> witness_vkeys;
  std::optional<uint32_t> min_witnesses;
};

// Reads the package in `dir` (untrusted, every byte of it) and runs every check. Fails
// only when `dir` is not a readable directory (kNotFound) or the options are unusable
// (kInvalidArgument: a witness key that is not a cosigner vkey, two keys of one name, a
// minimum above the witnesses given); everything else is a failed check.
absl::StatusOr<EvidenceReport> VerifyEvidencePackage(const std::string& dir,
                                                     const EvidenceVerifyOptions& options);

// The report as text (one line a check, then the verdict) and as one JSON object
// {"record_id", "disclosed", "verified", "checks": [{"name", "ok", "detail"}], "failed"}.
std::string EvidenceReportText(const EvidenceReport& report);
std::string EvidenceReportJson(const EvidenceReport& report);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_EVIDENCE_VERIFY_H_

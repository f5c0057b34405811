#ifndef TEMOIN_CLIENT_CORE_EVIDENCE_VERIFY_H_
#define TEMOIN_CLIENT_CORE_EVIDENCE_VERIFY_H_

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
};

// Reads the package in `dir` (untrusted, every byte of it) and runs every check. Fails
// only when `dir` is not a readable directory; everything else is a failed check.
absl::StatusOr<EvidenceReport> VerifyEvidencePackage(const std::string& dir,
                                                     const EvidenceVerifyOptions& options);

// The report as text (one line a check, then the verdict) and as one JSON object
// {"record_id", "disclosed", "verified", "checks": [{"name", "ok", "detail"}], "failed"}.
std::string EvidenceReportText(const EvidenceReport& report);
std::string EvidenceReportJson(const EvidenceReport& report);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_EVIDENCE_VERIFY_H_

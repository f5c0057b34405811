#ifndef TEMOIN_CLIENT_CORE_EVIDENCE_PACKAGE_H_
#define TEMOIN_CLIENT_CORE_EVIDENCE_PACKAGE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "temoin/v1/identity.pb.h"
#include "temoin/v1/record.pb.h"

// An evidence package (docs/evidence-format.md): one folder that lets anyone holding the
// organisation's public key check one record with no Temoin server, home or vault: who
// signed it, that the server logged it, and (when disclosed) that the testimony is what
// was sealed. Written by `temoin review evidence`, checked by `temoin verify`
// (evidence_verify.h) and by any verifier written from the format document.
namespace temoin::client {

inline constexpr char kEvidenceFormat[] = "temoin-evidence/v1";

// File names inside the package (plain names; attachments under attachments/).
namespace evidence_files {
inline constexpr char kManifest[] = "manifest.json";
inline constexpr char kEnvelope[] = "envelope.pb";
inline constexpr char kDeviceCertificate[] = "device-certificate.pb";
inline constexpr char kOrgKey[] = "org-public-key.hex";
inline constexpr char kReceiptKey[] = "server-receipt-key.hex";
inline constexpr char kReceipt[] = "receipt.pb";
inline constexpr char kLogKey[] = "log-key.vkey";
inline constexpr char kLogKeySignature[] = "log-key-signature.hex";
inline constexpr char kCheckpoint[] = "checkpoint.note";
inline constexpr char kLogLeaf[] = "log-leaf.bin";
inline constexpr char kInclusionProof[] = "inclusion-proof.hex";
inline constexpr char kTestimonyPb[] = "testimony.pb";
inline constexpr char kTestimonyJson[] = "testimony.json";
inline constexpr char kDataKey[] = "data-key.hex";
inline constexpr char kDictionary[] = "body-dictionary-v1.zdict";
inline constexpr char kAttachmentsDir[] = "attachments";
// The organisation's server-key statement (crypto/server_keys.h) and its signature.
inline constexpr char kServerKeys[] = "server-keys.txt";
inline constexpr char kServerKeysSignature[] = "server-keys-signature.hex";
}  // namespace evidence_files

// Everything a package holds, as the reviewer's vault and the server's GetLogProofs
// gave it. Nothing here is trusted by the verifier.
struct EvidenceInput {
  v1::Envelope envelope;
  v1::DeviceCertificate certificate;
  std::string org_public_key;                // Ed25519, 32 bytes
  v1::Receipt receipt;                       // the batch receipt as stored
  std::string receipt_public_key;            // the server's receipt key pinned at enrolment
  std::string log_vkey;                      // note verifier key of the log
  std::string log_vkey_signature;            // receipt key over log_vkey, "temoin/log-key/v1"
  std::string checkpoint_note;               // the whole signed note (any cosignature lines kept)
  std::vector<std::string> inclusion_proof;  // RFC 9162 PATH, deepest first
  // The org-signed server-key statement the reviewer's device holds; left out when it
  // holds none (the package then fails the server-keys check, by name).
  std::string server_keys_body;
  std::string server_keys_signature;  // 64 bytes
  struct Attachment {
    std::string blob_id;     // 16 bytes
    std::string ciphertext;  // the whole secretstream as stored on the server
    std::string key;         // 32 bytes; written only when disclosing
  };
  std::vector<Attachment> attachments;
  // Disclosure (--disclose): the sealed Testimony bytes, exactly as decrypted, and the
  // record's own data key. Empty when not disclosed. The caller wipes them.
  bool disclose = false;
  std::string testimony;  // serialized v1::Testimony
  std::string data_key;   // 32 bytes
};

// Writes the package into `dir` (created 0700; it must not exist or be empty), every file
// 0600 and synced, manifest.json last. kFailedPrecondition when `dir` holds files;
// kInvalidArgument when the input is incomplete.
absl::Status WriteEvidencePackage(const std::string& dir, const EvidenceInput& input);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_EVIDENCE_PACKAGE_H_

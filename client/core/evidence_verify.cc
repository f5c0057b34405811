#include "client/core/evidence_verify.h"

#include <sodium.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/core/evidence_package.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "crypto/attachment_stream.h"
#include "crypto/checkpoint.h"
#include "crypto/cosignature.h"
#include "crypto/device_certificate.h"
#include "crypto/envelope.h"
#include "crypto/log_leaf.h"
#include "crypto/merkle.h"
#include "crypto/receipt.h"
#include "crypto/secret_buffer.h"
#include "crypto/server_keys.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "nlohmann/json.hpp"
#include "temoin/v1/testimony.pb.h"

namespace temoin::client {
namespace {

namespace files = evidence_files;
constexpr size_t kMaxFileBytes = size_t{1} << 31;  // attachments can be large
constexpr size_t kMaxSmallFileBytes = 1 << 20;

std::string Sha256(absl::string_view bytes) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return out;
}

std::string Blake2b256(absl::string_view bytes) {
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr,
                     0);
  return out;
}

std::string HourText(int64_t unix_seconds) { return FormatRfc3339(unix_seconds); }

EvidenceCheck Pass(std::string name, std::string detail) {
  return {std::move(name), true, std::move(detail)};
}
EvidenceCheck Fail(std::string name, std::string detail) {
  return {std::move(name), false, std::move(detail)};
}

// What the checks share: every file read once, every parse done once. Nothing in it is
// trusted; each check states what it relies on.
struct Package {
  std::string dir;
  EvidenceVerifyOptions options;

  std::optional<std::string> Read(absl::string_view name, size_t max = kMaxSmallFileBytes) const {
    absl::StatusOr<std::string> bytes = ReadFileToString(absl::StrCat(dir, "/", name), max);
    if (!bytes.ok()) return std::nullopt;
    return std::move(*bytes);
  }
  // A hex file of exactly `bytes` bytes (surrounding whitespace ignored).
  std::optional<std::string> ReadHex(absl::string_view name, size_t bytes) const {
    std::optional<std::string> text = Read(name);
    if (!text.has_value()) return std::nullopt;
    absl::StatusOr<std::string> raw = FromHex(absl::StripAsciiWhitespace(*text), name);
    if (!raw.ok() || raw->size() != bytes) return std::nullopt;
    return std::move(*raw);
  }

  // Parsed once by Load().
  std::optional<v1::Envelope> envelope;
  std::optional<v1::RecordHeader> header;
  std::string digest;  // computed from the envelope
  std::optional<v1::DeviceCertificate> certificate;
  std::optional<v1::DeviceCertificateBody> certificate_body;
  std::optional<v1::InviteAuthorisationBody> authorisation;  // unverified parse
  std::optional<std::string> org_key;
  std::optional<v1::Receipt> receipt;
  std::optional<v1::ReceiptBody> receipt_body;  // unverified parse
  std::optional<std::string> log_vkey;
  std::optional<std::string> note;
  std::optional<std::string> leaf;
  std::optional<v1::Testimony> testimony;  // disclosed testimony.pb, parsed
  bool disclosed = false;

  void Load() {
    if (std::optional<std::string> bytes = Read(files::kEnvelope); bytes.has_value()) {
      v1::Envelope parsed;
      v1::RecordHeader parsed_header;
      if (parsed.ParseFromString(*bytes) && parsed_header.ParseFromString(parsed.header())) {
        digest = crypto::RecordDigest(parsed);
        envelope = std::move(parsed);
        header = std::move(parsed_header);
      }
    }
    if (std::optional<std::string> bytes = Read(files::kDeviceCertificate); bytes.has_value()) {
      v1::DeviceCertificate parsed;
      v1::DeviceCertificateBody body;
      if (parsed.ParseFromString(*bytes) && body.ParseFromString(parsed.body())) {
        v1::InviteAuthorisationBody auth;
        if (auth.ParseFromString(body.authorisation().body())) authorisation = std::move(auth);
        certificate = std::move(parsed);
        certificate_body = std::move(body);
      }
    }
    org_key = ReadHex(files::kOrgKey, crypto::kSigningPublicKeyBytes);
    if (std::optional<std::string> bytes = Read(files::kReceipt); bytes.has_value()) {
      v1::Receipt parsed;
      v1::ReceiptBody body;
      if (parsed.ParseFromString(*bytes) && body.ParseFromString(parsed.body())) {
        receipt = std::move(parsed);
        receipt_body = std::move(body);
      }
    }
    if (std::optional<std::string> text = Read(files::kLogKey); text.has_value()) {
      log_vkey = std::string(absl::StripTrailingAsciiWhitespace(*text));
    }
    note = Read(files::kCheckpoint);
    leaf = Read(files::kLogLeaf);
    if (std::optional<std::string> bytes = Read(files::kTestimonyPb); bytes.has_value()) {
      v1::Testimony parsed;
      if (parsed.ParseFromString(*bytes)) testimony = std::move(parsed);
      crypto::WipeString(*bytes);
    }
  }
};

EvidenceCheck CheckManifest(const Package& p, EvidenceReport& report) {
  const char* name = "manifest";
  std::optional<std::string> text = p.Read(files::kManifest);
  if (!text.has_value()) return Fail(name, "manifest.json is missing");
  nlohmann::json manifest = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  // Untrusted JSON: every type is checked before it is read (nlohmann throws otherwise).
  if (!manifest.is_object() || !manifest.contains("format") || !manifest["format"].is_string() ||
      manifest["format"].get<std::string>() != kEvidenceFormat || !manifest.contains("files") ||
      !manifest["files"].is_array()) {
    return Fail(name, absl::StrCat("manifest.json is not a ", kEvidenceFormat, " manifest"));
  }
  if (manifest.contains("record_id") && manifest["record_id"].is_string()) {
    report.record_id_hex = manifest["record_id"].get<std::string>();
  }
  std::set<std::string> listed;
  for (const nlohmann::json& entry : manifest["files"]) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() ||
        !entry.contains("sha256") || !entry["sha256"].is_string()) {
      return Fail(name, "manifest.json has a malformed file entry");
    }
    const std::string file = entry["name"].get<std::string>();
    if (file.empty() || file[0] == '/' || absl::StrContains(file, "..")) {
      return Fail(name, absl::StrCat("manifest.json names a path outside the package: ", file));
    }
    std::optional<std::string> bytes = p.Read(file, kMaxFileBytes);
    if (!bytes.has_value()) return Fail(name, absl::StrCat(file, " is listed but missing"));
    if (ToHex(Sha256(*bytes)) != entry["sha256"].get<std::string>()) {
      return Fail(name, absl::StrCat(file, " does not match its sha256 in manifest.json"));
    }
    listed.insert(file);
  }
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(p.dir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file()) continue;
    std::string relative = std::filesystem::relative(it->path(), p.dir).string();
    if (relative != files::kManifest && listed.count(relative) == 0) {
      return Fail(name, absl::StrCat(relative, " is in the folder but not in manifest.json"));
    }
  }
  return Pass(name, absl::StrCat(listed.size(), " files, each matches its sha256"));
}

EvidenceCheck CheckOrgKey(const Package& p) {
  const char* name = "org-key";
  if (!p.org_key.has_value()) return Fail(name, "org-public-key.hex is not a 32-byte key in hex");
  if (!p.options.org_public_key.empty()) {
    if (*p.org_key != p.options.org_public_key) {
      return Fail(name, absl::StrCat("the package's organisation key ", ToHex(*p.org_key),
                                     " is not the one given with --org-key"));
    }
    return Pass(name, absl::StrCat("organisation key ", ToHex(*p.org_key),
                                   " is the one given with --org-key"));
  }
  return Pass(name, absl::StrCat("organisation key ", ToHex(*p.org_key),
                                 " taken from the package: compare it with the key the "
                                 "organisation published (or pass --org-key)"));
}

EvidenceCheck CheckDeviceCertificate(const Package& p) {
  const char* name = "device-certificate";
  if (!p.certificate.has_value() || !p.org_key.has_value()) {
    return Fail(name, "device-certificate.pb or the organisation key is missing or malformed");
  }
  absl::StatusOr<crypto::CertifiedDevice> device =
      crypto::VerifyDeviceCertificate(*p.certificate, *p.org_key);
  if (!device.ok()) {
    return Fail(name, "the enrolment certificate does not verify against the organisation key");
  }
  if (device->role != v1::ROLE_MONITOR) {
    return Fail(name, "the certificate is not a monitor's");
  }
  return Pass(name, absl::StrCat("device ", ToHex(device->device_id),
                                 " was enrolled as a monitor of project \"", device->project,
                                 "\" (", ToHex(device->project_id),
                                 ") under an invite the organisation key signed, valid until ",
                                 HourText(device->invite_expires_at)));
}

EvidenceCheck CheckRecordSignature(const Package& p) {
  const char* name = "record-signature";
  if (!p.envelope.has_value()) return Fail(name, "envelope.pb is missing or does not parse");
  if (!p.certificate_body.has_value() || !p.authorisation.has_value()) {
    return Fail(name, "no certified signing key to check it with");
  }
  absl::StatusOr<crypto::VerifiedRecord> verified =
      crypto::VerifyRecord(*p.envelope, p.certificate_body->signing_public_key());
  if (!verified.ok()) {
    return Fail(name,
                "the device signature over the record digest does not verify with the "
                "certified key");
  }
  if (verified->header.device_id() != p.certificate_body->device_id() ||
      verified->header.project_id() != p.authorisation->project_id()) {
    return Fail(name, "the record names another device or project than the certificate");
  }
  return Pass(name, absl::StrCat("record ", ToHex(verified->header.record_id()), " (device_seq ",
                                 verified->header.device_seq(), ", digest ",
                                 ToHex(verified->digest), ") was signed by that device"));
}

EvidenceCheck CheckReceipt(const Package& p, std::optional<std::string>& receipt_key) {
  const char* name = "receipt";
  receipt_key = p.ReadHex(files::kReceiptKey, crypto::kSigningPublicKeyBytes);
  if (!receipt_key.has_value() || !p.receipt.has_value() || !p.header.has_value()) {
    return Fail(name, "receipt.pb, server-receipt-key.hex or the envelope is missing or malformed");
  }
  absl::StatusOr<v1::ReceiptBody> body =
      crypto::VerifyReceipt(*p.receipt, *receipt_key, p.header->record_id(), p.digest);
  if (!body.ok()) {
    return Fail(name, "the server's receipt does not verify for this record and digest");
  }
  return Pass(name,
              absl::StrCat("the server (receipt key ", ToHex(*receipt_key),
                           ") receipted it as log index ", body->log_index(),
                           ", received in the hour starting ", HourText(body->received_at())));
}

EvidenceCheck CheckLogKey(const Package& p, const std::optional<std::string>& receipt_key) {
  const char* name = "log-key";
  std::optional<std::string> signature =
      p.ReadHex(files::kLogKeySignature, crypto::kSignatureBytes);
  if (!p.log_vkey.has_value() || !signature.has_value() || !receipt_key.has_value()) {
    return Fail(name, "log-key.vkey, its signature or the receipt key is missing or malformed");
  }
  if (!crypto::ParseVkey(*p.log_vkey).ok()) return Fail(name, "log-key.vkey is not a vkey");
  if (!crypto::VerifySignature(*receipt_key, crypto::kLogKeyContext, *p.log_vkey, *signature)
           .ok()) {
    return Fail(name, "the log key is not signed by the server's receipt key");
  }
  if (!p.options.log_vkey.empty() && p.options.log_vkey != *p.log_vkey) {
    return Fail(name, "the package's log key is not the one given with --log-key");
  }
  return Pass(name,
              absl::StrCat("log key ", *p.log_vkey, " is signed by the server's receipt key",
                           p.options.log_vkey.empty() ? " (pass --log-key to compare it with "
                                                        "the published one)"
                                                      : " and is the one given with --log-key"));
}

EvidenceCheck CheckCheckpointSignature(const Package& p) {
  const char* name = "checkpoint-signature";
  if (!p.note.has_value() || !p.log_vkey.has_value()) {
    return Fail(name, "checkpoint.note or log-key.vkey is missing");
  }
  const std::string& vkey = p.options.log_vkey.empty() ? *p.log_vkey : p.options.log_vkey;
  absl::StatusOr<crypto::NoteVerifier> verifier = crypto::ParseVkey(vkey);
  if (!verifier.ok()) return Fail(name, "the log key is not a vkey");
  absl::StatusOr<crypto::Checkpoint> checkpoint = crypto::VerifyCheckpoint(*p.note, *verifier);
  if (!checkpoint.ok()) return Fail(name, "the checkpoint is not validly signed by the log key");
  return Pass(name, absl::StrCat("checkpoint of ", checkpoint->size, " leaves, root ",
                                 absl::Base64Escape(checkpoint->root), ", signed by the log key"));
}

EvidenceCheck CheckLogLeaf(const Package& p) {
  const char* name = "log-leaf";
  if (!p.leaf.has_value() || !p.header.has_value() || !p.receipt_body.has_value()) {
    return Fail(name, "log-leaf.bin, the envelope or the receipt is missing or malformed");
  }
  const std::string expected =
      crypto::EncodeLogLeaf({.log_index = p.receipt_body->log_index(),
                             .record_id = p.header->record_id(),
                             .digest = p.digest,
                             .device_id = p.header->device_id(),
                             .device_seq = p.header->device_seq(),
                             .received_hour = p.receipt_body->received_at()});
  if (*p.leaf != expected) {
    return Fail(name, "log-leaf.bin does not encode this record and its receipt");
  }
  return Pass(name, absl::StrCat("leaf ", p.receipt_body->log_index() - 1,
                                 " encodes this record, its device, device_seq and hour"));
}

// The checkpoint's size and root, read from its text without judging its signature
// (that is checkpoint-signature's job).
bool ParseCheckpointBody(absl::string_view note, uint64_t& size, std::string& root) {
  size_t split = note.rfind("\n\n");
  if (split == absl::string_view::npos) return false;
  std::vector<absl::string_view> lines = absl::StrSplit(note.substr(0, split), '\n');
  // As strict as the checkpoint format: a decimal without sign, space or leading zero, and
  // the canonical base64 of 32 bytes (so that every verifier reads the same numbers).
  if (lines.size() < 3 || lines[1].empty() || (lines[1].size() > 1 && lines[1][0] == '0') ||
      !std::all_of(lines[1].begin(), lines[1].end(), absl::ascii_isdigit)) {
    return false;
  }
  return absl::SimpleAtoi(lines[1], &size) && absl::Base64Unescape(lines[2], &root) &&
         root.size() == crypto::merkle::kHashBytes && absl::Base64Escape(root) == lines[2];
}

EvidenceCheck CheckInclusionProof(const Package& p) {
  const char* name = "inclusion-proof";
  std::optional<std::string> text = p.Read(files::kInclusionProof);
  uint64_t size = 0;
  std::string root;
  if (!text.has_value() || !p.leaf.has_value() || !p.receipt_body.has_value() ||
      !p.note.has_value() || !ParseCheckpointBody(*p.note, size, root)) {
    return Fail(name,
                "inclusion-proof.hex, the leaf, the receipt or the checkpoint is missing "
                "or malformed");
  }
  std::vector<std::string> proof;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipWhitespace())) {
    absl::StatusOr<std::string> hash = FromHex(absl::StripAsciiWhitespace(line), "proof");
    if (!hash.ok() || hash->size() != crypto::merkle::kHashBytes) {
      return Fail(name, "inclusion-proof.hex is not one 32-byte hash in hex a line");
    }
    proof.push_back(std::move(*hash));
  }
  const uint64_t index = p.receipt_body->log_index() - 1;
  if (p.receipt_body->log_index() == 0 ||
      !crypto::merkle::VerifyInclusion(crypto::merkle::HashLeaf(*p.leaf), index, size, proof, root)
           .ok()) {
    return Fail(name, absl::StrCat("the proof does not show leaf ", index,
                                   " in the checkpoint's tree of ", size, " leaves"));
  }
  return Pass(name, absl::StrCat("leaf ", index, " is in the checkpoint's tree of ", size,
                                 " leaves (", proof.size(), " hashes)"));
}

// The organisation's server-key statement, once its signature checks against the
// package's organisation key (which org-key compares with --org-key).
absl::StatusOr<crypto::ServerKeys> CertifiedServerKeys(const Package& p) {
  std::optional<std::string> body = p.Read(files::kServerKeys);
  std::optional<std::string> signature =
      p.ReadHex(files::kServerKeysSignature, crypto::kSignatureBytes);
  if (!body.has_value() || !signature.has_value() || !p.org_key.has_value()) {
    return absl::NotFoundError(
        "server-keys.txt, its signature or the organisation key is missing or malformed");
  }
  return crypto::VerifyServerKeys(*body, *signature, *p.org_key);
}

std::string ValidityText(const crypto::CertifiedKey& key) {
  return key.current() ? absl::StrCat("valid from ", HourText(key.from), " on (current)")
                       : absl::StrCat("valid from ", HourText(key.from), " until ",
                                      HourText(*key.until), " (retired)");
}

EvidenceCheck CheckServerKeys(const Package& p) {
  const char* name = "server-keys";
  absl::StatusOr<crypto::ServerKeys> keys = CertifiedServerKeys(p);
  if (!keys.ok()) return Fail(name, std::string(keys.status().message()));
  return Pass(name, absl::StrCat("the organisation key certified ", keys->receipt_keys.size(),
                                 " receipt key(s) and ", keys->log_keys.size(),
                                 " log key(s) of the server on ", HourText(keys->issued)));
}

EvidenceCheck CheckReceiptKeyCertified(const Package& p) {
  const char* name = "receipt-key-certified";
  absl::StatusOr<crypto::ServerKeys> keys = CertifiedServerKeys(p);
  std::optional<std::string> receipt_key =
      p.ReadHex(files::kReceiptKey, crypto::kSigningPublicKeyBytes);
  if (!keys.ok() || !receipt_key.has_value() || !p.receipt_body.has_value()) {
    return Fail(name, "no verified server-key statement, receipt key or receipt to check");
  }
  const crypto::CertifiedKey* key = keys->FindReceiptKey(*receipt_key);
  if (key == nullptr) {
    return Fail(name, "the receipt key is not in the organisation's server-key statement");
  }
  if (!key->CoversHour(p.receipt_body->received_at())) {
    return Fail(name, "the receipt's hour is outside the receipt key's certified validity");
  }
  return Pass(name, absl::StrCat("receipt key ", ToHex(*receipt_key),
                                 " is certified by the organisation, ", ValidityText(*key)));
}

EvidenceCheck CheckLogKeyCertified(const Package& p) {
  const char* name = "log-key-certified";
  absl::StatusOr<crypto::ServerKeys> keys = CertifiedServerKeys(p);
  if (!keys.ok() || !p.log_vkey.has_value()) {
    return Fail(name, "no verified server-key statement or log key to check");
  }
  const crypto::CertifiedKey* key = keys->FindLogKey(*p.log_vkey);
  if (key == nullptr) {
    return Fail(name, "the log key is not in the organisation's server-key statement");
  }
  return Pass(name, absl::StrCat("log key ", *p.log_vkey, " is certified by the organisation, ",
                                 ValidityText(*key)));
}

// Witness cosignatures (docs/evidence-format.md 4.15, 4.16). Only the witnesses given
// from outside are judged: a witness key read from the package would prove nothing, since
// whoever made the package could have made that witness too.
struct CosignatureChecks {
  std::vector<EvidenceCheck> checks;  // one per given witness with a line in the note
  std::vector<std::string> cosigned;  // witnesses whose every line verifies
  std::vector<std::string> missing;   // witnesses with no valid cosignature
  bool note_readable = false;
};

CosignatureChecks CheckCosignatures(const Package& p,
                                    const std::vector<crypto::CosignerVerifier>& witnesses) {
  CosignatureChecks out;
  absl::StatusOr<crypto::NoteParts> parts =
      p.note.has_value() ? crypto::SplitNote(*p.note) : absl::NotFoundError("no note");
  out.note_readable = parts.ok();
  for (const crypto::CosignerVerifier& witness : witnesses) {
    const std::string name = absl::StrCat("cosignature ", witness.name);
    // One witness at a time, so that a forged line of one does not hide the others.
    absl::StatusOr<std::vector<crypto::VerifiedCosignature>> verified =
        parts.ok() ? crypto::VerifyCosignatures(parts->text, parts->signature_lines, {witness})
                   : std::vector<crypto::VerifiedCosignature>{};
    if (!verified.ok()) {
      out.checks.push_back(
          Fail(name, absl::StrCat("the checkpoint carries a cosignature line of ", witness.name,
                                  " (its key id) that does not verify")));
      out.missing.push_back(witness.name);
    } else if (verified->empty()) {
      out.missing.push_back(witness.name);
    } else {
      const uint64_t at = verified->front().timestamp;
      out.checks.push_back(Pass(
          name, absl::StrCat("cosigned by ", witness.name, " at ",
                             FormatRfc3339(static_cast<int64_t>(at)), " (", at,
                             "): that witness saw this checkpoint extend every one it cosigned")));
      out.cosigned.push_back(witness.name);
    }
  }
  return out;
}

EvidenceCheck CheckWitnessQuorum(const CosignatureChecks& found, size_t given, uint32_t min) {
  const char* name = "witness-quorum";
  if (!found.note_readable) return Fail(name, "checkpoint.note is missing or not a signed note");
  const std::string counts =
      absl::StrCat(found.cosigned.size(), " of the ", given,
                   " witnesses given cosigned the checkpoint (", min, " required)");
  const std::string missing =
      found.missing.empty()
          ? ""
          : absl::StrCat("; none valid from ", absl::StrJoin(found.missing, ", "));
  if (found.cosigned.size() < min) return Fail(name, absl::StrCat("only ", counts, missing));
  return Pass(name, absl::StrCat(counts, missing));
}

// The witness options, checked before any file is read: a bad key is the caller's error,
// not the package's.
absl::StatusOr<std::vector<crypto::CosignerVerifier>> ParseWitnesses(
    const EvidenceVerifyOptions& options) {
  std::vector<crypto::CosignerVerifier> witnesses;
  std::set<std::string> names;
  for (const std::string& vkey : options.witness_vkeys) {
    TEMOIN_ASSIGN_OR_RETURN(crypto::CosignerVerifier witness, crypto::ParseCosignerVkey(vkey));
    if (!names.insert(witness.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("two witness keys named ", witness.name, " (one key a name)"));
    }
    witnesses.push_back(std::move(witness));
  }
  if (options.min_witnesses.has_value() && *options.min_witnesses > witnesses.size()) {
    return absl::InvalidArgumentError(absl::StrCat("--min-witnesses ", *options.min_witnesses,
                                                   " is more than the ", witnesses.size(),
                                                   " witness keys given"));
  }
  return witnesses;
}

EvidenceCheck CheckTestimony(const Package& p) {
  const char* name = "testimony";
  std::optional<std::string> key_bytes = p.ReadHex(files::kDataKey, 32);
  std::optional<std::string> sealed = p.Read(files::kTestimonyPb);
  std::optional<std::string> json = p.Read(files::kTestimonyJson);
  auto wipe = [&] {
    if (sealed.has_value()) crypto::WipeString(*sealed);
    if (json.has_value()) crypto::WipeString(*json);
  };
  if (!key_bytes.has_value() || !sealed.has_value() || !json.has_value() ||
      !p.envelope.has_value() || !p.header.has_value()) {
    wipe();
    return Fail(name, "data-key.hex, testimony.pb, testimony.json or the envelope is missing");
  }
  if (p.header->body_dictionary() != 0) {
    std::optional<std::string> dictionary = p.Read(files::kDictionary);
    if (!dictionary.has_value() ||
        *dictionary != crypto::BodyDictionary(p.header->body_dictionary())) {
      wipe();
      return Fail(name, "body-dictionary-v1.zdict is not Temoin's dictionary 1");
    }
  }
  crypto::SecretBuffer key = crypto::SecretBuffer::Allocate(32);
  std::memcpy(key.data(), key_bytes->data(), 32);
  crypto::WipeString(*key_bytes);
  absl::StatusOr<std::string> opened = crypto::OpenBodyWithDataKey(*p.envelope, key);
  if (!opened.ok()) {
    wipe();
    return Fail(name, "the disclosed data key does not open the sealed body");
  }
  const bool same = *opened == *sealed;
  const size_t length = opened->size();
  crypto::WipeString(*opened);
  if (!same) {
    wipe();
    return Fail(name, "testimony.pb is not byte for byte the testimony sealed in the body");
  }
  v1::Testimony from_json;
  google::protobuf::util::JsonParseOptions options;
  const bool parsed = google::protobuf::util::JsonStringToMessage(*json, &from_json, options).ok();
  wipe();
  if (!parsed || !p.testimony.has_value() ||
      !google::protobuf::util::MessageDifferencer::Equals(from_json, *p.testimony)) {
    from_json.Clear();
    return Fail(name, "testimony.json does not say what testimony.pb says");
  }
  from_json.Clear();
  return Pass(name, absl::StrCat("the disclosed testimony (", length,
                                 " bytes) is byte for byte what was sealed, and testimony.json "
                                 "renders it"));
}

EvidenceCheck CheckAttachment(const Package& p, const v1::AttachmentRef& ref) {
  const std::string blob = ToHex(ref.blob_id());
  const std::string name = absl::StrCat("attachment ", blob);
  std::optional<std::string> ciphertext =
      p.Read(absl::StrCat(files::kAttachmentsDir, "/", blob, ".enc"), kMaxFileBytes);
  if (!ciphertext.has_value()) return Fail(name, "its ciphertext is missing");
  if (ciphertext->size() != ref.size() || Blake2b256(*ciphertext) != ref.ciphertext_hash()) {
    return Fail(name, "its ciphertext is not the one the device signed in the header");
  }
  std::string label = blob;
  std::string opened;
  if (p.disclosed) {
    const v1::AttachmentInfo* info = nullptr;
    if (p.testimony.has_value()) {
      for (const v1::AttachmentInfo& candidate : p.testimony->attachments()) {
        if (candidate.blob_id() == ref.blob_id()) info = &candidate;
      }
    }
    std::optional<std::string> key_bytes =
        p.ReadHex(absl::StrCat(files::kAttachmentsDir, "/", blob, ".key.hex"), 32);
    if (info == nullptr || !key_bytes.has_value() || *key_bytes != info->key()) {
      return Fail(name, "its disclosed key is missing or not the one in the testimony");
    }
    crypto::SecretBuffer key = crypto::SecretBuffer::Allocate(32);
    std::memcpy(key.data(), key_bytes->data(), 32);
    absl::StatusOr<std::string> plain = crypto::DecryptAttachment(key, ref.blob_id(), *ciphertext);
    if (!plain.ok() || plain->size() != info->size()) {
      if (plain.ok()) crypto::WipeString(*plain);
      return Fail(name, "its disclosed key does not open it whole");
    }
    crypto::WipeString(*plain);
    label = absl::StrCat("\"", info->file_name(), "\" (", blob, ")");
    opened = ", and opens whole with its disclosed key";
  }
  return Pass(name, absl::StrCat(label, ", ", ciphertext->size(), " bytes, sha256 ",
                                 ToHex(Sha256(*ciphertext)), ", matches the hash the device signed",
                                 opened));
}

}  // namespace

bool EvidenceReport::ok() const {
  if (checks.empty()) return false;
  for (const EvidenceCheck& check : checks) {
    if (!check.ok) return false;
  }
  return true;
}

std::vector<std::string> EvidenceReport::failed() const {
  std::vector<std::string> out;
  for (const EvidenceCheck& check : checks) {
    if (!check.ok) out.push_back(check.name);
  }
  return out;
}

absl::StatusOr<EvidenceReport> VerifyEvidencePackage(const std::string& dir,
                                                     const EvidenceVerifyOptions& options) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return absl::NotFoundError("the evidence package is not a readable directory");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::vector<crypto::CosignerVerifier> witnesses, ParseWitnesses(options));
  Package p{.dir = dir, .options = options};
  p.Load();
  EvidenceReport report;
  report.checks.push_back(CheckManifest(p, report));
  // What is disclosed is decided by the files, not by the (unsigned) manifest's flag.
  p.disclosed = p.Read(files::kDataKey).has_value() || p.Read(files::kTestimonyPb).has_value();
  report.disclosed = p.disclosed;
  report.checks.push_back(CheckOrgKey(p));
  report.checks.push_back(CheckDeviceCertificate(p));
  report.checks.push_back(CheckRecordSignature(p));
  std::optional<std::string> receipt_key;
  report.checks.push_back(CheckReceipt(p, receipt_key));
  report.checks.push_back(CheckLogKey(p, receipt_key));
  report.checks.push_back(CheckCheckpointSignature(p));
  report.checks.push_back(CheckLogLeaf(p));
  report.checks.push_back(CheckInclusionProof(p));
  report.checks.push_back(CheckServerKeys(p));
  report.checks.push_back(CheckReceiptKeyCertified(p));
  report.checks.push_back(CheckLogKeyCertified(p));
  if (!witnesses.empty()) {
    CosignatureChecks cosignatures = CheckCosignatures(p, witnesses);
    for (EvidenceCheck& check : cosignatures.checks) report.checks.push_back(std::move(check));
    report.checks.push_back(CheckWitnessQuorum(
        cosignatures, witnesses.size(),
        options.min_witnesses.value_or(static_cast<uint32_t>(witnesses.size()))));
  }
  if (p.disclosed) report.checks.push_back(CheckTestimony(p));
  if (p.header.has_value()) {
    for (const v1::AttachmentRef& ref : p.header->attachments()) {
      report.checks.push_back(CheckAttachment(p, ref));
    }
  }
  if (p.testimony.has_value()) p.testimony->Clear();
  return report;
}

std::string EvidenceReportText(const EvidenceReport& report) {
  std::string out = absl::StrCat(
      "Evidence package for record ", report.record_id_hex.empty() ? "?" : report.record_id_hex,
      " (", kEvidenceFormat, report.disclosed ? ", testimony disclosed" : ", sealed", ")\n");
  for (const EvidenceCheck& check : report.checks) {
    absl::StrAppend(&out, check.ok ? "PASS " : "FAIL ", check.name, ": ", check.detail, "\n");
  }
  if (report.ok()) {
    absl::StrAppend(&out, "VERIFIED: every check passed\n");
  } else {
    std::vector<std::string> failed = report.failed();
    absl::StrAppend(&out, "NOT VERIFIED: ", failed.size(), " check", failed.size() == 1 ? "" : "s",
                    " failed: ", absl::StrJoin(failed, ", "), "\n");
  }
  return out;
}

std::string EvidenceReportJson(const EvidenceReport& report) {
  nlohmann::ordered_json out;
  out["record_id"] = report.record_id_hex;
  out["disclosed"] = report.disclosed;
  out["verified"] = report.ok();
  out["checks"] = nlohmann::json::array();
  for (const EvidenceCheck& check : report.checks) {
    out["checks"].push_back({{"name", check.name}, {"ok", check.ok}, {"detail", check.detail}});
  }
  out["failed"] = report.failed();
  return out.dump(2) + "\n";
}

}  // namespace temoin::client

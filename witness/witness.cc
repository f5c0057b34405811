#include "witness/witness.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>

#include "absl/memory/memory.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "crypto/checkpoint.h"
#include "crypto/cosignature.h"
#include "crypto/merkle.h"

namespace temoin::witness {
namespace {

namespace merkle = crypto::merkle;

constexpr size_t kMaxProofLines = 63;  // the spec's bound
constexpr char kLatestSizePayload[] = "type.temoin.org/witness.latest_size";

std::string Sha256Hex(absl::string_view data) {
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash), sizeof hash));
}

std::string LogDir(const std::string& dir, absl::string_view origin_hash) {
  return absl::StrCat(dir, "/logs/", origin_hash);
}

bool IsDecimal(absl::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// The first line of a note: the checkpoint's origin (checked with the signature later).
absl::string_view OriginOf(absl::string_view note) { return note.substr(0, note.find('\n')); }

struct Held {
  crypto::Checkpoint checkpoint;
  std::string note;
};

// The log's keys (one vkey a line in logs/<hash>/vkey): more than one after the log
// rotated its key (AddLog with the new one). Its tree and origin stay the same, so the
// new key's checkpoints are checked against the one held, signed by the old.
using LogVerifiers = std::vector<crypto::NoteVerifier>;

// The checkpoint as the first of `verifiers` that signed it reads it; the first key's
// error when none did.
absl::StatusOr<crypto::Checkpoint> VerifyUnderAny(absl::string_view note,
                                                  const LogVerifiers& verifiers) {
  absl::StatusOr<crypto::Checkpoint> first = absl::NotFoundError("unknown log");
  for (size_t i = 0; i < verifiers.size(); ++i) {
    absl::StatusOr<crypto::Checkpoint> checkpoint = crypto::VerifyCheckpoint(note, verifiers[i]);
    if (checkpoint.ok()) return checkpoint;
    if (i == 0) first = std::move(checkpoint);
  }
  return first;
}

absl::StatusOr<std::optional<Held>> ReadHeld(const std::string& log_dir,
                                             const LogVerifiers& verifiers) {
  absl::StatusOr<std::string> note = ReadFileToString(log_dir + "/checkpoint", 64 << 10);
  if (absl::IsNotFound(note.status())) return std::nullopt;
  TEMOIN_RETURN_IF_ERROR(note.status());
  absl::StatusOr<crypto::Checkpoint> checkpoint = VerifyUnderAny(*note, verifiers);
  if (!checkpoint.ok()) {
    return absl::DataLossError(
        absl::StrCat(log_dir, "/checkpoint is damaged: ", checkpoint.status().message()));
  }
  return Held{*std::move(checkpoint), *std::move(note)};
}

// Both notes, under a name derived from the received one: a log that repeats itself
// does not fill the disk.
absl::Status KeepEvidence(const std::string& log_dir, absl::string_view kind, const Held& held,
                          absl::string_view received) {
  const std::string base =
      absl::StrCat(log_dir, "/evidence/", kind, "-", Sha256Hex(received).substr(0, 16));
  if (PathExists(base + "-received")) return absl::OkStatus();
  TEMOIN_RETURN_IF_ERROR(MakeDirectories(log_dir + "/evidence", 0700));
  TEMOIN_RETURN_IF_ERROR(WriteFileDurably(base + "-held", held.note, 0600));
  return WriteFileDurably(base + "-received", received, 0600);
}

absl::Status Conflict(uint64_t latest_size, uint64_t old_size) {
  absl::Status status = absl::FailedPreconditionError(absl::StrCat(
      "old size ", old_size, " is not the size of the latest cosigned checkpoint, ", latest_size));
  status.SetPayload(kLatestSizePayload, absl::Cord(absl::StrCat(latest_size)));
  return status;
}

absl::StatusOr<std::vector<std::string>> LogVkeys(const std::string& log_dir) {
  absl::StatusOr<std::string> text = ReadFileToString(log_dir + "/vkey", 64 << 10);
  if (absl::IsNotFound(text.status())) return absl::NotFoundError("unknown log");
  TEMOIN_RETURN_IF_ERROR(text.status());
  return absl::StrSplit(*text, '\n', absl::SkipWhitespace());
}

absl::StatusOr<LogVerifiers> LogVerifiersOf(const std::string& log_dir) {
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> vkeys, LogVkeys(log_dir));
  LogVerifiers verifiers;
  for (const std::string& vkey : vkeys) {
    TEMOIN_ASSIGN_OR_RETURN(crypto::NoteVerifier verifier,
                            crypto::ParseVkey(absl::StripAsciiWhitespace(vkey)));
    verifiers.push_back(std::move(verifier));
  }
  if (verifiers.empty()) return absl::DataLossError(absl::StrCat(log_dir, "/vkey is empty"));
  return verifiers;
}

}  // namespace

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kUnauthenticated:
      return 403;
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kDataLoss:
      return 422;
    default:
      return 500;
  }
}

std::optional<uint64_t> LatestSizeOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kLatestSizePayload);
  uint64_t size = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &size)) return std::nullopt;
  return size;
}

absl::StatusOr<AddCheckpointRequest> ParseAddCheckpoint(absl::string_view body) {
  const size_t blank = body.find("\n\n");
  if (blank == absl::string_view::npos) {
    return absl::InvalidArgumentError("request has no empty line before the checkpoint");
  }
  std::vector<absl::string_view> lines = absl::StrSplit(body.substr(0, blank), '\n');
  AddCheckpointRequest request;
  absl::string_view old = lines[0];
  if (!absl::ConsumePrefix(&old, "old ") || !IsDecimal(old) ||
      !absl::SimpleAtoi(old, &request.old_size)) {
    return absl::InvalidArgumentError("first line is not 'old <decimal size>'");
  }
  if (lines.size() - 1 > kMaxProofLines) {
    return absl::InvalidArgumentError("more than 63 consistency proof lines");
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string hash;
    if (!absl::Base64Unescape(lines[i], &hash) || hash.size() != merkle::kHashBytes ||
        absl::Base64Escape(hash) != lines[i]) {
      return absl::InvalidArgumentError("a consistency proof line is not base64 of 32 bytes");
    }
    request.proof.push_back(std::move(hash));
  }
  request.note = std::string(body.substr(blank + 2));
  return request;
}

std::string FormatAddCheckpoint(const AddCheckpointRequest& request) {
  std::string body = absl::StrCat("old ", request.old_size, "\n");
  for (const std::string& hash : request.proof)
    absl::StrAppend(&body, absl::Base64Escape(hash), "\n");
  return absl::StrCat(body, "\n", request.note);
}

absl::Status InitWitness(const std::string& dir, absl::string_view name) {
  if (PathExists(dir + "/witness.key")) {
    return absl::AlreadyExistsError(absl::StrCat(dir, " is already a witness"));
  }
  crypto::SigningKey key = crypto::SigningKey::Generate();
  // Checked before anything is written: a bad name leaves no half-made directory.
  TEMOIN_RETURN_IF_ERROR(crypto::Cosign("x\n", name, key, 1).status());
  TEMOIN_RETURN_IF_ERROR(MakeDirectories(dir + "/logs", 0700));
  TEMOIN_RETURN_IF_ERROR(WriteFileDurably(dir + "/witness.name", absl::StrCat(name, "\n"), 0644));
  // The key last: its presence means the directory is complete.
  return WriteFileDurably(dir + "/witness.key", key.secret_key().ExposeSecret(), 0600);
}

absl::Status AddLog(const std::string& dir, absl::string_view log_vkey) {
  if (!PathExists(dir + "/witness.key")) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " is not a witness; run init first"));
  }
  TEMOIN_ASSIGN_OR_RETURN(crypto::NoteVerifier verifier, crypto::ParseVkey(log_vkey));
  const std::string log_dir = LogDir(dir, Sha256Hex(verifier.name));
  absl::StatusOr<std::vector<std::string>> known = LogVkeys(log_dir);
  if (!known.ok() && !absl::IsNotFound(known.status())) return known.status();
  std::vector<std::string> vkeys = known.ok() ? *std::move(known) : std::vector<std::string>();
  for (const std::string& vkey : vkeys) {
    if (absl::StripAsciiWhitespace(vkey) == log_vkey) return absl::OkStatus();
  }
  vkeys.emplace_back(log_vkey);
  TEMOIN_RETURN_IF_ERROR(MakeDirectories(log_dir, 0700));
  return WriteFileDurably(log_dir + "/vkey", absl::StrCat(absl::StrJoin(vkeys, "\n"), "\n"), 0644);
}

absl::StatusOr<std::string> WitnessVkey(const std::string& dir) {
  SystemClock clock;
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Witness> witness, Witness::Open(dir, &clock));
  return witness->vkey();
}

Witness::Witness(std::string dir, std::string name, crypto::SigningKey key, const Clock* clock)
    : dir_(std::move(dir)),
      name_(std::move(name)),
      key_(std::move(key)),
      vkey_(crypto::FormatCosignerVkey(name_, key_.public_key())),
      clock_(clock) {}

Witness::~Witness() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::StatusOr<std::unique_ptr<Witness>> Witness::Open(const std::string& dir, const Clock* clock) {
  absl::StatusOr<std::string> secret = ReadFileToString(dir + "/witness.key", 4096);
  if (!secret.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " is not a witness directory; run temoin-witness init first"));
  }
  absl::StatusOr<crypto::SigningKey> key = crypto::SigningKey::FromSecretKey(*secret);
  crypto::WipeString(*secret);
  if (!key.ok()) return absl::DataLossError(absl::StrCat(dir, "/witness.key is damaged"));
  TEMOIN_ASSIGN_OR_RETURN(std::string name, ReadFileToString(dir + "/witness.name", 4096));
  return absl::WrapUnique(
      new Witness(dir, std::string(absl::StripAsciiWhitespace(name)), *std::move(key), clock));
}

absl::Status Witness::Lock() {
  lock_fd_ = open((dir_ + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("another witness process serves ", dir_, " (its lock is held)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Witness::AddCheckpoint(const AddCheckpointRequest& request) {
  const std::string log_dir = LogDir(dir_, Sha256Hex(OriginOf(request.note)));
  TEMOIN_ASSIGN_OR_RETURN(LogVerifiers verifiers, LogVerifiersOf(log_dir));
  absl::StatusOr<crypto::Checkpoint> checkpoint = VerifyUnderAny(request.note, verifiers);
  if (absl::IsUnauthenticated(checkpoint.status())) return checkpoint.status();
  if (!checkpoint.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed checkpoint: ", checkpoint.status().message()));
  }
  if (request.old_size > checkpoint->size) {
    return absl::InvalidArgumentError("old size is larger than the checkpoint's");
  }
  std::lock_guard lock(mu_);
  TEMOIN_ASSIGN_OR_RETURN(std::optional<Held> held, ReadHeld(log_dir, verifiers));
  if (held.has_value()) {
    // A signed checkpoint that no honest log could sign after the one cosigned.
    const uint64_t held_size = held->checkpoint.size;
    if (checkpoint->size < held_size) {
      TEMOIN_RETURN_IF_ERROR(KeepEvidence(log_dir, "rollback", *held, request.note));
    } else if (checkpoint->size == held_size && checkpoint->root != held->checkpoint.root) {
      TEMOIN_RETURN_IF_ERROR(KeepEvidence(log_dir, "fork", *held, request.note));
      if (request.old_size == held_size) {
        return absl::DataLossError("same tree size as the checkpoint cosigned, another root");
      }
    }
  }
  const uint64_t latest_size = held.has_value() ? held->checkpoint.size : 0;
  if (request.old_size != latest_size) return Conflict(latest_size, request.old_size);
  if (checkpoint->size == 0 && checkpoint->root != merkle::EmptyRoot()) {
    return absl::DataLossError("a checkpoint of size 0 must have the empty tree's root");
  }
  if (request.old_size == 0) {
    if (!request.proof.empty()) return absl::DataLossError("a proof from size 0 must be empty");
  } else if (absl::Status consistent =
                 merkle::VerifyConsistency(request.old_size, checkpoint->size,
                                           held->checkpoint.root, checkpoint->root, request.proof);
             !consistent.ok()) {
    TEMOIN_RETURN_IF_ERROR(KeepEvidence(log_dir, "fork", *held, request.note));
    return absl::DataLossError(
        absl::StrCat("the checkpoint does not extend the one cosigned: ", consistent.message()));
  }
  TEMOIN_ASSIGN_OR_RETURN(crypto::NoteParts parts, crypto::SplitNote(request.note));
  absl::StatusOr<std::string> line =
      crypto::Cosign(parts.text, name_, key_, static_cast<uint64_t>(clock_->NowSeconds()));
  if (!line.ok())
    return absl::InternalError(absl::StrCat("cannot cosign: ", line.status().message()));
  // Persisted before the answer (the spec): the note as the log signed it, and ours.
  TEMOIN_RETURN_IF_ERROR(WriteFileDurably(log_dir + "/checkpoint", request.note + *line, 0644));
  return *line;
}

absl::StatusOr<std::string> Witness::LatestCheckpoint(absl::string_view origin_hash) {
  if (origin_hash.size() != 64 ||
      origin_hash.find_first_not_of("0123456789abcdef") != absl::string_view::npos) {
    return absl::NotFoundError("no such log");
  }
  std::lock_guard lock(mu_);
  absl::StatusOr<std::string> note =
      ReadFileToString(LogDir(dir_, origin_hash) + "/checkpoint", 64 << 10);
  if (absl::IsNotFound(note.status())) return absl::NotFoundError("no checkpoint cosigned");
  return note;
}

}  // namespace temoin::witness

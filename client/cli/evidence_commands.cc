// review evidence (reviewer home) and verify (no home, no network): evidence packages a
// court can check (client/core/evidence_package.h, docs/evidence-format.md).
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/cli/cli_context.h"
#include "client/core/device_state.h"
#include "client/core/evidence_package.h"
#include "client/core/evidence_verify.h"
#include "client/core/gaps.h"
#include "client/core/review_desk.h"
#include "client/core/server_keys_state.h"
#include "client/sync/evidence_fetch.h"
#include "client/sync/sync_engine.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "crypto/log_leaf.h"
#include "nlohmann/json.hpp"
#include "temoin/v1/testimony.pb.h"

namespace temoin::client::cli {
namespace {

struct EvidenceArgs {
  std::string id, out, org_key, log_key;
  bool disclose = false, json = false;
  std::vector<std::string> witnesses;  // verify --witness VKEY, repeatable
  int min_witnesses = -1;              // verify --min-witnesses K; -1: all given
};

// The disclosed part: the sealed testimony bytes and each attachment's key, from the
// body the record's own data key opens.
absl::Status AddDisclosure(Vault& vault, const v1::FetchedEntry& entry, EvidenceInput& input) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::SecretBuffer data_key, FetchedDataKey(vault, entry));
  TEMOIN_ASSIGN_OR_RETURN(input.testimony, crypto::OpenBodyWithDataKey(entry.envelope(), data_key));
  v1::Testimony testimony;
  if (!testimony.ParseFromString(input.testimony)) {
    return absl::DataLossError("record body does not decode");
  }
  for (EvidenceInput::Attachment& attachment : input.attachments) {
    for (const v1::AttachmentInfo& info : testimony.attachments()) {
      if (info.blob_id() == attachment.blob_id) attachment.key = info.key();
    }
    if (attachment.key.size() != 32) {
      return absl::DataLossError("an attachment's key is not in the testimony");
    }
  }
  testimony.Clear();
  input.disclose = true;
  input.data_key = std::string(data_key.ExposeSecret());
  return absl::OkStatus();
}

void WipeDisclosure(EvidenceInput& input) {
  crypto::WipeString(input.testimony);
  crypto::WipeString(input.data_key);
  for (EvidenceInput::Attachment& attachment : input.attachments)
    crypto::WipeString(attachment.key);
}

absl::Status ReviewEvidence(const Globals& g, const EvidenceArgs& a, bool offline) {
  if (offline) {
    return absl::InvalidArgumentError("evidence needs the server's log proofs: drop --offline");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string record_id, FromHex(a.id, "record id"));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(SyncReport pulled, PullForReview(*vault, SyncOptions{}));
  if (pulled.fetched > 0) std::cerr << "review: fetched " << pulled.fetched << " new records\n";
  TEMOIN_ASSIGN_OR_RETURN(const v1::FetchedEntry entry, LoadFetched(*vault, record_id));
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(*vault));
  v1::RecordHeader header;
  v1::ReceiptBody receipt;
  if (!header.ParseFromString(entry.envelope().header()) ||
      !receipt.ParseFromString(entry.receipt().body()) || receipt.log_index() == 0) {
    return absl::DataLossError("the record's receipt names no log index");
  }
  const crypto::LogLeaf leaf{.log_index = receipt.log_index(),
                             .record_id = header.record_id(),
                             .digest = crypto::RecordDigest(entry.envelope()),
                             .device_id = header.device_id(),
                             .device_seq = header.device_seq(),
                             .received_hour = receipt.received_at()};
  TEMOIN_ASSIGN_OR_RETURN(ServerEvidence server,
                          FetchServerEvidence(*vault, SyncOptions{}, entry, leaf));
  EvidenceInput input;
  input.envelope = entry.envelope();
  input.certificate = entry.device_certificate();
  input.org_public_key = profile.org_public_key();
  input.receipt = entry.receipt();
  TEMOIN_ASSIGN_OR_RETURN(ReceiptKeyRing receipt_keys, ReceiptKeyRing::Load(*vault, profile));
  TEMOIN_ASSIGN_OR_RETURN(input.receipt_public_key, receipt_keys.KeyFor(entry.receipt()));
  input.log_vkey = server.log.log_vkey();
  input.log_vkey_signature = server.log.log_vkey_signature();
  input.checkpoint_note = server.log.checkpoint();
  TEMOIN_ASSIGN_OR_RETURN(std::optional<HeldServerKeys> server_keys,
                          LoadServerKeys(*vault, profile.org_public_key()));
  if (!server_keys.has_value()) {
    return absl::FailedPreconditionError(
        "the organisation has not certified the server's receipt and log keys yet, and a "
        "package without that statement does not verify: an admin runs temoin-server keys "
        "show on the server's machine, then temoin admin certify-server-keys");
  }
  input.server_keys_body = server_keys->statement.body();
  input.server_keys_signature = server_keys->statement.org_signature();
  if (server.log.inclusion_size() == 1) {
    for (const std::string& hash : server.log.inclusion(0).hashes()) {
      input.inclusion_proof.push_back(hash);
    }
  }
  for (ServerEvidence::Blob& blob : server.attachments) {
    input.attachments.push_back({std::move(blob.blob_id), std::move(blob.ciphertext), {}});
  }
  absl::Status written = a.disclose ? AddDisclosure(*vault, entry, input) : absl::OkStatus();
  if (written.ok()) written = WriteEvidencePackage(a.out, input);
  WipeDisclosure(input);
  TEMOIN_RETURN_IF_ERROR(written);
  // The package is checked as a court would check it, against this device's pinned key.
  TEMOIN_ASSIGN_OR_RETURN(
      EvidenceReport report,
      VerifyEvidencePackage(a.out, {.org_public_key = profile.org_public_key()}));
  std::cerr << EvidenceReportText(report);
  if (!report.ok()) {
    return absl::DataLossError(absl::StrCat("the package written to ", a.out, " does not verify: ",
                                            absl::StrJoin(report.failed(), ", ")));
  }
  std::cerr << "review: evidence package for record " << a.id << " written to " << a.out
            << (a.disclose ? " (testimony DISCLOSED: it opens this record; keep it safe)"
                           : " (sealed: nothing in it can be read)")
            << "\nreview: organisation key " << ToHex(profile.org_public_key()) << ", log key "
            << input.log_vkey << "\n";
  return absl::OkStatus();
}

absl::Status Verify(const EvidenceArgs& a) {
  EvidenceVerifyOptions options;
  if (!a.org_key.empty()) {
    TEMOIN_ASSIGN_OR_RETURN(options.org_public_key, FromHex(a.org_key, "--org-key"));
    if (options.org_public_key.size() != 32) {
      return absl::InvalidArgumentError("--org-key must be 32 bytes in hex");
    }
  }
  options.log_vkey = a.log_key;
  options.witness_vkeys = a.witnesses;
  if (a.min_witnesses >= 0) {
    if (a.witnesses.empty()) {
      return absl::InvalidArgumentError("--min-witnesses needs at least one --witness");
    }
    options.min_witnesses = static_cast<uint32_t>(a.min_witnesses);
  }
  TEMOIN_ASSIGN_OR_RETURN(EvidenceReport report, VerifyEvidencePackage(a.out, options));
  std::cout << (a.json ? EvidenceReportJson(report) : EvidenceReportText(report));
  if (!report.ok()) {
    return absl::DataLossError(
        absl::StrCat("NOT VERIFIED: ", absl::StrJoin(report.failed(), ", ")));
  }
  return absl::OkStatus();
}

std::string RangesText(const std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
  if (ranges.empty()) return "none";
  std::vector<std::string> parts;
  for (const auto& [low, high] : ranges) {
    parts.push_back(low == high ? absl::StrCat(low) : absl::StrCat(low, "-", high));
  }
  return absl::StrJoin(parts, ",");
}

absl::Status ReviewGaps(const Globals& g, bool offline, bool json) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  if (!offline) {
    TEMOIN_ASSIGN_OR_RETURN(SyncReport pulled, PullForReview(*vault, SyncOptions{}));
    if (pulled.fetched > 0) std::cerr << "review: fetched " << pulled.fetched << " new records\n";
  }
  TEMOIN_ASSIGN_OR_RETURN(OpenedDesk desk, OpenDesk(*vault));
  std::vector<DeviceGaps> gaps = FindGaps(desk.records);
  for (OpenedRecord& record : desk.records) record.testimony.Clear();
  if (desk.unverified() > 0) {
    std::cerr << "review: " << desk.unverified()
              << " unverified records are not counted (their headers could claim any number)\n";
  }
  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const DeviceGaps& device : gaps) {
      nlohmann::ordered_json missing = nlohmann::ordered_json::array();
      for (const auto& [low, high] : device.missing) missing.push_back({low, high});
      out.push_back({{"device_id", ToHex(device.device_id)},
                     {"project", device.project},
                     {"received", device.received},
                     {"highest", device.highest},
                     {"missing", missing}});
    }
    std::cout << out.dump() << "\n";
    return absl::OkStatus();
  }
  for (const DeviceGaps& device : gaps) {
    std::cout << ToHex(device.device_id) << "\t" << device.project << "\treceived "
              << device.received << "\thighest " << device.highest << "\tmissing "
              << RangesText(device.missing) << "\n";
  }
  std::cerr << "review: " << gaps.size()
            << " devices; numbers after a device's highest cannot be known\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterEvidenceCommands(CLI::App& app, CommandContext& ctx) {
  const Globals& g = ctx.globals;
  auto* a = ctx.Keep<EvidenceArgs>();
  auto* offline = ctx.Keep<bool>();
  CLI::App* review = app.get_subcommand("review");
  auto* evidence = review->add_subcommand(
      "evidence", "write one record's evidence package for a court (docs/evidence-format.md)");
  evidence->add_option("ID", a->id, "record id (32 hex)")->required();
  evidence->add_option("--out", a->out, "a new (or empty) directory")->required();
  evidence->add_flag("--disclose", a->disclose,
                     "also write the testimony, its data key and the attachment keys: "
                     "whoever holds the folder can read this record (and no other)");
  evidence->callback([&ctx, &g, a, review, offline] {
    *offline = review->get_option("--offline")->as<bool>();
    ctx.result = ReviewEvidence(g, *a, *offline);
  });
  auto* gaps_json = ctx.Keep<bool>();
  auto* gaps = review->add_subcommand(
      "gaps",
      "per device, the device_seq ranges no record on this desk covers: one device a line "
      "(id, project, received, highest, missing ranges)");
  gaps->add_flag("--json", *gaps_json, "one JSON array");
  gaps->callback([&ctx, &g, review, gaps_json] {
    ctx.result = ReviewGaps(g, review->get_option("--offline")->as<bool>(), *gaps_json);
  });
  auto* verify = app.add_subcommand(
      "verify",
      "check an evidence package offline (no --home, no network); exit 0 only if every "
      "check passes");
  verify->add_option("DIR", a->out, "the package folder")->required();
  verify->add_option("--org-key", a->org_key,
                     "the organisation's public key (64 hex) to check the package against");
  verify->add_option("--log-key", a->log_key,
                     "the log's published verifier key (temoin-server log vkey)");
  verify->add_option("--witness", a->witnesses,
                     "a witness's published cosigner key (vkey, type 0x04; repeatable): its "
                     "cosignature of the checkpoint is checked (docs/evidence-format.md 4.15)");
  verify
      ->add_option("--min-witnesses", a->min_witnesses,
                   "how many of the --witness keys must have cosigned (default: all)")
      ->check(CLI::NonNegativeNumber);
  verify->add_flag("--json", a->json, "the report as one JSON object");
  verify->callback([&ctx, a] { ctx.result = Verify(*a); });
}

}  // namespace temoin::client::cli

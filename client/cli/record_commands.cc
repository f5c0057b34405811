// record: what monitors do in the field.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/cli/cli_context.h"
#include "client/core/device_state.h"
#include "client/core/outbox.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/vocabulary.h"
#include "nlohmann/json.hpp"

namespace temoin::client::cli {
namespace {

// Testimonies from a file: one proto3 JSON object, or an array of them (bulk entry,
// e.g. paper forms typed up later).
absl::StatusOr<std::vector<v1::Testimony>> ReadTestimonies(const std::string& path) {
  TEMOIN_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 256 << 20));
  std::vector<v1::Testimony> out;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    nlohmann::json array = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    crypto::WipeString(text);
    if (array.is_discarded() || !array.is_array()) {
      return absl::InvalidArgumentError("--from: the file is not a valid JSON array");
    }
    for (size_t i = 0; i < array.size(); ++i) {
      std::string item = array[i].dump();
      absl::StatusOr<v1::Testimony> testimony = ParseTestimonyJson(item);
      crypto::WipeString(item);
      if (!testimony.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--from: testimony ", i, ": ", testimony.status().message()));
      }
      out.push_back(std::move(*testimony));
    }
    return out;
  }
  absl::StatusOr<v1::Testimony> testimony = ParseTestimonyJson(text);
  crypto::WipeString(text);
  if (!testimony.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--from: ", testimony.status().message()));
  }
  out.push_back(std::move(*testimony));
  return out;
}

absl::Status Record(const Globals& g, const std::string& project, const std::string& from,
                    const std::vector<std::string>& attachments) {
  if (from.empty()) {
    return absl::UnimplementedError(
        "guided interactive recording is not available in this version yet; use --from FILE.json");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::Testimony> testimonies, ReadTestimonies(from));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(*vault));
  if (profile.project() != project) {
    return absl::InvalidArgumentError(
        absl::StrCat("this device records for project ", profile.project(), ", not ", project));
  }
  if (!attachments.empty() && testimonies.size() != 1) {
    return absl::InvalidArgumentError(
        "--attach needs exactly one testimony; --from holds an array");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::vector<SealedRecord> sealed,
                          SealTestimonies(*vault, testimonies, attachments));
  for (const std::string& path : attachments) {
    std::cerr << "attached " << path
              << " (encrypted in the vault). The original is still on disk, unprotected: "
                 "delete it when you can.\n";
  }
  for (const SealedRecord& record : sealed) std::cout << ToHex(record.record_id) << "\n";
  std::cerr << "sealed " << sealed.size() << (sealed.size() == 1 ? " testimony" : " testimonies")
            << "; only the project's reviewers can open " << (sealed.size() == 1 ? "it" : "them")
            << " now. Run temoin sync when a link is up.\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterRecordCommands(CLI::App& app, CommandContext& ctx) {
  const Globals& g = ctx.globals;
  struct RecordArgs {
    std::string project, from;
    std::vector<std::string> attachments;
  };
  auto* a = ctx.Keep<RecordArgs>();
  auto* record = app.add_subcommand("record",
                                    "seal testimonies into the outbox (monitor); "
                                    "stdout: one record id per testimony");
  record->add_option("--project", a->project, "this device's project")->required();
  record->add_option("--from", a->from,
                     "proto3 JSON of a temoin.v1.Testimony, or an array of them");
  record->add_option("--attach", a->attachments,
                     "attach a file (repeatable; photo, audio, video, document), encrypted "
                     "into the vault; needs a single testimony in --from");
  record->callback([&ctx, &g, a] { ctx.result = Record(g, a->project, a->from, a->attachments); });
}

}  // namespace temoin::client::cli

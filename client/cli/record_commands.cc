// record: what monitors do in the field.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/cli/cli_context.h"
#include "client/cli/interactive_record.h"
#include "client/cli/passphrase.h"
#include "client/core/device_state.h"
#include "client/core/drafts.h"
#include "client/core/outbox.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/vocabulary.h"
#include "google/protobuf/util/json_util.h"
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

struct RecordArgs {
  std::string project, from, lang;
  std::vector<std::string> attachments;
  bool draft = false, keep_metadata = false, delete_originals = false;
};

// Overwrites a file the user attached in place (same inode, whole length, fsync) and
// unlinks it, once it is safely sealed in the vault. A rename over it, or a plain
// delete, would leave the photo's blocks free but unchanged on the disk.
absl::Status DeleteOriginal(const std::string& path) {
  absl::Status shredded = ShredFile(path);
  if (!shredded.ok()) {
    return absl::Status(shredded.code(),
                        absl::StrCat("the attachment is sealed in the vault, but the original "
                                     "was not deleted: ",
                                     shredded.message()));
  }
  return absl::OkStatus();
}

absl::Status HandleOriginals(const RecordArgs& a) {
  if (a.attachments.empty()) return absl::OkStatus();
  bool remove = a.delete_originals;
  if (!remove) {
    std::cerr << "The original files are still on disk, unprotected:";
    for (const std::string& path : a.attachments) std::cerr << " " << path;
    std::cerr << "\n";
    remove = ConfirmOnTty("Delete them now? Type yes: ");
  }
  if (!remove) {
    std::cerr << "kept; delete them yourself when you can (or use --delete-originals)\n";
    return absl::OkStatus();
  }
  for (const std::string& path : a.attachments) TEMOIN_RETURN_IF_ERROR(DeleteOriginal(path));
  std::cerr << "originals overwritten in place and deleted. On flash storage (phones, SSDs, "
               "SD cards) the device may still keep old copies of their blocks, and copies "
               "made elsewhere (thumbnails, backups, messaging apps) are not touched.\n";
  return absl::OkStatus();
}

absl::Status CheckProject(Vault& vault, const std::string& project) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  if (profile.project() != project) {
    return absl::InvalidArgumentError(
        absl::StrCat("this device records for project ", profile.project(), ", not ", project));
  }
  return absl::OkStatus();
}

absl::Status SealAndReport(Vault& vault, const std::vector<v1::Testimony>& testimonies,
                           const RecordArgs& a, std::vector<std::string> consumed_drafts) {
  SealOptions options;
  options.attach_paths = a.attachments;
  options.keep_metadata = a.keep_metadata;
  options.consumed_drafts = std::move(consumed_drafts);
  TEMOIN_ASSIGN_OR_RETURN(std::vector<SealedRecord> sealed,
                          SealTestimonies(vault, testimonies, options));
  for (const SealedRecord& record : sealed) std::cout << ToHex(record.record_id) << "\n";
  std::cerr << "sealed " << sealed.size() << (sealed.size() == 1 ? " testimony" : " testimonies")
            << "; only the project's reviewers can open " << (sealed.size() == 1 ? "it" : "them")
            << " now. Run temoin sync when a link is up.\n";
  return HandleOriginals(a);
}

absl::Status Record(const Globals& g, const RecordArgs& a) {
  if (!a.attachments.empty() && a.draft) {
    return absl::InvalidArgumentError("--attach goes with sealing: attach when you seal the draft");
  }
  std::vector<v1::Testimony> testimonies;
  if (!a.from.empty()) {
    TEMOIN_ASSIGN_OR_RETURN(testimonies, ReadTestimonies(a.from));
    if (!a.attachments.empty() && testimonies.size() != 1) {
      return absl::InvalidArgumentError(
          "--attach needs exactly one testimony; --from holds an array");
    }
  } else if (!::isatty(STDIN_FILENO)) {
    return absl::InvalidArgumentError(
        "no --from FILE.json and no terminal for the guided questions");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_RETURN_IF_ERROR(CheckProject(*vault, a.project));
  bool as_draft = a.draft;
  if (a.from.empty()) {
    TEMOIN_ASSIGN_OR_RETURN(v1::Vocabulary vocabulary, LoadVocabulary(*vault));
    TEMOIN_ASSIGN_OR_RETURN(GuidedTestimony guided,
                            AskTestimony(vocabulary, PickLanguage(a.lang), std::cin, std::cerr));
    if (guided.choice == RecordChoice::kCancel) {
      return absl::CancelledError("recording cancelled; nothing was saved");
    }
    as_draft = guided.choice == RecordChoice::kDraft;
    testimonies.push_back(std::move(guided.testimony));
  }
  if (as_draft) {
    for (const v1::Testimony& testimony : testimonies) {
      TEMOIN_ASSIGN_OR_RETURN(std::string id, SaveDraft(*vault, testimony));
      std::cout << id << "\n";
    }
    std::cerr << "saved as draft" << (testimonies.size() == 1 ? "" : "s")
              << " (readable on this device until sealed: temoin draft seal ID)\n";
    return absl::OkStatus();
  }
  return SealAndReport(*vault, testimonies, a, {});
}

absl::Status DraftList(const Globals& g) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> ids, ListDrafts(*vault));
  for (const std::string& id : ids) std::cout << id << "\n";
  std::cerr << ids.size() << " draft" << (ids.size() == 1 ? "" : "s") << "\n";
  return absl::OkStatus();
}

absl::Status DraftShow(const Globals& g, const std::string& id) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(v1::Testimony testimony, LoadDraft(*vault, id));
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = true;
  if (!google::protobuf::util::MessageToJsonString(testimony, &json, options).ok()) {
    return absl::InternalError("draft does not convert to JSON");
  }
  std::cout << json;
  crypto::WipeString(json);
  return absl::OkStatus();
}

absl::Status DraftEdit(const Globals& g, const std::string& id, const std::string& from) {
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::Testimony> testimonies, ReadTestimonies(from));
  if (testimonies.size() != 1) return absl::InvalidArgumentError("--from must hold one testimony");
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_RETURN_IF_ERROR(SaveDraft(*vault, testimonies[0], id).status());
  std::cerr << "draft " << id << " replaced\n";
  return absl::OkStatus();
}

absl::Status DraftSeal(const Globals& g, const std::string& id, const RecordArgs& a) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(v1::Testimony testimony, LoadDraft(*vault, id));
  return SealAndReport(*vault, {testimony}, a, {id});
}

absl::Status DraftDelete(const Globals& g, const std::string& id) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_RETURN_IF_ERROR(DeleteDraft(*vault, id));
  std::cerr << "draft " << id << " deleted\n";
  return absl::OkStatus();
}

absl::Status Retention(const Globals& g, const std::string& policy) {
  if (policy != "keep" && policy != "purge") {
    return absl::InvalidArgumentError("retention must be keep or purge");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_RETURN_IF_ERROR(SetKeepSealedCopies(*vault, policy == "keep"));
  std::cerr << (policy == "keep"
                    ? "sealed copies are kept after their receipt (state received)\n"
                    : "sealed copies are deleted once their receipt is verified (the default)\n");
  return absl::OkStatus();
}

void AddAttachOptions(CLI::App* cmd, RecordArgs* a) {
  cmd->add_option("--attach", a->attachments,
                  "attach a file (repeatable; photo, audio, video, document), encrypted into "
                  "the vault; needs a single testimony");
  cmd->add_flag("--keep-metadata", a->keep_metadata,
                "keep JPEG EXIF/GPS metadata (stripped by default)");
  cmd->add_flag("--delete-originals", a->delete_originals,
                "overwrite and delete the attached files once they are in the vault");
}

}  // namespace

void RegisterRecordCommands(CLI::App& app, CommandContext& ctx) {
  const Globals& g = ctx.globals;
  auto* a = ctx.Keep<RecordArgs>();
  auto* record = app.add_subcommand(
      "record",
      "record a testimony (monitor): guided questions on a terminal, or --from FILE.json; "
      "sealed at once unless kept as a draft; stdout: one record (or draft) id per testimony");
  record->add_option("--project", a->project, "this device's project")->required();
  record->add_option("--from", a->from,
                     "proto3 JSON of a temoin.v1.Testimony, or an array of them");
  record->add_flag("--draft", a->draft, "keep as an editable draft instead of sealing");
  record->add_option("--lang", a->lang, "language of the questions: fr | en (default: locale)");
  AddAttachOptions(record, a);
  record->callback([&ctx, &g, a] { ctx.result = Record(g, *a); });

  auto* id = ctx.Keep<std::string>();
  auto* draft = app.add_subcommand("draft",
                                   "drafts: readable and editable on this device "
                                   "until sealed");
  draft->require_subcommand(1);
  draft->add_subcommand("list", "one draft id a line")->callback([&ctx, &g] {
    ctx.result = DraftList(g);
  });
  auto* show = draft->add_subcommand("show", "a draft as JSON");
  show->add_option("ID", *id)->required();
  show->callback([&ctx, &g, id] { ctx.result = DraftShow(g, *id); });
  auto* edit = draft->add_subcommand("edit", "replace a draft with --from FILE.json");
  edit->add_option("ID", *id)->required();
  edit->add_option("--from", a->from, "proto3 JSON of a temoin.v1.Testimony")->required();
  edit->callback([&ctx, &g, id, a] { ctx.result = DraftEdit(g, *id, a->from); });
  auto* seal = draft->add_subcommand("seal",
                                     "seal a draft: after this even this device "
                                     "cannot read it; stdout: the record id");
  seal->add_option("ID", *id)->required();
  AddAttachOptions(seal, a);
  seal->callback([&ctx, &g, id, a] { ctx.result = DraftSeal(g, *id, *a); });
  auto* remove = draft->add_subcommand("delete", "delete a draft");
  remove->add_option("ID", *id)->required();
  remove->callback([&ctx, &g, id] { ctx.result = DraftDelete(g, *id); });

  auto* policy = ctx.Keep<std::string>();
  auto* retention = app.add_subcommand(
      "retention", "after a verified receipt: purge the sealed copy (default) or keep it");
  retention->add_option("POLICY", *policy, "purge | keep")->required();
  retention->callback([&ctx, &g, policy] { ctx.result = Retention(g, *policy); });
}

}  // namespace temoin::client::cli

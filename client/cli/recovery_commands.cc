// admin split-key | recover: the organisation key in M-of-N trustee shares.
#include <sys/stat.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/cli/cli_context.h"
#include "client/core/device_state.h"
#include "client/core/key_shares.h"
#include "client/sync/admin_client.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "crypto/server_keys.h"

namespace temoin::client::cli {
namespace {

absl::Status SplitKey(const Globals& g, int shares, int threshold, const std::string& out) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(*vault));
  if (profile.role() != v1::ROLE_ADMIN || profile.org_secret_key().empty()) {
    return absl::FailedPreconditionError("this device does not hold the organisation key");
  }
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey org_key,
                          crypto::SigningKey::FromSecretKey(profile.org_secret_key()));
  crypto::WipeString(*profile.mutable_org_secret_key());
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> files, SplitOrgKey(org_key, shares, threshold));
  std::error_code error;
  std::filesystem::create_directories(out, error);
  if (error) return absl::InternalError("cannot create the --out directory");
  ::chmod(out.c_str(), 0700);
  for (size_t i = 0; i < files.size(); ++i) {
    std::string path = absl::StrCat(out, "/share-", i + 1, ".txt");
    TEMOIN_RETURN_IF_ERROR(WriteFileDurably(path, files[i], 0600));
    crypto::WipeString(files[i]);
    std::cout << path << "\n";
  }
  std::cerr << "wrote " << shares << " shares; any " << threshold
            << " rebuild the organisation key. Give one to each trustee and delete them here.\n";
  return absl::OkStatus();
}

absl::Status Recover(const Globals& g, const std::vector<std::string>& paths) {
  std::vector<std::string> texts;
  for (const std::string& path : paths) {
    TEMOIN_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
    texts.push_back(std::move(text));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(*vault));
  if (profile.role() != v1::ROLE_ADMIN) {
    return absl::FailedPreconditionError("only an admin device can hold the organisation key");
  }
  absl::StatusOr<crypto::SigningKey> key = RecoverOrgKey(texts, profile.org_public_key());
  for (std::string& text : texts) crypto::WipeString(text);
  if (!key.ok()) return key.status();
  profile.set_org_secret_key(std::string(key->secret_key().ExposeSecret()));
  VaultBatch batch;
  PutProfile(batch, profile);
  crypto::WipeString(*profile.mutable_org_secret_key());
  TEMOIN_RETURN_IF_ERROR(vault->Commit(batch));
  std::cerr << "organisation key rebuilt from " << paths.size()
            << " shares, checked against the organisation's public key, and installed\n";
  return absl::OkStatus();
}

absl::Status RotateTls(const Globals& g, const std::string& pin_hex) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_RETURN_IF_ERROR(AnnounceNextTlsKey(*vault, pin_hex));
  std::cerr << "announced TLS key " << pin_hex
            << "; devices accept it from their next sync. When they have synced, stop the "
               "server, run temoin-server tls switch and start it again\n";
  return absl::OkStatus();
}

absl::Status CertifyKeys(const Globals& g, const std::string& receipt_key_hex,
                         const std::string& log_vkey, const std::string& next_receipt_key_hex,
                         const std::string& next_log_vkey) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(g));
  TEMOIN_ASSIGN_OR_RETURN(std::string body, CertifyServerKeys(*vault, receipt_key_hex, log_vkey,
                                                              next_receipt_key_hex, next_log_vkey));
  TEMOIN_ASSIGN_OR_RETURN(std::string raw_receipt_key, FromHex(receipt_key_hex, "--receipt-key"));
  std::cout << body;
  std::cerr << "certified receipt key " << receipt_key_hex << " (fingerprint "
            << crypto::KeyFingerprint(raw_receipt_key) << ") and log key " << log_vkey
            << " (fingerprint " << crypto::KeyFingerprint(log_vkey)
            << "), signed with the organisation key; devices accept receipts and checkpoints "
               "only under the keys above from their next sync\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterRecoveryCommands(CLI::App& app, CommandContext& ctx) {
  const Globals& g = ctx.globals;
  struct Args {
    int shares = 0, threshold = 0;
    std::string out;
    std::vector<std::string> files;
    std::string receipt_key, log_key, next_receipt_key, next_log_key;
  };
  auto* a = ctx.Keep<Args>();
  auto* admin = app.add_subcommand("admin", "organisation key custody (admin)");
  admin->require_subcommand(1);
  auto* split = admin->add_subcommand("split-key",
                                      "split the organisation key into trustee shares; "
                                      "stdout: the share files written");
  split->add_option("--shares", a->shares, "number of shares (N)")->required();
  split->add_option("--threshold", a->threshold, "shares needed to rebuild (K)")->required();
  split->add_option("--out", a->out, "directory to write share-I.txt into")->required();
  split->callback([&ctx, &g, a] { ctx.result = SplitKey(g, a->shares, a->threshold, a->out); });
  auto* recover = admin->add_subcommand("recover",
                                        "rebuild the organisation key from K share files "
                                        "and install it on this admin device");
  recover->add_option("SHARE_FILE", a->files, "share files")->required();
  recover->callback([&ctx, &g, a] { ctx.result = Recover(g, a->files); });
  auto* rotate_tls = admin->add_subcommand(
      "rotate-tls",
      "announce the server's next TLS key, signed with the organisation key: devices accept "
      "it from their next sync on, so temoin-server tls switch breaks no pin");
  rotate_tls->add_option("--pin", a->out, "the pin temoin-server tls next printed (64 hex)")
      ->required();
  rotate_tls->callback([&ctx, &g, a] { ctx.result = RotateTls(g, a->out); });
  auto* certify = admin->add_subcommand(
      "certify-server-keys",
      "sign, with the organisation key, which receipt key and log key are the server's "
      "(as temoin-server keys show prints them on the server's machine); stdout: the "
      "statement signed");
  certify->add_option("--receipt-key", a->receipt_key, "the server's receipt key (64 hex)")
      ->required();
  certify->add_option("--log-key", a->log_key, "the server's log key (note vkey)")->required();
  certify->add_option("--next-receipt-key", a->next_receipt_key,
                      "during a receipt-key rotation, the key temoin-server keys next printed "
                      "(64 hex): certified beside the current one; without it, every receipt "
                      "key but --receipt-key is retired");
  certify->add_option("--next-log-key", a->next_log_key,
                      "during a log-key rotation, the key temoin-server keys next printed "
                      "(note vkey): certified beside the current one; without it, every log "
                      "key but --log-key is retired");
  certify->callback([&ctx, &g, a] {
    ctx.result = CertifyKeys(g, a->receipt_key, a->log_key, a->next_receipt_key, a->next_log_key);
  });
}

}  // namespace temoin::client::cli

#include "tests/e2e/deployment.h"

#include <signal.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "rocksdb/db.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

constexpr char kPassphrase[] = "correct horse battery staple";

std::string Hex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string BinaryDir() {
  const char* dir = std::getenv("TEMOIN_E2E_BINARY_DIR");
  return dir != nullptr && *dir != '\0' ? dir : TEMOIN_BINARY_DIR;
}

}  // namespace

std::string ClientBinary() { return BinaryDir() + "/client/temoin"; }
std::string ServerBinary() { return BinaryDir() + "/server/temoin-server"; }
std::string WitnessBinary() { return BinaryDir() + "/witness/temoin-witness"; }

std::string Trim(const std::string& s) {
  size_t end = s.find_last_not_of(" \r\n");
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

absl::StatusOr<std::unique_ptr<Deployment>> Deployment::Create(
    const std::string& prefix, int monitors, const std::vector<std::string>& init_args) {
  std::unique_ptr<Deployment> d(new Deployment);
  absl::StatusOr<TempDir> dir = TempDir::Create(prefix);
  if (!dir.ok()) return dir.status();
  d->dir_ = std::make_unique<TempDir>(std::move(*dir));
  d->server_data_ = d->dir_->Sub("server");
  d->admin_ = d->dir_->Sub("admin");
  d->reviewer_ = d->dir_->Sub("reviewer");
  absl::StatusOr<int> port = PickFreeLoopbackPort();
  if (!port.ok()) return port.status();
  d->port_ = *port;
  std::vector<std::string> init_argv = {
      ServerBinary(), "init",      "--data",   d->server_data_,
      "--org",        "Field NGO", "--listen", absl::StrCat("127.0.0.1:", d->port_)};
  init_argv.insert(init_argv.end(), init_args.begin(), init_args.end());
  absl::StatusOr<CommandResult> init = RunCommand(init_argv);
  if (!init.ok()) return init.status();
  if (init->exit_code != 0) return absl::InternalError("temoin-server init: " + init->err);
  if (absl::Status s = d->StartServer(); !s.ok()) return s;

  auto run = [&d](const std::string& home, const std::vector<std::string>& args) {
    return d->Run(home, args);
  };
  absl::StatusOr<std::string> out = run(d->admin_, {"enroll", Trim(init->out)});
  if (out.ok()) out = run(d->admin_, {"project", "create", kDeploymentProject});
  if (!out.ok()) return out.status();
  for (int i = 0; i < monitors; ++i) {
    absl::StatusOr<std::string> code =
        run(d->admin_, {"invite", "--project", kDeploymentProject, "--role", "monitor"});
    if (!code.ok()) return code.status();
    std::string home = d->dir_->Sub(absl::StrCat("monitor-", i));
    absl::StatusOr<std::string> id = run(home, {"enroll", Trim(*code)});
    if (!id.ok()) return id.status();
    d->monitors_.push_back(home);
    d->monitor_ids_.push_back(Trim(*id));
  }
  absl::StatusOr<std::string> code =
      run(d->admin_, {"invite", "--project", kDeploymentProject, "--role", "reviewer"});
  if (!code.ok()) return code.status();
  absl::StatusOr<std::string> reviewer_id = run(d->reviewer_, {"enroll", Trim(*code)});
  if (!reviewer_id.ok()) return reviewer_id.status();
  out =
      run(d->admin_, {"grant", "--project", kDeploymentProject, "--reviewer", Trim(*reviewer_id)});
  if (!out.ok()) return out.status();
  return d;
}

Deployment::~Deployment() { StopServer(); }

CommandResult Deployment::Temoin(const std::string& home, const std::vector<std::string>& args,
                                 std::chrono::milliseconds timeout) const {
  // The vault key's Argon2id cost is calibrated at enrolment to ~1.5 s by default; the
  // floor cost keeps hundreds of commands affordable in CI.
  return RunTemoin(ClientBinary(), home, args, kPassphrase, {{"TEMOIN_VAULT_UNLOCK_MS", "1"}},
                   timeout);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> Deployment::StartTemoin(
    const std::string& home, const std::vector<std::string>& args,
    const std::string& log_path) const {
  std::vector<std::string> argv = {ClientBinary(), "--home", home};
  argv.insert(argv.end(), args.begin(), args.end());
  return ChildProcess::Start(
      argv, {{"TEMOIN_PASSPHRASE", kPassphrase}, {"TEMOIN_VAULT_UNLOCK_MS", "1"}}, log_path);
}

absl::StatusOr<std::string> Deployment::Run(const std::string& home,
                                            const std::vector<std::string>& args) const {
  CommandResult r = Temoin(home, args);
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("`temoin ", absl::StrJoin(args, " "), "` exited ",
                                            r.exit_code, r.timed_out ? " (timed out)" : "",
                                            "; stderr: ", r.err));
  }
  return r.out;
}

absl::Status Deployment::StartServer() {
  server_.reset();  // reaps a killed server
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(ServerBinary(), server_data_, port_,
                           dir_->Sub(absl::StrCat("server-", ++server_starts_, ".log")));
  if (!server.ok()) return server.status();
  server_ = std::move(*server);
  server_pid_ = server_->pid();
  return absl::OkStatus();
}

void Deployment::KillServer() {
  pid_t pid = server_pid_.exchange(-1);
  if (pid > 0) kill(pid, SIGKILL);
}

int Deployment::TerminateServer(std::chrono::milliseconds grace) {
  server_pid_ = -1;
  if (server_ == nullptr) return -1;
  const int code = server_->Terminate(grace);
  server_.reset();
  return code;
}

void Deployment::StopServer() {
  server_pid_ = -1;
  server_.reset();
}

absl::StatusOr<std::vector<std::pair<std::string, v1::Testimony>>> Deployment::Record(
    const std::string& home, const std::vector<v1::Testimony>& testimonies,
    const std::vector<std::string>& extra_args) const {
  std::string array = "[";
  for (size_t i = 0; i < testimonies.size(); ++i) {
    absl::StrAppend(&array, i == 0 ? "\n" : ",\n", TestimonyToJson(testimonies[i]));
  }
  absl::StrAppend(&array, "\n]\n");
  static std::atomic<int> files = 0;  // Record() may run on several threads (fleet_soak)
  std::string path = dir_->Sub(absl::StrCat("testimonies-", ++files, ".json"));
  if (absl::Status s = WriteFile(path, array); !s.ok()) return s;
  std::vector<std::string> args = {"record", "--project", kDeploymentProject, "--from", path};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  absl::StatusOr<std::string> out = Run(home, args);
  if (!out.ok()) return out.status();
  std::vector<std::string> ids = absl::StrSplit(Trim(*out), '\n', absl::SkipEmpty());
  if (ids.size() != testimonies.size()) {
    return absl::InternalError(
        absl::StrCat("record printed ", ids.size(), " ids for ", testimonies.size()));
  }
  std::vector<std::pair<std::string, v1::Testimony>> recorded;
  for (size_t i = 0; i < ids.size(); ++i) recorded.emplace_back(ids[i], testimonies[i]);
  return recorded;
}

absl::StatusOr<nlohmann::json> Deployment::RecordCounts(const std::string& home) const {
  absl::StatusOr<std::string> out = Run(home, {"status", "--json"});
  if (!out.ok()) return out.status();
  nlohmann::json status = nlohmann::json::parse(*out, nullptr, /*allow_exceptions=*/false);
  if (!status.is_object() || !status["records"].is_object()) {
    return absl::InternalError("status --json is not an object with records: " + *out);
  }
  return status["records"];
}

absl::StatusOr<std::vector<nlohmann::json>> Deployment::ReviewerExport(
    const std::vector<std::string>& extra_export_args) const {
  absl::StatusOr<std::string> out = Run(reviewer_, {"sync"});
  if (!out.ok()) return out.status();
  static int exports = 0;
  std::string path = dir_->Sub(absl::StrCat("export-", ++exports, ".json"));
  std::vector<std::string> args = {"review", "export", "--format", "json", "--out", path};
  args.insert(args.end(), extra_export_args.begin(), extra_export_args.end());
  out = Run(reviewer_, args);
  if (!out.ok()) return out.status();
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  nlohmann::json exported = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!exported.is_array()) return absl::InternalError("export is not one JSON array");
  return std::vector<nlohmann::json>(exported.begin(), exported.end());
}

absl::StatusOr<std::string> Deployment::ServerTls(const std::string& subcommand) const {
  absl::StatusOr<CommandResult> r =
      RunCommand({ServerBinary(), "tls", subcommand, "--data", server_data_});
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return absl::InternalError(absl::StrCat("tls ", subcommand, ": ", r->err));
  return Trim(r->out);
}

absl::StatusOr<Deployment::ServerListing> Deployment::ListServerRecords() const {
  return ListServerRecordsIn(server_data_);
}

absl::StatusOr<Deployment::ServerListing> Deployment::ListServerRecordsIn(
    const std::string& server_data) {
  rocksdb::Options options;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, server_data + "/db", &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (!s.ok()) return absl::InternalError("open server store read-only: " + s.ToString());
  ServerListing listing;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("log/"); it->Valid() && it->key().starts_with("log/"); it->Next()) {
    ++listing.log_entries;
  }
  // rec/<device_id 16><record_id 16> (server/core/registry.h): ids are per device.
  constexpr size_t kRecordKeyPrefix = 4 + 16;
  for (it->Seek("rec/"); it->Valid() && it->key().starts_with("rec/"); it->Next()) {
    if (it->key().size() <= kRecordKeyPrefix) return absl::InternalError("short record key");
    listing.record_ids.push_back(Hex(absl::string_view(it->key().data() + kRecordKeyPrefix,
                                                       it->key().size() - kRecordKeyPrefix)));
  }
  if (!it->status().ok()) return absl::InternalError("scan: " + it->status().ToString());
  return listing;
}

}  // namespace temoin::e2e

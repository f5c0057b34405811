#include "client/desk/desk_server.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/core/attachments.h"
#include "client/core/cover_selection.h"
#include "client/desk/desk_api.h"
#include "client/desk/desk_assets.h"
#include "client/desk/desk_guard.h"
#include "client/desk/desk_state.h"
#include "client/sync/sync_engine.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "common/vocabulary.h"
#include "crypto/secret_buffer.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace temoin::client::desk {
namespace {

// No script, style, image or connection but the desk's own; no framing; no referrer.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "media-src 'self' blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; "
    "base-uri 'none'";
constexpr size_t kMaxRequestBytes = 64 << 10;
// A testimony with the files picked in the form (multipart): the only larger body. The
// files are held in memory until sealed, so the cap is well under the CLI's 200 MiB a
// file (bigger files: `temoin record --attach`).
constexpr size_t kMaxTestimonyWithFilesBytes = 64 << 20;

bool MayCarryFiles(const httplib::Request& req) {
  return req.method == "POST" && req.path == "/api/testimony";
}

// Checked on the headers, before cpp-httplib reads a body: every call but a testimony
// with files keeps the 64 KiB cap.
bool BodyTooLarge(const httplib::Request& req) {
  if (MayCarryFiles(req)) return false;
  if (req.has_header("Transfer-Encoding")) return true;  // no length to check first
  const std::string length = req.get_header_value("Content-Length");
  uint64_t bytes = 0;
  return !length.empty() && (!absl::SimpleAtoi(length, &bytes) || bytes > kMaxRequestBytes);
}

void SendError(httplib::Response& res, int http_status, absl::string_view message) {
  res.status = http_status;
  res.set_content(nlohmann::json{{"error", std::string(message)}}.dump(), "application/json");
}

int HttpStatusOf(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

void SendStatus(httplib::Response& res, const absl::Status& s) {
  // The vault's kDataLoss/kInternal messages name no plaintext (STYLE.md), so the person
  // at the desk is told what happened.
  SendError(res, HttpStatusOf(s), s.message());
}

void OpenBrowser(const std::string& url) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::string program = "xdg-open";
  char* argv[] = {program.data(), const_cast<char*>(url.c_str()), nullptr};
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "xdg-open", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    std::cerr << "desk: could not start xdg-open; open the address above in a browser\n";
    return;
  }
  std::thread([pid] { waitpid(pid, nullptr, 0); }).detach();
}

class Desk {
 public:
  explicit Desk(const DeskOptions& options)
      : options_(options), state_(options.home, std::chrono::minutes(options.lock_minutes)) {}

  absl::Status Serve();

 private:
  httplib::Server::HandlerResponse Guard(const httplib::Request& req, httplib::Response& res);
  void RedeemToken(const httplib::Request& req, httplib::Response& res);
  void Routes();
  void Unlock(const httplib::Request& req, httplib::Response& res);
  // Runs `make` on the unlocked desk and sends its JSON, or why it could not.
  void SendUnlocked(httplib::Response& res,
                    const std::function<absl::StatusOr<std::string>(Unlocked&)>& make,
                    const char* media_type = "application/json");
  void SendAttachment(const std::string& id_hex, int index, httplib::Response& res);
  void Sync(httplib::Response& res);
  // The progress as /api/sync/progress and the event stream send it; progress_mu_ held.
  nlohmann::json ProgressJsonHeld() const;
  void SyncEvents(httplib::Response& res);
  void IdleWatcher();
  void Stop();

  const DeskOptions options_;
  int port_ = 0;
  SessionGate gate_;
  DeskState state_;
  httplib::Server server_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  // The running sync's progress: counts only, no plaintext, so the page may read it
  // while the sync holds the desk.
  std::mutex progress_mu_;
  std::condition_variable progress_changed_;
  SyncProgress progress_;
  bool syncing_ = false;
  uint64_t sync_generation_ = 0;   // syncs started so far
  uint64_t progress_version_ = 0;  // changes of the above, for the event stream
  std::string last_sync_error_;    // advice of the last sync that failed, or ""
  Clock::time_point sync_started_;
};

// What a person can act on, from a sync's status (the status message stays in the
// details for whoever helps them).
std::string SyncAdvice(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return "The server cannot be reached now. Your testimonies are safe on this device; "
             "try again when there is a connection.";
    case absl::StatusCode::kResourceExhausted:
      return "The server is full or this device sent too much today. Your testimonies are "
             "safe on this device; try again later.";
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return "The server refused this device. Ask your coordinator before trying again.";
    default:
      return "The sync did not finish. Your testimonies are safe on this device.";
  }
}

httplib::Server::HandlerResponse Desk::Guard(const httplib::Request& req, httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  if (!HostAllowed(req.get_header_value("Host"), port_)) {
    SendError(res, 403, "wrong Host header: use the address temoin desk printed");
    return R::Handled;
  }
  if (req.path == "/" && req.has_param("token")) {
    RedeemToken(req, res);
    return R::Handled;
  }
  if (!gate_.IsSession(CookieValue(req.get_header_value("Cookie"), kSessionCookie))) {
    SendError(res, 403, "no desk session: open the address temoin desk printed");
    return R::Handled;
  }
  if (ChangesState(req.method) && !OriginAllowed(req.get_header_value("Origin"), port_)) {
    SendError(res, 403, "cross-origin request refused");
    return R::Handled;
  }
  if (BodyTooLarge(req)) {
    SendError(res, 413, "request body too large");
    return R::Handled;
  }
  return R::Unhandled;
}

void Desk::RedeemToken(const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<std::string> session = gate_.Redeem(req.get_param_value("token"));
  if (!session.ok()) {
    SendStatus(res, session.status());
    return;
  }
  res.set_header("Set-Cookie", SessionGate::CookieFor(*session));
  // Off the address bar and out of the history's current entry at once.
  res.set_redirect("/", 303);
}

void Desk::SendUnlocked(httplib::Response& res,
                        const std::function<absl::StatusOr<std::string>(Unlocked&)>& make,
                        const char* media_type) {
  std::string body;
  absl::Status s = state_.WithUnlocked(Clock::now(), [&](Unlocked& u) -> absl::Status {
    TEMOIN_ASSIGN_OR_RETURN(body, make(u));
    return absl::OkStatus();
  });
  if (s.code() == absl::StatusCode::kFailedPrecondition && s.message() == "locked") {
    SendError(res, 401, "locked");
    return;
  }
  if (!s.ok()) {
    SendStatus(res, s);
    return;
  }
  res.set_content(std::move(body), media_type);
  crypto::WipeString(body);
}

void Desk::Unlock(const httplib::Request& req, httplib::Response& res) {
  // The passphrase arrives in the body only (never a URL); every copy is wiped.
  std::string& raw = const_cast<std::string&>(req.body);
  nlohmann::json parsed = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
  crypto::WipeString(raw);
  if (!parsed.is_object() || !parsed["passphrase"].is_string()) {
    SendError(res, 400, "expected {\"passphrase\": \"...\"}");
    return;
  }
  std::string& passphrase = parsed["passphrase"].get_ref<std::string&>();
  absl::Status s = state_.Unlock(passphrase, Clock::now());
  crypto::WipeString(passphrase);
  wake_.notify_all();
  if (!s.ok()) {
    SendStatus(res, s);
    return;
  }
  res.set_content(R"({"unlocked":true})", "application/json");
}

// The media type a monitor's file claims is untrusted: only images, sound and video
// are shown in the page (never SVG, which can carry script); anything else is a download.
std::string InlineMediaType(const std::string& claimed) {
  const bool viewable = (absl::StartsWith(claimed, "image/") && claimed != "image/svg+xml") ||
                        absl::StartsWith(claimed, "audio/") || absl::StartsWith(claimed, "video/");
  const bool plain_token = claimed.find_first_of(" ;,\r\n\"") == std::string::npos;
  return viewable && plain_token ? claimed : "";
}

void Desk::SendAttachment(const std::string& id_hex, int index, httplib::Response& res) {
  std::string body, media_type;
  absl::Status s = state_.WithUnlocked(Clock::now(), [&](Unlocked& u) -> absl::Status {
    for (const OpenedRecord& r : u.desk.records) {
      if (ToHex(r.record_id) != id_hex) continue;
      TEMOIN_ASSIGN_OR_RETURN(body, FetchAttachmentPlaintext(*u.vault, SyncOptions{}, r, index));
      media_type = r.testimony.attachments(index).media_type();
      return absl::OkStatus();
    }
    return absl::NotFoundError("no such record on this desk");
  });
  if (s.code() == absl::StatusCode::kFailedPrecondition && s.message() == "locked") {
    SendError(res, 401, "locked");
    return;
  }
  if (!s.ok()) {
    SendStatus(res, s);
    return;
  }
  std::string inline_type = InlineMediaType(media_type);
  if (inline_type.empty()) {
    res.set_header("Content-Disposition", "attachment");
    inline_type = "application/octet-stream";
  }
  res.set_content(body, inline_type);
  crypto::WipeString(body);
}

void Desk::Routes() {
  server_.Get("/", [](const httplib::Request&, httplib::Response& res) {
    const Asset* index = FindAsset("/index.html");
    res.set_content(std::string(index->body), std::string(index->media_type));
  });
  server_.Get(R"(/(app\.js|app\.css))", [](const httplib::Request& req, httplib::Response& res) {
    const Asset* asset = FindAsset(req.path);
    res.set_content(std::string(asset->body), std::string(asset->media_type));
  });
  // Browsers ask for it on their own; no icon, and no 404 in the console.
  server_.Get("/favicon.ico",
              [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  // The vocabulary is public (it names codes, not cases): the locked page needs labels.
  server_.Get("/api/vocabulary", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(DefaultVocabularyJson()), "application/json");
  });
  server_.Get("/api/state", [this](const httplib::Request&, httplib::Response& res) {
    state_.LockIfIdle(Clock::now());
    res.set_content(
        nlohmann::json{{"unlocked", state_.unlocked()}, {"lock_minutes", options_.lock_minutes}}
            .dump(),
        "application/json");
  });
  server_.Post("/api/unlock",
               [this](const httplib::Request& req, httplib::Response& res) { Unlock(req, res); });
  server_.Post("/api/lock", [this](const httplib::Request&, httplib::Response& res) {
    state_.Lock();
    res.set_content(R"({"unlocked":false})", "application/json");
  });
  server_.Post("/api/close", [this](const httplib::Request&, httplib::Response& res) {
    state_.Lock();
    res.set_content(R"({"closed":true})", "application/json");
    Stop();
  });
  server_.Post("/api/pull", [this](const httplib::Request&, httplib::Response& res) {
    SendUnlocked(res, [](Unlocked& u) -> absl::StatusOr<std::string> {
      TEMOIN_ASSIGN_OR_RETURN(SyncReport report, PullForReview(*u.vault, SyncOptions{}));
      TEMOIN_RETURN_IF_ERROR(Reopen(u));
      return nlohmann::json{{"fetched", report.fetched}, {"grants", report.grants}}.dump();
    });
  });
  server_.Get("/api/records", [this](const httplib::Request& req, httplib::Response& res) {
    RecordFilter filter = FilterFromParams(req.params);
    ListPage page = PageFromParams(req.params);
    SendUnlocked(
        res, [&](Unlocked& u) -> absl::StatusOr<std::string> { return ListJson(u, filter, page); });
  });
  server_.Get(R"(/api/records/([0-9a-f]{32}))",
              [this](const httplib::Request& req, httplib::Response& res) {
                std::string id = req.matches[1];
                SendUnlocked(res, [&](Unlocked& u) { return RecordDetailJson(u, id); });
              });
  server_.Get(R"(/api/records/([0-9a-f]{32})/attachments/([0-9]{1,4}))",
              [this](const httplib::Request& req, httplib::Response& res) {
                SendAttachment(req.matches[1], std::stoi(req.matches[2]), res);
              });
  server_.Get("/api/gaps", [this](const httplib::Request&, httplib::Response& res) {
    SendUnlocked(res, [](Unlocked& u) -> absl::StatusOr<std::string> { return GapsJson(u); });
  });
  server_.Get("/api/duplicates", [this](const httplib::Request& req, httplib::Response& res) {
    RecordFilter filter = FilterFromParams(req.params);
    SendUnlocked(res, [&](Unlocked& u) { return DuplicatesJson(u, filter); });
  });
  // {"group": key, "decision": "confirmed"|"split"|"undecided"}, with the filter of the
  // page that showed the group in the query.
  server_.Post(
      "/api/duplicates/decision", [this](const httplib::Request& req, httplib::Response& res) {
        RecordFilter filter = FilterFromParams(req.params);
        nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body["group"].is_string() || !body["decision"].is_string()) {
          SendError(res, 400, R"(expected {"group": "...", "decision": "..."})");
          return;
        }
        const std::string group = body["group"], decision = body["decision"];
        SendUnlocked(res, [&](Unlocked& u) -> absl::StatusOr<std::string> {
          TEMOIN_RETURN_IF_ERROR(DecideDuplicates(u, filter, group, decision));
          return nlohmann::json{{"decision", decision}}.dump();
        });
      });
  server_.Post("/api/sync", [this](const httplib::Request&, httplib::Response& res) { Sync(res); });
  server_.Get("/api/sync/progress", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(progress_mu_);
    res.set_content(ProgressJsonHeld().dump(), "application/json");
  });
  server_.Get("/api/sync/events",
              [this](const httplib::Request&, httplib::Response& res) { SyncEvents(res); });
  server_.Get("/api/outbox", [this](const httplib::Request&, httplib::Response& res) {
    SendUnlocked(res, [&](Unlocked& u) { return OutboxJson(u); });
  });
  // The body is the testimony itself (record --from's JSON); ?draft=1 saves a draft.
  server_.Post("/api/testimony/check", [this](const httplib::Request& req, httplib::Response& res) {
    SendUnlocked(res, [&](Unlocked& u) -> absl::StatusOr<std::string> {
      TEMOIN_RETURN_IF_ERROR(CheckTestimony(u, req.body));
      return std::string(R"({"ok":true})");
    });
    crypto::WipeString(const_cast<std::string&>(req.body));
  });
  // The body is the testimony itself (record --from's JSON), or multipart: a part named
  // "testimony" and one part "attachment" per file. ?draft=1 saves a draft; &draft_id=ID
  // edits (or, sealing, consumes) that draft.
  server_.Post("/api/testimony", [this](const httplib::Request& req, httplib::Response& res) {
    TestimonyRequest how;
    how.as_draft = req.get_param_value("draft") == "1";
    how.draft_id = req.get_param_value("draft_id");
    std::vector<InMemoryAttachment> files;
    std::string* testimony = &const_cast<std::string&>(req.body);
    if (req.is_multipart_form_data()) {
      auto& parts = const_cast<httplib::MultipartFormDataMap&>(req.files);
      auto it = parts.find("testimony");
      if (it == parts.end()) {
        SendError(res, 400, "multipart testimony without a part named testimony");
        return;
      }
      testimony = &it->second.content;
      for (auto [file, end] = parts.equal_range("attachment"); file != end; ++file) {
        files.push_back({file->second.filename, std::move(file->second.content)});
      }
      how.attachments = &files;
    }
    SendUnlocked(res, [&](Unlocked& u) { return RecordTestimony(u, *testimony, how); });
    // Every plaintext copy this handler can reach is wiped (cpp-httplib's own buffers
    // are freed, not wiped: README, "not yet built").
    crypto::WipeString(const_cast<std::string&>(req.body));
    for (auto& [name, part] : const_cast<httplib::MultipartFormDataMap&>(req.files)) {
      crypto::WipeString(part.content);
    }
    for (InMemoryAttachment& file : files) crypto::WipeString(file.bytes);
  });
  server_.Get("/api/drafts", [this](const httplib::Request&, httplib::Response& res) {
    SendUnlocked(res, [](Unlocked& u) { return DraftsJson(u); });
  });
  server_.Get(R"(/api/drafts/([0-9a-f]{16}))",
              [this](const httplib::Request& req, httplib::Response& res) {
                std::string id = req.matches[1];
                SendUnlocked(res, [&](Unlocked& u) { return DraftJson(u, id); });
              });
  // The admin's pages: each call is the client/sync function its `temoin` command uses.
  server_.Get("/api/devices", [this](const httplib::Request&, httplib::Response& res) {
    SendUnlocked(res, [](Unlocked& u) { return DevicesJson(u); });
  });
  server_.Post("/api/invites", [this](const httplib::Request& req, httplib::Response& res) {
    SendUnlocked(res, [&](Unlocked& u) { return InviteJson(u, req.body); });
  });
  server_.Post("/api/grants", [this](const httplib::Request& req, httplib::Response& res) {
    SendUnlocked(res, [&](Unlocked& u) { return GrantJson(u, req.body, /*grant=*/true); });
  });
  server_.Post("/api/ungrant", [this](const httplib::Request& req, httplib::Response& res) {
    SendUnlocked(res, [&](Unlocked& u) { return GrantJson(u, req.body, /*grant=*/false); });
  });
  server_.Post("/api/revoke", [this](const httplib::Request& req, httplib::Response& res) {
    SendUnlocked(res, [&](Unlocked& u) { return RevokeJson(u, req.body); });
  });
  server_.Get("/api/audit", [this](const httplib::Request&, httplib::Response& res) {
    SendUnlocked(res, [](Unlocked& u) { return AuditJson(u); });
  });
  server_.Get("/api/stats", [this](const httplib::Request& req, httplib::Response& res) {
    RecordFilter filter = FilterFromParams(req.params);
    const bool raw = req.get_param_value("raw") == "1";
    SendUnlocked(res, [&](Unlocked& u) { return StatsJson(u, filter, raw); });
  });
  server_.Get(
      R"(/api/export\.(csv|json))", [this](const httplib::Request& req, httplib::Response& res) {
        std::string format = req.matches[1];
        RecordFilter filter = FilterFromParams(req.params);
        SendUnlocked(
            res, [&](Unlocked& u) { return ExportFiltered(u, filter, format); },
            format == "csv" ? "text/csv; charset=utf-8" : "application/json");
        if (res.status < 300) {
          res.set_header("Content-Disposition",
                         absl::StrCat("attachment; filename=\"temoin-export.", format, "\""));
        }
      });
}

void Desk::Sync(httplib::Response& res) {
  {
    std::lock_guard<std::mutex> lock(progress_mu_);
    progress_ = SyncProgress{};
    syncing_ = true;
    ++sync_generation_;
    ++progress_version_;
    last_sync_error_.clear();
    sync_started_ = Clock::now();
  }
  progress_changed_.notify_all();
  SyncOptions options;
  options.on_progress = [this](const SyncProgress& p) {
    {
      std::lock_guard<std::mutex> lock(progress_mu_);
      progress_ = p;
      ++progress_version_;
    }
    progress_changed_.notify_all();
  };
  absl::Status s = state_.WithUnlocked(Clock::now(), [&](Unlocked& u) -> absl::Status {
    absl::StatusOr<SyncReport> report = SyncDevice(*u.vault, options);
    // As the CLI's sync: the cover follows the vault whatever the result (issue 12).
    absl::Status cover = RefreshEnrolmentCover(*u.vault);
    if (!report.ok()) return report.status();
    if (!cover.ok()) return cover;
    res.set_content(nlohmann::json{{"receipted", report->receipted},
                                   {"committed", report->committed},
                                   {"attachment_bytes", report->attachment_bytes},
                                   {"refused", report->refused},
                                   {"fetched", report->fetched}}
                        .dump(),
                    "application/json");
    return absl::OkStatus();
  });
  {
    std::lock_guard<std::mutex> lock(progress_mu_);
    syncing_ = false;
    ++progress_version_;
    if (!s.ok()) last_sync_error_ = SyncAdvice(s);
  }
  progress_changed_.notify_all();
  if (s.code() == absl::StatusCode::kFailedPrecondition && s.message() == "locked") {
    SendError(res, 401, "locked");
  } else if (!s.ok()) {
    res.status = 502;
    res.set_content(
        nlohmann::json{{"error", SyncAdvice(s)}, {"details", std::string(s.message())}}.dump(),
        "application/json");
  }
}

nlohmann::json Desk::ProgressJsonHeld() const {
  const double seconds = std::chrono::duration<double>(Clock::now() - sync_started_).count();
  const double rate = syncing_ && seconds > 0 ? progress_.bytes_sent / seconds : 0;
  nlohmann::json out = {{"syncing", syncing_},
                        {"generation", sync_generation_},
                        {"records_done", progress_.records_done},
                        {"records_total", progress_.records_total},
                        {"bytes_done", progress_.bytes_done},
                        {"bytes_total", progress_.bytes_total},
                        {"bytes_per_second", rate}};
  out["seconds_left"] = rate > 0 && progress_.bytes_total > progress_.bytes_done
                            ? nlohmann::json((progress_.bytes_total - progress_.bytes_done) / rate)
                            : nlohmann::json();
  return out;
}

// Server-Sent Events: the state now (the page starts its sync once it has this), then one
// event per change of the running sync (at most one a 200 ms; counts only, no
// plaintext), then an "end" event when the sync it follows (the running one, else the
// next) has finished, with its advice when it failed, and the stream closes. It also
// closes when no sync starts within a minute, or when the desk stops.
void Desk::SyncEvents(httplib::Response& res) {
  struct Stream {
    bool first = true;
    uint64_t seen_version = 0;
    uint64_t follow_generation = 0;  // the sync to follow: the next one, or the running one
    Clock::time_point opened = Clock::now();
  };
  auto stream = std::make_shared<Stream>();
  {
    std::lock_guard<std::mutex> lock(progress_mu_);
    stream->follow_generation = syncing_ ? sync_generation_ : sync_generation_ + 1;
  }
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream", [this, stream](size_t, httplib::DataSink& sink) {
        std::unique_lock<std::mutex> lock(progress_mu_);
        if (!stream->first) {
          progress_changed_.wait_for(lock, std::chrono::seconds(1),
                                     [&] { return progress_version_ != stream->seen_version; });
        }
        {
          std::lock_guard<std::mutex> stop_lock(mu_);
          if (stopping_) return false;
        }
        const bool followed_ended = sync_generation_ >= stream->follow_generation && !syncing_;
        const bool never_started = sync_generation_ < stream->follow_generation;
        const bool changed = stream->first || progress_version_ != stream->seen_version;
        stream->first = false;
        stream->seen_version = progress_version_;
        nlohmann::json event = ProgressJsonHeld();
        if (followed_ended) event["error"] = last_sync_error_;
        lock.unlock();
        std::string text;
        if (followed_ended) {
          text = "event: end\ndata: " + event.dump() + "\n\n";
        } else if (changed) {
          text = "data: " + event.dump() + "\n\n";
        } else {
          text = ": idle\n\n";  // a comment: notices a page that went away
        }
        if (!sink.write(text.data(), text.size())) return false;
        if (followed_ended ||
            (never_started && Clock::now() - stream->opened > std::chrono::minutes(1))) {
          sink.done();
          return true;
        }
        // Coalesces a burst of progress into one event a 200 ms.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return true;
      });
}

void Desk::IdleWatcher() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // Wakes when the idle lock falls due (or at an unlock, which moves it), so that an
    // abandoned desk is wiped even when no request comes in.
    Clock::time_point due = state_.lock_due();
    if (due == Clock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, due);
    }
    state_.LockIfIdle(Clock::now());
  }
}

void Desk::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  server_.stop();
}

absl::Status Desk::Serve() {
  server_.set_payload_max_length(kMaxTestimonyWithFilesBytes);  // see BodyTooLarge
  server_.set_default_headers({
      {"Cache-Control", "no-store"},
      {"Pragma", "no-cache"},
      {"Content-Security-Policy", kContentSecurityPolicy},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
  });
  server_.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return Guard(req, res); });
  Routes();
  // Loopback only: the desk is never reachable from another machine.
  if (options_.port == 0) {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return absl::UnavailableError("cannot bind a port on 127.0.0.1");
  } else {
    if (!server_.bind_to_port("127.0.0.1", options_.port)) {
      return absl::UnavailableError(absl::StrCat("cannot bind 127.0.0.1:", options_.port));
    }
    port_ = options_.port;
  }
  const std::string url =
      absl::StrCat("http://127.0.0.1:", port_, "/?token=", gate_.launch_token());
  if (options_.print_url) {
    options_.print_url(url);
  } else {
    std::cout << url << std::endl;
  }
  std::cerr << "desk: serving on 127.0.0.1:" << port_ << "; locks after " << options_.lock_minutes
            << " idle minutes; Ctrl-C closes it\n";
  if (options_.open_browser) OpenBrowser(url);

  std::thread idle([this] { IdleWatcher(); });
  // SIGINT and SIGTERM close the desk cleanly (wiped) instead of killing it mid-way.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  std::atomic<bool> served{false};
  std::thread waiter([&] {
    timespec tick{0, 200 * 1000 * 1000};
    while (!served.load()) {
      if (sigtimedwait(&signals, nullptr, &tick) > 0) {
        Stop();
        return;
      }
    }
  });
  server_.listen_after_bind();
  served = true;
  Stop();
  waiter.join();
  idle.join();
  state_.Lock();
  std::cerr << "desk: closed\n";
  return absl::OkStatus();
}

}  // namespace

absl::Status RunDesk(const DeskOptions& options) {
  if (options.lock_minutes < 1 || options.lock_minutes > 24 * 60) {
    return absl::InvalidArgumentError("--lock-minutes must be between 1 and 1440");
  }
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError("--port must be between 0 and 65535");
  }
  // Blocked in every thread (the server's pool included) before any starts, so that only
  // the waiter receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  Desk desk(options);
  return desk.Serve();
}

}  // namespace temoin::client::desk

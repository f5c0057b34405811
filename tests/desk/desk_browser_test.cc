// End to end, on loopback: a monitor records testimonies (one with a photo) and syncs, a
// reviewer pulls them, and `temoin desk --no-open` serves the reviewer's desk. Debian's
// chromium, driven by desk_browser.mjs (playwright-core), unlocks it, searches, opens
// the record and its photo, reads the statistics and the CSV export, and locks it. This
// test checks each number against counts it computes itself from its own inputs, the
// CSV against `temoin review export`, and the desk's defences with plain HTTP requests.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/core/qr_png.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

extern char** environ;

namespace temoin::e2e {
namespace {

constexpr char kPassphrase[] = "correct horse battery staple";  // Deployment's
constexpr char kSearchWord[] = "Zérékoumbé";                    // invented, one record
constexpr char kSearchAs[] = "ZEREKOUMBE";                      // no accents, upper case

// `temoin --home HOME desk --no-open`, stdout and stderr to files; killed and reaped on
// destruction if still running.
class DeskProcess {
 public:
  DeskProcess(const std::string& home, const std::string& out, const std::string& err) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> args = {ClientBinary(), "--home", home, "desk", "--no-open"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~DeskProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Waits for the process to exit; its exit code, or -1.
  int Wait() {
    int status = 0;
    if (pid_ <= 0 || waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
};

// The URL line the desk prints; waits until it is there (the desk prints it once bound).
std::string WaitForUrl(const std::string& out_path, pid_t pid) {
  for (int i = 0; i < 3000; ++i) {
    absl::StatusOr<std::string> text = ReadFile(out_path);
    if (text.ok() && text->find('\n') != std::string::npos) return Trim(*text);
    if (waitpid(pid, nullptr, WNOHANG) == pid) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

constexpr char kPhotoSecret[] = "GPSLatitude 16.27 N SERIAL-DESK-7";

std::string Segment(uint8_t marker, const std::string& payload) {
  std::string s = {'\xFF', static_cast<char>(marker)};
  const size_t length = payload.size() + 2;
  s += static_cast<char>(length >> 8);
  s += static_cast<char>(length & 0xFF);
  return s + payload;
}

// A structurally valid JPEG (as client/core/jpeg_metadata_test.cc builds one) whose EXIF
// holds kPhotoSecret.
std::string PhoneJpeg() {
  std::string jpeg = "\xFF\xD8";
  jpeg += Segment(0xE0, std::string("JFIF\0\1\1\0\0\1\0\1\0\0", 14));
  jpeg += Segment(0xE1, std::string("Exif\0\0", 6) + kPhotoSecret);
  jpeg += Segment(0xDB, std::string(65, '\x01'));
  jpeg += Segment(0xC0, std::string("\x08\x00\x10\x00\x10\x01\x01\x11\x00", 9));
  jpeg += Segment(0xDA, std::string("\x01\x01\x00\x00\x3F\x00", 6));
  jpeg += std::string("\x12\x34\xFF\x00\x56\xFF\xD0\x78\x9A", 9);
  jpeg += "\xFF\xD9";
  return jpeg;
}

struct Expected {
  std::map<std::string, uint64_t> acts, regions, perpetrators, quarters;
  uint64_t victims = 0;
};

// Counted here, from the test's own inputs, without the code under test.
Expected Count(const std::vector<v1::Testimony>& testimonies) {
  Expected e;
  for (const v1::Testimony& t : testimonies) {
    for (const v1::Act& a : t.acts()) e.acts[a.type()] += a.count() == 0 ? 1 : a.count();
    ++e.regions[t.incident().region().empty() ? "unknown" : t.incident().region()];
    std::set<std::string> named(t.perpetrators().begin(), t.perpetrators().end());
    for (const std::string& p : named) ++e.perpetrators[p];
    const std::string& d = t.incident().date();
    std::string quarter = "unknown";
    if (d.size() >= 7)
      quarter = d.substr(0, 4) + "-Q" + std::to_string((std::stoi(d.substr(5, 2)) + 2) / 3);
    ++e.quarters[quarter];
    e.victims += t.victim_counts().total() > 0 ? t.victim_counts().total() : t.victims_size();
  }
  return e;
}

std::map<std::string, uint64_t> Shown(const nlohmann::json& stats, const std::string& group) {
  std::map<std::string, uint64_t> out;
  for (const nlohmann::json& row : stats) {
    if (row["group"] == group) out[row["key"].get<std::string>()] = row["count"].get<uint64_t>();
  }
  return out;
}

TEST(DeskBrowserTest, ReviewerUnlocksSearchesCountsExportsAndTheDeskRefusesStrangers) {
  const std::string modules = std::string(TEMOIN_SOURCE_DIR) + "/tests/desk/node_modules";
  ASSERT_TRUE(std::filesystem::exists(modules + "/playwright-core"))
      << "run `npm ci` in tests/desk (deploy/setup.sh does)";
  absl::StatusOr<std::unique_ptr<Deployment>> made = Deployment::Create("temoin-desk", 1);
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  const std::string& monitor = d.monitors()[0];

  TestimonyGenerator generator(1010);
  std::vector<v1::Testimony> batch;
  for (int i = 0; i < 7; ++i) batch.push_back(generator.Next());
  v1::Testimony with_photo = generator.Next();
  with_photo.set_narrative(with_photo.narrative() + " Le marché de " + kSearchWord + " a brûlé.");
  with_photo.mutable_incident()->set_date("2026-02-10");
  // Another witness of the same incident, a day off: a possible duplicate.
  v1::Testimony twin = with_photo;
  twin.set_narrative("Un autre témoin raconte la même scène au marché.");
  twin.mutable_incident()->set_date("2026-02-11");
  batch.push_back(twin);
  auto recorded = d.Record(monitor, batch);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  absl::StatusOr<client::QrPng> png = client::RenderQrPng("temoin desk test photo", 4);
  ASSERT_TRUE(png.ok());
  const std::string photo = d.dir().Sub("photo.png");
  ASSERT_TRUE(WriteFile(photo, png->png).ok());
  auto recorded_photo = d.Record(monitor, {with_photo}, {"--attach", photo});
  ASSERT_TRUE(recorded_photo.ok()) << recorded_photo.status();
  recorded->push_back(recorded_photo->front());
  ASSERT_TRUE(d.Run(monitor, {"sync"}).ok());

  // The monitor types one more testimony into its own desk's form.
  v1::Testimony typed;
  typed.set_narrative("Récit saisi dans le formulaire du bureau, à Tin-Hama.");
  typed.set_language("fr");
  typed.mutable_incident()->set_date("2026-02-20");
  typed.mutable_incident()->set_region("gao");
  typed.mutable_incident()->set_locality("Tin-Hama");
  typed.add_acts()->set_type("killing");
  typed.add_acts()->set_type("looting");
  typed.add_perpetrators("unknown");
  v1::Victim* named = typed.add_victims();
  named->set_name("Aïssata Maïga");
  named->set_sex("female");
  named->set_age_group("child");
  typed.mutable_incident()->set_latitude(15.9);
  typed.mutable_incident()->set_longitude(0.4);
  typed.mutable_incident()->set_precision_m(50);
  typed.mutable_victim_counts()->set_total(3);
  typed.mutable_victim_counts()->set_women(1);
  typed.mutable_victim_counts()->set_girls(2);
  typed.mutable_source()->set_type("eyewitness");
  typed.mutable_consent()->set_informed(true);
  typed.set_sensitivity(v1::SENSITIVITY_NORMAL);
  const char* kBadDate = "2026-13-01";
  const std::string photo_jpeg = d.dir().Sub("phone.jpg");
  v1::Testimony bad = typed;
  bad.mutable_incident()->set_date(kBadDate);
  const std::string bad_path = d.dir().Sub("bad.json");
  ASSERT_TRUE(WriteFile(bad_path, TestimonyToJson(bad)).ok());
  CommandResult refused =
      d.Temoin(monitor, {"record", "--project", kDeploymentProject, "--from", bad_path});
  ASSERT_NE(refused.exit_code, 0);
  {
    const std::string out = d.dir().Sub("monitor-desk.out"), err = d.dir().Sub("monitor-desk.err");
    DeskProcess monitor_desk(monitor, out, err);
    const std::string monitor_url = WaitForUrl(out, monitor_desk.pid());
    ASSERT_TRUE(absl::StartsWith(monitor_url, "http://127.0.0.1:")) << ReadFile(err).value_or("");
    absl::StatusOr<TempDir> monitor_profile = TempDir::Create("temoin-desk-chromium");
    ASSERT_TRUE(monitor_profile.ok());
    nlohmann::json form = {
        {"date", typed.incident().date()},
        {"region", "gao"},
        {"locality", typed.incident().locality()},
        {"acts", {"killing", "looting"}},
        {"perpetrators", {"unknown"}},
        {"women", 1},
        {"girls", 2},
        {"source", "eyewitness"},
        {"narrative", typed.narrative()},
        {"victim", {{"name", named->name()}, {"sex", "female"}, {"age_group", "child"}}},
        {"latitude", 15.9},
        {"longitude", 0.4},
        {"precision_m", 50}};
    // A phone's photo: its EXIF names a place and a camera, which must not leave the device.
    ASSERT_TRUE(WriteFile(photo_jpeg, PhoneJpeg()).ok());
    std::filesystem::create_directories(std::string(TEMOIN_BINARY_DIR) + "/tests/desk/screenshots");
    absl::StatusOr<CommandResult> monitor_run = RunCommand(
        {"/usr/bin/node", std::string(TEMOIN_SOURCE_DIR) + "/tests/desk/desk_monitor.mjs"},
        {{"DESK_URL", monitor_url},
         {"DESK_PASSPHRASE", kPassphrase},
         {"DESK_TESTIMONY", form.dump()},
         {"DESK_BAD_DATE", kBadDate},
         {"DESK_PHOTO", photo_jpeg},
         {"DESK_SHOTS", std::string(TEMOIN_BINARY_DIR) + "/tests/desk/screenshots"},
         {"DESK_PROFILE", monitor_profile->path()},
         {"NODE_PATH", std::string(TEMOIN_SOURCE_DIR) + "/tests/desk/node_modules"}},
        std::chrono::seconds(120));
    ASSERT_TRUE(monitor_run.ok());
    ASSERT_EQ(monitor_run->exit_code, 0) << monitor_run->err;
    nlohmann::json typed_seen = nlohmann::json::parse(monitor_run->out, nullptr, false);
    ASSERT_TRUE(typed_seen.is_object()) << monitor_run->out;
    EXPECT_TRUE(typed_seen["errors"].empty()) << typed_seen["errors"].dump();
    // The form refuses what `record` refuses, in the same words.
    const std::string form_error = typed_seen["bad_date_error"];
    EXPECT_FALSE(form_error.empty());
    EXPECT_TRUE(absl::StrContains(refused.err, form_error)) << refused.err << " vs " << form_error;
    EXPECT_EQ(typed_seen["error_before_seal"], "");
    EXPECT_EQ(typed_seen["error_with_victim"], "");
    EXPECT_EQ(typed_seen["locality_after_blank"], "");
    EXPECT_EQ(typed_seen["reopened"]["locality"], typed.incident().locality());
    EXPECT_EQ(typed_seen["reopened"]["narrative"], typed.narrative());
    EXPECT_EQ(typed_seen["reopened"]["victim"], named->name());
    EXPECT_EQ(typed_seen["reopened"]["victim_sex"], "female");
    EXPECT_EQ(typed_seen["reopened"]["latitude"], 15.9);
    EXPECT_EQ(typed_seen["reopened"]["acts"], nlohmann::json::array({"killing", "looting"}));
    EXPECT_EQ(typed_seen["reopened"]["girls"], 2);
    EXPECT_TRUE(absl::StrContains(typed_seen["seal_text"].get<std::string>(), "1 "))
        << typed_seen["seal_text"];
    EXPECT_EQ(typed_seen["reviewer_tabs_visible"], 0);
    EXPECT_EQ(typed_seen["outbox_sealed"], 1);
    EXPECT_EQ(typed_seen["sync_result"], "ok") << typed_seen["sync_text"];
    EXPECT_GE(typed_seen["sync_events"], 1);  // pushed, not polled
    EXPECT_EQ(typed_seen["polled"], 0);
    EXPECT_EQ(typed_seen["closed"], 200);
    EXPECT_EQ(monitor_desk.Wait(), 0);
    for (const nlohmann::json& u : typed_seen["urls"]) {
      EXPECT_FALSE(absl::StrContains(u.get<std::string>(), "horse")) << u;
    }
    EXPECT_TRUE(
        FindInTree(monitor, {typed.narrative(), kPassphrase, named->name(), kPhotoSecret}).empty());
  }
  // The monitor's "Sync now" sent it: the reviewer pulls it.
  ASSERT_TRUE(d.Run(d.reviewer(), {"sync"}).ok());
  const std::string cli_csv_path = d.dir().Sub("cli.csv");
  ASSERT_TRUE(d.Run(d.reviewer(),
                    {"review", "--offline", "export", "--format", "csv", "--out", cli_csv_path})
                  .ok());
  absl::StatusOr<std::string> cli_csv = ReadFile(cli_csv_path);
  ASSERT_TRUE(cli_csv.ok());
  std::vector<v1::Testimony> all = batch;
  all.push_back(with_photo);
  all.push_back(typed);
  const Expected expected = Count(all);
  const std::string region = with_photo.incident().region();
  uint64_t in_region = 0;
  for (const v1::Testimony& t : all) in_region += t.incident().region() == region;

  const std::string desk_out = d.dir().Sub("desk.out"), desk_err = d.dir().Sub("desk.err");
  DeskProcess desk(d.reviewer(), desk_out, desk_err);
  ASSERT_GT(desk.pid(), 0);
  const std::string url = WaitForUrl(desk_out, desk.pid());
  ASSERT_TRUE(absl::StartsWith(url, "http://127.0.0.1:")) << url << ReadFile(desk_err).value_or("");
  const int port = std::stoi(url.substr(17, url.find('/', 17) - 17));
  const std::string token = url.substr(url.find("token=") + 6);

  const std::string shots = std::string(TEMOIN_BINARY_DIR) + "/tests/desk/screenshots";
  std::filesystem::create_directories(shots);
  absl::StatusOr<TempDir> profile = TempDir::Create("temoin-desk-chromium");
  ASSERT_TRUE(profile.ok());
  absl::StatusOr<CommandResult> browser =
      RunCommand({"/usr/bin/node", std::string(TEMOIN_SOURCE_DIR) + "/tests/desk/desk_browser.mjs"},
                 {{"DESK_URL", url},
                  {"DESK_PASSPHRASE", kPassphrase},
                  {"DESK_SEARCH", kSearchAs},
                  {"DESK_TOTAL", std::to_string(all.size())},
                  {"DESK_REGION", region},
                  {"DESK_REGION_COUNT", std::to_string(in_region)},
                  {"DESK_SHOTS", shots},
                  {"DESK_PROFILE", profile->path()},
                  {"DESK_DUPLICATE_ID", recorded->back().first},
                  {"NODE_PATH", modules}},
                 std::chrono::seconds(120));
  ASSERT_TRUE(browser.ok());
  ASSERT_EQ(browser->exit_code, 0) << browser->err;
  nlohmann::json seen = nlohmann::json::parse(browser->out, nullptr, false);
  ASSERT_TRUE(seen.is_object()) << browser->out;
  EXPECT_TRUE(seen["errors"].empty()) << seen["errors"].dump();

  // The token left the address bar at once; the passphrase was never in a URL.
  EXPECT_EQ(seen["url_after_token"], absl::StrCat("http://127.0.0.1:", port, "/"));
  for (const nlohmann::json& u : seen["urls"]) {
    EXPECT_FALSE(absl::StrContains(u.get<std::string>(), "horse")) << u;
  }
  EXPECT_FALSE(seen["wrong_passphrase_message"].get<std::string>().empty());
  // The list, an accent-insensitive search, the record and its photo.
  // The list comes in pages; every record is reached through the "more" button.
  ASSERT_LT(seen["page_size"].get<size_t>(), all.size());
  EXPECT_EQ(seen["rows_first_page"], seen["page_size"]);
  EXPECT_EQ(seen["rows_all"], all.size());
  EXPECT_EQ(seen["more_visible_at_end"], false);
  EXPECT_EQ(seen["rows_search"], 1);
  EXPECT_TRUE(absl::StrContains(seen["narrative"].get<std::string>(), kSearchWord));
  EXPECT_EQ(seen["images"], 1);
  EXPECT_EQ(seen["image_width"], (png->modules + 2 * client::kQrPngQuietModules) * 4);
  // Statistics against the test's own counts.
  EXPECT_EQ(Shown(seen["stats"], "act"), expected.acts);
  EXPECT_EQ(Shown(seen["stats"], "region"), expected.regions);
  EXPECT_EQ(Shown(seen["stats"], "perpetrator"), expected.perpetrators);
  EXPECT_EQ(Shown(seen["stats"], "quarter"), expected.quarters);
  uint64_t victims = 0;
  for (const auto& [group, n] : Shown(seen["stats"], "victim_group")) victims += n;
  EXPECT_EQ(victims, expected.victims);
  EXPECT_GE(seen["charts"].get<int>(), 4);
  // The print view: no navigation or buttons, a heading, every row, and a PDF.
  EXPECT_EQ(seen["print"]["nav_visible"], false);
  EXPECT_EQ(seen["print"]["button_visible"], false);
  EXPECT_TRUE(absl::StrContains(seen["print"]["heading"].get<std::string>(), "Temoin"))
      << seen["print"];
  size_t stat_rows = 0;
  for (const nlohmann::json& row : seen["stats"]) stat_rows += row.is_object();
  EXPECT_EQ(seen["print"]["table_rows"], stat_rows);
  EXPECT_EQ(seen["print"]["pdf_magic"], "%PDF-");
  EXPECT_GE(seen["print"]["pdf_pages"].get<int>(), 1);
  // The PDF's text holds the quarter's table: each quarter with its count. pdftotext
  // comes with poppler-utils (deploy/setup.sh installs it).
  if (std::filesystem::exists("/usr/bin/pdftotext")) {
    absl::StatusOr<CommandResult> pdf_text =
        RunCommand({"/usr/bin/pdftotext", "-layout", shots + "/5-stats.pdf", "-"}, {},
                   std::chrono::seconds(30));
    ASSERT_TRUE(pdf_text.ok());
    ASSERT_EQ(pdf_text->exit_code, 0) << pdf_text->err;
    for (const auto& [quarter, n] : expected.quarters) {
      bool found = false;
      for (absl::string_view line : absl::StrSplit(pdf_text->out, '\n')) {
        found |= absl::StrContains(line, quarter) && absl::StrContains(line, absl::StrCat(" ", n));
      }
      EXPECT_TRUE(found) << quarter << " " << n << " not in the PDF:\n" << pdf_text->out;
    }
  } else {
    std::fprintf(stderr, "desk_browser_test: no pdftotext; the PDF's text is not checked\n");
  }
  EXPECT_TRUE(absl::StrContains(seen["counting_rule"].get<std::string>(), "per victim"));
  // The CSV export is the CLI's, byte for byte; filtered, it keeps the header and the
  // region's rows.
  EXPECT_EQ(seen["export_csv"].get<std::string>(), *cli_csv);
  const std::string region_csv = seen["export_csv_region"];
  for (const auto& [id, t] : *recorded) {
    EXPECT_EQ(absl::StrContains(region_csv, id), t.incident().region() == region) << id;
  }
  EXPECT_EQ(seen["after_lock_status"], 401);
  // The gaps page shows what `review gaps` says, device by device.
  absl::StatusOr<std::string> cli_gaps =
      d.Run(d.reviewer(), {"review", "--offline", "gaps", "--json"});
  ASSERT_TRUE(cli_gaps.ok()) << cli_gaps.status();
  nlohmann::json gap_devices = nlohmann::json::parse(*cli_gaps, nullptr, false);
  ASSERT_TRUE(gap_devices.is_array()) << *cli_gaps;
  ASSERT_EQ(seen["gaps"].size(), gap_devices.size()) << seen["gaps"].dump();
  // Its headers are capitalised like every other table's (the outbox's lower-case
  // "received" once shadowed the header's label).
  EXPECT_EQ(seen["gaps_headers"], nlohmann::json::array({"Device", "Project", "Received",
                                                         "Highest number", "Missing numbers"}));
  for (size_t i = 0; i < gap_devices.size(); ++i) {
    const nlohmann::json& row = seen["gaps"][i];
    EXPECT_EQ(row["device"], gap_devices[i]["device_id"]);
    EXPECT_EQ(row["cells"][2], std::to_string(gap_devices[i]["received"].get<uint64_t>()));
    EXPECT_EQ(row["cells"][3], std::to_string(gap_devices[i]["highest"].get<uint64_t>()));
  }
  // The twin and the record with the photo are grouped as possible duplicates.
  const std::string twin_id = (*recorded)[batch.size() - 1].first;
  const std::string photo_id = recorded->back().first;
  bool grouped = false;
  for (const nlohmann::json& ids : seen["duplicate_groups"]) {
    const std::string group = ids;
    grouped |= absl::StrContains(group, twin_id) && absl::StrContains(group, photo_id);
  }
  EXPECT_TRUE(grouped) << seen["duplicate_groups"].dump();
  // Confirmed, the pair counts once (in its region, its quarter and its acts); raw
  // counts count it twice again.
  std::vector<v1::Testimony> counted_once = batch;  // the twin stands for the pair
  counted_once.push_back(typed);
  Expected once = Count(counted_once);
  EXPECT_EQ(Shown(seen["stats_confirmed"], "region"), once.regions);
  EXPECT_EQ(Shown(seen["stats_confirmed"], "quarter"), once.quarters);
  EXPECT_EQ(Shown(seen["stats_confirmed"], "act"), once.acts);
  EXPECT_EQ(Shown(seen["stats_raw"], "region"), expected.regions);
  EXPECT_EQ(Shown(seen["stats_raw"], "act"), expected.acts);
  ASSERT_TRUE(seen["session_cookie"].is_object());
  EXPECT_EQ(seen["session_cookie"]["httpOnly"], true);
  EXPECT_EQ(seen["session_cookie"]["sameSite"], "Strict");
  const std::string cookie =
      absl::StrCat("temoin_desk=", seen["session_cookie"]["value"].get<std::string>());
  const std::string origin = absl::StrCat("http://127.0.0.1:", port);

  // Strangers, with plain HTTP.
  httplib::Client http("127.0.0.1", port);
  auto get = [&](const std::string& path, httplib::Headers headers) {
    auto res = http.Get(path.c_str(), headers);
    return res ? res->status : -1;
  };
  EXPECT_EQ(get("/", {}), 403);  // no token, no session
  EXPECT_EQ(get("/api/records", {}), 403);
  EXPECT_EQ(get("/?token=" + token, {}), 403);  // the token works once
  EXPECT_EQ(get("/api/records", {{"Cookie", "temoin_desk=" + token}}), 403);
  EXPECT_EQ(
      get("/api/state", {{"Cookie", cookie}, {"Host", "evil.example:" + std::to_string(port)}}),
      403);
  EXPECT_EQ(get("/api/records", {{"Cookie", cookie}}), 401);  // locked
  auto unlock = [&](const std::string& from) {
    auto res = http.Post("/api/unlock", {{"Cookie", cookie}, {"Origin", from}},
                         nlohmann::json{{"passphrase", kPassphrase}}.dump(), "application/json");
    return res ? res->status : -1;
  };
  EXPECT_EQ(unlock("http://evil.example"), 403);              // cross-origin
  EXPECT_EQ(get("/api/records", {{"Cookie", cookie}}), 401);  // still locked
  // Over 64 KiB is refused on the headers, before the body is read; only a testimony
  // with files may be larger.
  auto big = http.Post("/api/lock", {{"Cookie", cookie}, {"Origin", origin}},
                       std::string(70 << 10, 'x'), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(unlock(origin), 200);
  auto listed = http.Get("/api/records", {{"Cookie", cookie}});
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200);
  EXPECT_EQ(listed->get_header_value("Cache-Control"), "no-store");
  EXPECT_TRUE(
      absl::StrContains(listed->get_header_value("Content-Security-Policy"), "default-src 'none'"));
  // The photo the monitor picked in the form reached the reviewer without its EXIF.
  auto found = http.Get("/api/records?q=formulaire", {{"Cookie", cookie}});
  ASSERT_TRUE(found);
  nlohmann::json typed_rows = nlohmann::json::parse(found->body, nullptr, false);
  ASSERT_EQ(typed_rows["count"], 1) << found->body;
  EXPECT_EQ(typed_rows["records"][0]["attachments"], 1) << found->body;
  auto photo_back =
      http.Get(absl::StrCat("/api/records/", typed_rows["records"][0]["id"].get<std::string>(),
                            "/attachments/0"),
               {{"Cookie", cookie}});
  ASSERT_TRUE(photo_back);
  EXPECT_EQ(photo_back->status, 200);
  EXPECT_EQ(photo_back->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_TRUE(absl::StartsWith(photo_back->body, "\xFF\xD8"));
  EXPECT_FALSE(absl::StrContains(photo_back->body, "SERIAL-DESK-7"));
  EXPECT_FALSE(absl::StrContains(photo_back->body, "Exif"));
  EXPECT_TRUE(absl::StrContains(photo_back->body, std::string("\x12\x34\xFF\x00\x56", 5)));
  auto page = http.Get("/", {{"Cookie", cookie}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-store");
  auto closed = http.Post("/api/close", {{"Cookie", cookie}, {"Origin", origin}}, "", "text/plain");
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->status, 200);
  EXPECT_EQ(desk.Wait(), 0);

  // Nothing secret on disk or in the desk's output.
  std::vector<std::string> secrets = {kPassphrase, kSearchWord};
  for (const std::string& s : generator.SecretStrings()) secrets.push_back(s);
  EXPECT_TRUE(FindInTree(d.reviewer(), secrets).empty());
  EXPECT_TRUE(FindInTree(desk_err, secrets).empty());
  EXPECT_TRUE(FindInTree(desk_out, secrets).empty());

  // The admin's desk: what it shows is what `temoin devices` and `temoin audit` say, and
  // what it does (ungrant, grant, revoke, invite) is done.
  absl::StatusOr<std::string> cli_devices = d.Run(d.admin(), {"devices"});
  ASSERT_TRUE(cli_devices.ok()) << cli_devices.status();
  std::set<std::string> listed_ids;
  std::string reviewer_id;
  for (absl::string_view line : absl::StrSplit(*cli_devices, '\n', absl::SkipEmpty())) {
    std::vector<std::string> cols = absl::StrSplit(line, '\t');
    listed_ids.insert(cols[0]);
    if (cols[1] == "reviewer") reviewer_id = cols[0];
  }
  const std::string revoked_id = d.monitor_ids()[0];
  const std::string admin_out = d.dir().Sub("admin-desk.out"),
                    admin_err = d.dir().Sub("admin-desk.err");
  DeskProcess admin_desk(d.admin(), admin_out, admin_err);
  const std::string admin_url = WaitForUrl(admin_out, admin_desk.pid());
  ASSERT_TRUE(absl::StartsWith(admin_url, "http://127.0.0.1:")) << ReadFile(admin_err).value_or("");
  absl::StatusOr<TempDir> admin_profile = TempDir::Create("temoin-desk-chromium");
  ASSERT_TRUE(admin_profile.ok());
  absl::StatusOr<CommandResult> admin_run =
      RunCommand({"/usr/bin/node", std::string(TEMOIN_SOURCE_DIR) + "/tests/desk/desk_admin.mjs"},
                 {{"DESK_URL", admin_url},
                  {"DESK_PASSPHRASE", kPassphrase},
                  {"DESK_SHOTS", shots},
                  {"DESK_PROFILE", admin_profile->path()},
                  {"DESK_PROJECT", kDeploymentProject},
                  {"DESK_REVIEWER", reviewer_id},
                  {"DESK_REVOKE", revoked_id},
                  {"NODE_PATH", modules}},
                 std::chrono::seconds(120));
  ASSERT_TRUE(admin_run.ok());
  ASSERT_EQ(admin_run->exit_code, 0) << admin_run->err;
  nlohmann::json admin = nlohmann::json::parse(admin_run->out, nullptr, false);
  ASSERT_TRUE(admin.is_object()) << admin_run->out;
  EXPECT_TRUE(admin["errors"].empty()) << admin["errors"].dump();
  EXPECT_EQ(admin["visible_nav"],
            nlohmann::json::array({"#/devices", "#/invite", "#/audit"}));  // no reviewer page
  std::set<std::string> shown_ids;
  for (const nlohmann::json& device : admin["devices"]) {
    shown_ids.insert(device["id"].get<std::string>());
    EXPECT_EQ(device["state"], "active");
  }
  EXPECT_EQ(shown_ids, listed_ids);
  EXPECT_EQ(admin["ungrant"]["done"], "ok") << admin["ungrant"]["text"];
  EXPECT_EQ(admin["grant"]["done"], "ok") << admin["grant"]["text"];
  EXPECT_TRUE(absl::StrContains(admin["confirm_text"].get<std::string>(), revoked_id));
  EXPECT_EQ(admin["confirm_focused"], "revoke-no");  // the safe answer has the focus
  EXPECT_EQ(admin["state_after_cancel"], "active");
  EXPECT_EQ(admin["revoke"]["done"], "ok") << admin["revoke"]["text"];
  EXPECT_EQ(admin["state_after_revoke"], "revoked");
  EXPECT_EQ(admin["invite_error"], "");
  EXPECT_EQ(admin["qr"]["src"], "blob:");
  EXPECT_GT(admin["qr"]["natural"].get<int>(), 0);
  EXPECT_EQ(admin["qr"]["natural"], admin["qr"]["width"]);
  EXPECT_TRUE(absl::StrContains(admin["bad_ttl_error"].get<std::string>(), "720"))
      << admin["bad_ttl_error"];
  EXPECT_EQ(admin["invite_hidden_after_error"], true);
  EXPECT_EQ(admin["audit_verified"], "true");
  EXPECT_EQ(admin["closed"], 200);
  EXPECT_EQ(admin_desk.Wait(), 0);
  for (const nlohmann::json& u : admin["urls"]) {
    EXPECT_FALSE(absl::StrContains(u.get<std::string>(), "horse")) << u;
  }
  // The audit log the page showed is the CLI's, line for line (the CLI's may have more:
  // its own read comes after).
  absl::StatusOr<std::string> cli_audit = d.Run(d.admin(), {"audit", "--verify"});
  ASSERT_TRUE(cli_audit.ok()) << cli_audit.status();
  std::vector<std::string> audit_lines = absl::StrSplit(*cli_audit, '\n', absl::SkipEmpty());
  ASSERT_LE(admin["audit"].size(), audit_lines.size());
  std::set<std::string> actions;
  for (size_t i = 0; i < admin["audit"].size(); ++i) {
    std::vector<std::string> cols = absl::StrSplit(audit_lines[i], '\t');
    const nlohmann::json& row = admin["audit"][i];
    EXPECT_EQ(row[0], cols[0]);
    EXPECT_EQ(row[3], cols[3]);
    actions.insert(cols[3]);
  }
  for (const char* expected : {"grant.remove", "grant.put", "device.revoke", "invite.create"}) {
    EXPECT_TRUE(actions.count(expected)) << expected;
  }
  // The CLI agrees the monitor is revoked, and the code on screen enrols a new device.
  cli_devices = d.Run(d.admin(), {"devices"});
  ASSERT_TRUE(cli_devices.ok());
  EXPECT_TRUE(absl::StrContains(*cli_devices,
                                revoked_id + "\tmonitor\t" + kDeploymentProject + "\trevoked"))
      << *cli_devices;
  absl::StatusOr<std::string> enrolled =
      d.Run(d.dir().Sub("invited"), {"enroll", admin["invite_code"].get<std::string>()});
  EXPECT_TRUE(enrolled.ok()) << enrolled.status();
  EXPECT_TRUE(
      FindInTree(d.admin(), {kPassphrase, admin["invite_code"].get<std::string>()}).empty());
}

}  // namespace
}  // namespace temoin::e2e
